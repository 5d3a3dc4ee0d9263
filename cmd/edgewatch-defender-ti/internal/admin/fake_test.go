package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// fakeCluster answers requests by "METHOD /path" (query ignored; "METHOD *"
// catches the rest of a method) from its routes and records every request. A route may be a fixed answer or a
// function. Unrouted requests answer what the integ-test distributions
// answer for a missing plugin: 400 "no handler found".
type fakeCluster struct {
	t      *testing.T
	flavor cluster.Flavor
	mu     sync.Mutex
	routes map[string]func(req cluster.Request) (int, string)
	log    []cluster.Request
}

func newFake(t *testing.T, flavor cluster.Flavor) *fakeCluster {
	return &fakeCluster{t: t, flavor: flavor, routes: map[string]func(cluster.Request) (int, string){}}
}

func (f *fakeCluster) on(method, path string, status int, body string) {
	f.routes[method+" "+path] = func(cluster.Request) (int, string) { return status, body }
}

func (f *fakeCluster) onFunc(method, path string, fn func(req cluster.Request) (int, string)) {
	f.routes[method+" "+path] = fn
}

func (f *fakeCluster) Do(_ context.Context, req cluster.Request) (*cluster.Response, error) {
	f.mu.Lock()
	f.log = append(f.log, req)
	fn := f.routes[req.Method+" "+req.Path]
	if fn == nil {
		fn = f.routes[req.Method+" *"]
	}
	f.mu.Unlock()
	if fn == nil {
		return &cluster.Response{Status: 400, Body: []byte(`{"error":"no handler found for uri [` + req.Path + `] and method [` + req.Method + `]"}`)}, nil
	}
	st, body := fn(req)
	return &cluster.Response{Status: st, Body: []byte(body), Header: http.Header{}}, nil
}

func (f *fakeCluster) client() *cluster.Client {
	return cluster.NewClient(f, cluster.ServerInfo{Flavor: f.flavor, Version: "9.9.9"})
}

// requests lists "METHOD /path" of what was sent, in order.
func (f *fakeCluster) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, 0, len(f.log))
	for _, r := range f.log {
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}

// sent returns the body of the last request to method path, compacted
// ("" if none).
func (f *fakeCluster) sent(method, path string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.log) - 1; i >= 0; i-- {
		if f.log[i].Method == method && f.log[i].Path == path {
			var b bytes.Buffer
			if json.Compact(&b, f.log[i].Body) != nil {
				return string(f.log[i].Body)
			}
			return b.String()
		}
	}
	return ""
}

func (f *fakeCluster) mutations() []string {
	var out []string
	for _, r := range f.requests() {
		if !strings.HasPrefix(r, "GET ") && !strings.HasPrefix(r, "HEAD ") && !strings.Contains(r, "/_search") {
			out = append(out, r)
		}
	}
	return out
}

func (f *fakeCluster) deps() Deps {
	return Deps{Connect: func(context.Context, wire.Settings, map[string]string) (*cluster.Client, error) {
		return f.client(), nil
	}}
}

// stackSettings names a cluster of flavor.
func stackSettings(flavor cluster.Flavor) wire.Settings {
	return wire.Settings{Source: string(flavor), Cluster: &wire.ClusterSettings{URLs: []string{"http://fake:9200"}}}
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// stepOf finds a step by name and target prefix.
func stepOf(r wire.StepsResult, step, targetPrefix string) wire.Step {
	for _, s := range r.Steps {
		if s.Step == step && strings.HasPrefix(s.Target, targetPrefix) {
			return s
		}
	}
	return wire.Step{Outcome: "(missing)"}
}
