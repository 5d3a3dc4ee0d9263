package opensearch_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/connectors/opensearch"
)

// Mock server tests: what the adapter puts on the wire.

func TestDoerRequestOnTheWire(t *testing.T) {
	var got struct {
		method, rawPath, query, ctype, body string
		user, pass                          string
		ok                                  bool
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.method, got.rawPath, got.query, got.ctype, got.body = r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Get("Content-Type"), string(b)
		got.user, got.pass, got.ok = r.BasicAuth()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"took":1}`))
	}))
	defer srv.Close()
	d, err := opensearch.NewDoer(cluster.Config{URLs: []string{srv.URL}, Username: "u", Password: "p@ss"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := d.Do(context.Background(), cluster.Request{Method: "POST", Path: cluster.DocPath("idx", "_bulk"),
		Query: map[string][]string{"refresh": {"wait_for"}}, Body: []byte("{}\n{}\n"), NDJSON: true})
	if err != nil || resp.Status != 200 || string(resp.Body) != `{"took":1}` {
		t.Fatalf("resp %+v err %v", resp, err)
	}
	if got.method != "POST" || got.rawPath != "/idx/_bulk" || got.query != "refresh=wait_for" ||
		got.ctype != "application/x-ndjson" || got.body != "{}\n{}\n" || !got.ok || got.user != "u" || got.pass != "p@ss" {
		t.Fatalf("server saw %+v", got)
	}
	if _, err := d.Do(context.Background(), cluster.Request{Method: "GET", Path: cluster.DocPath("idx", "_doc", "1.2.3.0/24")}); err != nil {
		t.Fatal(err)
	}
	if got.rawPath != "/idx/_doc/1.2.3.0%2F24" {
		t.Fatalf("escaped id path sent as %s", got.rawPath)
	}
}

func TestDoerRetries429ThenSucceeds(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= 2 {
			w.WriteHeader(429)
			w.Write([]byte(`{"error":{"type":"es_rejected_execution_exception","reason":"queue full"},"status":429}`))
			return
		}
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	d, err := opensearch.NewDoer(cluster.Config{URLs: []string{srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := d.Do(context.Background(), cluster.Request{Method: "PUT", Path: "/idx/_doc/1", Body: []byte(`{"a":1}`)})
	if err != nil || resp.Status != 200 || n.Load() != 3 {
		t.Fatalf("status %v err %v after %d attempts", resp, err, n.Load())
	}
}

func TestDoerTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer srv.Close()
	d, err := opensearch.NewDoer(cluster.Config{URLs: []string{srv.URL}, Timeout: 200 * time.Millisecond, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = d.Do(context.Background(), cluster.Request{Method: "GET", Path: "/"})
	if err == nil || time.Since(start) > 3*time.Second {
		t.Fatalf("err %v after %v", err, time.Since(start))
	}
}

func TestConnectRefusesAPIKeyAndBadConfig(t *testing.T) {
	if _, err := opensearch.NewDoer(cluster.Config{URLs: []string{"http://127.0.0.1:9200"}, APIKey: "k"}); !errors.Is(err, cluster.ErrConfig) {
		t.Fatalf("api key: %v", err)
	}
	if _, err := opensearch.NewDoer(cluster.Config{}); !errors.Is(err, cluster.ErrConfig) {
		t.Fatalf("no url: %v", err)
	}
}

func TestConnectionRefusedIsDownstreamRetryable(t *testing.T) {
	_, err := opensearch.Connect(context.Background(), cluster.Config{URLs: []string{"http://127.0.0.1:1"}, MaxRetries: -1, Timeout: 2 * time.Second})
	if err == nil || !cluster.IsDownstream(err) || !cluster.IsRetryable(err) {
		t.Fatalf("err = %v downstream=%v retryable=%v", err, cluster.IsDownstream(err), cluster.IsRetryable(err))
	}
}

// The real servers: connectors/cluster's TestConnectRealServers.
