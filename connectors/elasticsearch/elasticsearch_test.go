package elasticsearch_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/connectors/cluster/clustertest"
	"github.com/edgewatch/edgewatch/connectors/elasticsearch"
	"github.com/edgewatch/edgewatch/internal/testenv"
)

// Mock server tests: what the adapter puts on the wire. API-key auth is
// proven here only: the integration-test distribution cannot create API keys
// (its .security index mapping needs the analysis-common module, which the
// zip lacks: "Unknown filter type [pattern_capture]").

func TestDoerSendsAPIKeyAndRetries(t *testing.T) {
	var n atomic.Int32
	var auth atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth.Store(r.Header.Get("Authorization"))
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		if n.Add(1) == 1 {
			w.WriteHeader(503)
			return
		}
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	d, err := elasticsearch.NewDoer(cluster.Config{URLs: []string{srv.URL}, Username: "ignored", Password: "ignored", APIKey: "a2V5"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := d.Do(context.Background(), cluster.Request{Method: "GET", Path: "/_cluster/health"})
	if err != nil || resp.Status != 200 || n.Load() != 2 {
		t.Fatalf("resp %v err %v attempts %d", resp, err, n.Load())
	}
	if got := auth.Load().(string); !strings.EqualFold(got, "ApiKey a2V5") {
		t.Fatalf("Authorization %q, want the API key (it wins over basic auth)", got)
	}
}

func TestProductCheckRefusesOtherServers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"version":{"distribution":"opensearch","number":"2.19.6"},"tagline":"The OpenSearch Project: https://opensearch.org/"}`))
	}))
	defer srv.Close()
	_, err := elasticsearch.Connect(context.Background(), cluster.Config{URLs: []string{srv.URL}})
	if !errors.Is(err, cluster.ErrWrongFlavor) || !strings.Contains(err.Error(), "opensearch connector") {
		t.Fatalf("err = %v", err)
	}
}

// Real servers (connecting to both and refusing the wrong one:
// connectors/cluster's TestConnectRealServers).

// TestSecurityOn: the test server runs with security on; a wrong password
// is refused with ErrUnauthorized and the message never holds it.
func TestSecurityOn(t *testing.T) {
	tg := clustertest.Connect(t, cluster.Elasticsearch)
	if tg.Config.Password == "" && tg.Config.APIKey == "" {
		testenv.Unavailable(t, testenv.Elasticsearch, "no Elasticsearch credentials configured (EDGEWATCH_ELASTICSEARCH_USERNAME/_PASSWORD_FILE): the test server runs with security on")
	}
	bad := tg.Config
	bad.APIKey = ""
	bad.Username, bad.Password = "edgewatch", "wrong-password-Zq81"
	_, err := elasticsearch.Connect(context.Background(), bad)
	if !errors.Is(err, cluster.ErrUnauthorized) || cluster.IsRetryable(err) {
		t.Fatalf("err = %v, want non-retryable ErrUnauthorized", err)
	}
	if strings.Contains(err.Error(), "wrong-password-Zq81") {
		t.Fatalf("message leaks the password: %v", err)
	}
	noAuth := tg.Config
	noAuth.Username, noAuth.Password, noAuth.APIKey = "", "", ""
	if _, err := elasticsearch.Connect(context.Background(), noAuth); !errors.Is(err, cluster.ErrUnauthorized) {
		t.Fatalf("no credentials: %v", err)
	}
}
