package serve

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// startServe runs s.RunListener in the background and returns the base URL,
// the signal channel and a func that waits for Run to return.
func startServe(t *testing.T, s *Server, env func(string) string) (string, chan os.Signal, func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sigs := make(chan os.Signal, 1)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.RunListener(ctx, ln, sigs, env) }()
	var once bool
	var runErr error
	wait := func() error {
		if !once {
			once = true
			select {
			case runErr = <-errc:
			case <-time.After(10 * time.Second):
				runErr = errors.New("Run did not return")
			}
		}
		return runErr
	}
	t.Cleanup(func() { cancel(); _ = wait() })
	return "http://" + ln.Addr().String(), sigs, wait
}

func TestSIGHUPReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "serve.yaml")
	env := testEnv(map[string]string{"EW_TOKEN": testToken})
	writeFile(t, path, "webhook: {token_env: EW_TOKEN}\ndetections: [{name: alpha, manual: true}]\n")
	cfg, err := LoadConfig(path, env)
	if err != nil {
		t.Fatal(err)
	}
	fr := &fakeRunner{}
	s, _ := New(cfg, Options{Runner: fr})
	base, sigs, _ := startServe(t, s, env)
	waitFor(t, "server up", func() bool {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	reloadErrors := func() float64 { return counterValue(s.metrics.errors.WithLabelValues(ErrKindConfigReload)) }

	tests := []struct {
		name      string
		content   string
		wantDets  []string
		wantError float64
	}{
		{"bad YAML keeps the old", "detections: [{name: alpha\n", []string{"alpha"}, 1},
		{"invalid config keeps the old", "detections: [{name: Alpha Beta}]\n", []string{"alpha"}, 2},
		{"missing secret keeps the old", "webhook: {token_env: GONE}\ndetections: [{name: beta}]\n", []string{"alpha"}, 3},
		{"good config applies", "webhook: {token_env: EW_TOKEN}\ndetections: [{name: beta, manual: true}, {name: gamma, manual: true}]\n", []string{"beta", "gamma"}, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			writeFile(t, path, tc.content)
			before := reloadErrors()
			sigs <- syscall.SIGHUP
			waitFor(t, "reload handled", func() bool {
				if tc.wantError > before {
					return reloadErrors() == tc.wantError
				}
				_, ok := s.Config().Detection(tc.wantDets[0])
				return ok
			})
			var got []string
			for _, d := range s.Config().Detections {
				got = append(got, d.Name)
			}
			if strings.Join(got, ",") != strings.Join(tc.wantDets, ",") {
				t.Fatalf("detections %v, want %v", got, tc.wantDets)
			}
			for _, name := range tc.wantDets {
				if _, _, err := s.Trigger(name, nil, "test"); err != nil {
					t.Fatalf("trigger %s after reload: %v", name, err)
				}
			}
		})
	}
	if _, _, err := s.Trigger("alpha", nil, "test"); !errors.Is(err, ErrUnknownDetection) {
		t.Fatalf("alpha after it was removed: %v", err)
	}
}

