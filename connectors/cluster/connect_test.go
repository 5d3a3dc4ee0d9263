package cluster_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/connectors/cluster/clustertest"
	"github.com/edgewatch/edgewatch/connectors/elasticsearch"
	"github.com/edgewatch/edgewatch/connectors/opensearch"
)

// What a failed connection says, through both connectors, against local
// stand-ins that fail the way a secured server does (a certificate from
// another CA, 401, a TLS port closing on plain HTTP). The real secured
// servers are in cmd/edgewatch-defender-ti's TestSecureConnectErrors.

func connectFn(f cluster.Flavor) func(context.Context, cluster.Config, ...cluster.Option) (*cluster.Client, error) {
	if f == cluster.Elasticsearch {
		return elasticsearch.Connect
	}
	return opensearch.Connect
}

// TestConnectRealServers: each connector connects to its real server, and
// the other connector refuses it with ErrWrongFlavor naming the right
// connector, never showing the password.
func TestConnectRealServers(t *testing.T) {
	minMajor := map[cluster.Flavor]int{cluster.OpenSearch: 2, cluster.Elasticsearch: 8}
	clustertest.Run(t, func(t *testing.T, tg clustertest.Target) {
		info := tg.Client.Info()
		if info.Flavor != tg.Flavor || info.Major < minMajor[tg.Flavor] {
			t.Fatalf("info %+v", info)
		}
		t.Logf("connected to %s", info)
		other := cluster.OpenSearch
		if tg.Flavor == cluster.OpenSearch {
			other = cluster.Elasticsearch
		}
		_, err := connectFn(other)(context.Background(), tg.Config)
		if !errors.Is(err, cluster.ErrWrongFlavor) || !strings.Contains(err.Error(), string(tg.Flavor)+" connector") {
			t.Fatalf("err = %v, want ErrWrongFlavor naming the %s connector", err, tg.Flavor)
		}
		if tg.Config.Password != "" && strings.Contains(err.Error(), tg.Config.Password) {
			t.Fatal("error leaks the password")
		}
		t.Logf("the %s connector refused: %v", other, err)
	})
}

// rootHandler answers GET / as flavor would, or 401 when refuse is set.
func rootHandler(f cluster.Flavor, refuse bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if f == cluster.Elasticsearch {
			w.Header().Set("X-Elastic-Product", "Elasticsearch")
		}
		if refuse {
			w.WriteHeader(401)
			w.Write([]byte(`{"error":{"type":"security_exception","reason":"unable to authenticate"},"status":401}`))
			return
		}
		if f == cluster.Elasticsearch {
			w.Write([]byte(`{"version":{"number":"8.19.21"},"tagline":"You Know, for Search"}`))
			return
		}
		w.Write([]byte(`{"version":{"number":"2.19.4","distribution":"opensearch"},"tagline":"The OpenSearch Project: https://opensearch.org/"}`))
	})
}

func pemFile(t *testing.T, der []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func otherCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "other CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pemFile(t, der)
}

// closingListener accepts connections and closes them without a word, as
// the secured servers' TLS ports do with a plain-HTTP request.
func closingListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 512)
			_, _ = c.Read(buf)
			c.Close()
		}
	}()
	return "http://" + ln.Addr().String()
}

func TestConnectErrorsSayWhatIsWrong(t *testing.T) {
	key := base64.StdEncoding.EncodeToString([]byte("kid-42:secret-value"))
	for _, f := range []cluster.Flavor{cluster.OpenSearch, cluster.Elasticsearch} {
		t.Run(string(f), func(t *testing.T) {
			tlsSrv := httptest.NewTLSServer(rootHandler(f, false))
			defer tlsSrv.Close()
			refusing := httptest.NewTLSServer(rootHandler(f, true))
			defer refusing.Close()
			plain := httptest.NewServer(rootHandler(f, false))
			defer plain.Close()
			goodCA := pemFile(t, tlsSrv.Certificate().Raw)
			refusingCA := pemFile(t, refusing.Certificate().Raw)
			wrongCA := otherCA(t)
			tests := []struct {
				name string
				cfg  cluster.Config
				want []string // substrings of the error; nil: connects
			}{
				{"the cluster's CA", cluster.Config{URLs: []string{tlsSrv.URL}, CAFile: goodCA}, nil},
				{"no CA", cluster.Config{URLs: []string{tlsSrv.URL}},
					[]string{"TLS: the server's certificate is not signed by a trusted authority", "--ca-file"}},
				{"another CA", cluster.Config{URLs: []string{tlsSrv.URL}, CAFile: wrongCA},
					[]string{"TLS: the server's certificate is not signed by the CA in " + wrongCA}},
				{"https to a plain-HTTP server", cluster.Config{URLs: []string{strings.Replace(plain.URL, "http://", "https://", 1)}},
					[]string{"answers plain HTTP, not HTTPS: use an http:// URL"}},
				{"plain HTTP to a TLS-only port", cluster.Config{URLs: []string{closingListener(t)}, MaxRetries: -1},
					[]string{"closed the connection without answering a plain-HTTP request", "use an https:// URL"}},
				{"wrong password", cluster.Config{URLs: []string{refusing.URL}, CAFile: refusingCA, Username: "det", Password: "wrong-pw"},
					[]string{"authentication failed for user det: check the user name and the password", "401"}},
				{"refused API key", cluster.Config{URLs: []string{refusing.URL}, CAFile: refusingCA, APIKey: key},
					[]string{"authentication failed for the API key id kid-42", "expired or invalidated"}},
			}
			for _, tt := range tests {
				if tt.cfg.APIKey != "" && f == cluster.OpenSearch {
					continue // OpenSearch has no API keys (a config error)
				}
				t.Run(tt.name, func(t *testing.T) {
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					defer cancel()
					c, err := connectFn(f)(ctx, tt.cfg)
					if tt.want == nil {
						if err != nil {
							t.Fatalf("connect: %v", err)
						}
						if c.Info().Flavor != f {
							t.Errorf("flavor %s", c.Info().Flavor)
						}
						return
					}
					if err == nil {
						t.Fatal("connected")
					}
					msg := err.Error()
					if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "connect to "+string(f)+" [") {
						t.Errorf("not one line starting with the cluster: %q", msg)
					}
					for _, w := range tt.want {
						if !strings.Contains(msg, w) {
							t.Errorf("error %q lacks %q", msg, w)
						}
					}
					if strings.Contains(msg, "wrong-pw") || strings.Contains(msg, "secret-value") || strings.Contains(msg, key) {
						t.Errorf("the error shows a secret: %q", msg)
					}
				})
			}
		})
	}
}