func TestSIGTERMCancelsTheRunInProgress(t *testing.T) {
	fr := &fakeRunner{block: make(chan struct{}), started: make(chan RunRequest, 1)}
	cfg, err := ParseConfig([]byte("detections: [{name: alpha, interval: 1h}]"), testEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := New(cfg, Options{Runner: fr})
	base, sigs, wait := startServe(t, s, testEnv(nil))
	req := <-fr.started // the start-up run
	if req.Trigger != "startup" {
		t.Fatalf("first run trigger %q", req.Trigger)
	}
	sigs <- syscall.SIGTERM
	if err := wait(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	s.mu.Lock()
	last := s.dets["alpha"].last
	s.mu.Unlock()
	if last == nil || !strings.Contains(last.Error, "context canceled") {
		t.Fatalf("the run in progress was not cancelled: %+v", last)
	}
	if _, _, err := s.Trigger("alpha", nil, "test"); !errors.Is(err, ErrStopping) {
		t.Fatalf("trigger after shutdown: %v", err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("still listening after shutdown")
	}
}

func TestScheduleRunsOnInterval(t *testing.T) {
	fr := &fakeRunner{}
	cfg, err := ParseConfig([]byte("detections: [{name: alpha, interval: 1s}, {name: manual, manual: true}]"), testEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := New(cfg, Options{Runner: fr})
	s.Start()
	defer func() { _ = s.Shutdown(context.Background()) }()
	waitFor(t, "start-up run and one tick", func() bool { return fr.count() >= 2 })
	fr.mu.Lock()
	defer fr.mu.Unlock()
	for _, c := range fr.calls {
		if c.Detection.Name != "alpha" {
			t.Fatalf("manual detection was scheduled: %+v", c)
		}
	}
	if fr.calls[0].Trigger != "startup" || fr.calls[1].Trigger != "schedule" {
		t.Fatalf("triggers %q %q", fr.calls[0].Trigger, fr.calls[1].Trigger)
	}
}

// selfSigned writes a certificate and key for 127.0.0.1 and returns their
// paths and a pool trusting it.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "edgewatch test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeFile(t, certFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	kb, _ := x509.MarshalECPrivateKey(key)
	writeFile(t, keyFile, string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})))
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	env := testEnv(map[string]string{"EW_TOKEN": testToken})
	cfg, err := ParseConfig([]byte("tls: {cert_file: "+certFile+", key_file: "+keyFile+"}\nwebhook: {token_env: EW_TOKEN}\ndetections: [{name: alpha, manual: true}]"), env)
	if err != nil {
		t.Fatal(err)
	}
	fr := &fakeRunner{}
	s, _ := New(cfg, Options{Runner: fr})
	base, _, _ := startServe(t, s, env)
	base = strings.Replace(base, "http://", "https://", 1)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 5 * time.Second}
	var resp *http.Response
	waitFor(t, "TLS server up", func() bool {
		req, _ := http.NewRequest(http.MethodPost, base+"/v1/detections/alpha/run", nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err = client.Do(req)
		return err == nil
	})
	defer resp.Body.Close()
	var tr TriggerResponse
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || resp.StatusCode != 202 {
		t.Fatalf("https trigger: %d %v", resp.StatusCode, err)
	}
	if resp.TLS == nil {
		t.Fatal("not TLS")
	}
	// Plain HTTP on the TLS port is refused.
	if r, err := http.Get(strings.Replace(base, "https://", "http://", 1) + "/healthz"); err == nil {
		if r.StatusCode == 200 {
			t.Fatal("plain HTTP answered 200 on the TLS port")
		}
		r.Body.Close()
	}
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

func TestReloadRejectedByPluginValidation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "serve.yaml")
	writeFile(t, path, "detections: [{name: alpha, manual: true}]\n")
	cfg, err := LoadConfig(path, testEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := New(cfg, Options{Runner: &fakeRunner{}, Validate: func(_ context.Context, c *Config) error {
		for _, d := range c.Detections {
			if strings.Contains(string(d.SettingsJSON()), "bogus") {
				return errors.New("plugin says: unknown source bogus")
			}
		}
		return nil
	}})
	s.Start()
	defer func() { _ = s.Shutdown(context.Background()) }()
	writeFile(t, path, "detections: [{name: beta, manual: true, settings: {source: bogus}}]\n")
	if s.ReloadFile(testEnv(nil)) {
		t.Fatal("a configuration the plugin rejects was applied")
	}
	if _, ok := s.Config().Detection("alpha"); !ok {
		t.Fatal("old configuration lost")
	}
	writeFile(t, path, "detections: [{name: beta, manual: true, settings: {source: opensearch}}]\n")
	if !s.ReloadFile(testEnv(nil)) {
		t.Fatal("a good configuration was refused")
	}
}
