package clustertest

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/dashboards"
	"github.com/edgewatch/edgewatch/internal/testenv"
)

// Target is one live cluster.
type Target struct {
	Name   string // "opensearch" or "elasticsearch"
	Flavor cluster.Flavor
	Env    string // env prefix, e.g. EDGEWATCH_OPENSEARCH
	Config cluster.Config
	Client *cluster.Client
	// Identity is who Client is on a secured server (ConnectSecure); ""
	// on the plain test servers.
	Identity Identity
}

// Flavors lists the clusters tests run against, in order.
var Flavors = []struct {
	Flavor cluster.Flavor
	Env    string
}{
	{cluster.OpenSearch, "EDGEWATCH_OPENSEARCH"},
	{cluster.Elasticsearch, "EDGEWATCH_ELASTICSEARCH"},
}

// Connect returns a connected client for flavor. An unset URL skips t, or
// fails it when clusters are required (testenv.Require).
func Connect(t testing.TB, flavor cluster.Flavor) Target {
	t.Helper()
	for _, f := range Flavors {
		if f.Flavor != flavor {
			continue
		}
		testenv.Require(t, testenv.ClusterNeed(string(flavor)))
		cfg, ok, err := ConfigFromEnv(f.Env)
		if err != nil {
			t.Fatalf("%s settings: %v", f.Env, err)
		}
		if !ok {
			t.Fatalf("%s_URL is not set", f.Env)
		}
		c, err := Dial(flavor, cfg)
		if err != nil {
			t.Fatalf("connect to %s (%s): %v", flavor, cfg, err)
		}
		return Target{Name: string(flavor), Flavor: flavor, Env: f.Env, Config: cfg, Client: c}
	}
	t.Fatalf("unknown flavor %q", flavor)
	return Target{}
}

// Run runs fn as a subtest against each cluster.
func Run(t *testing.T, fn func(t *testing.T, tg Target)) {
	t.Helper()
	for _, f := range Flavors {
		t.Run(string(f.Flavor), func(t *testing.T) {
			fn(t, Connect(t, f.Flavor))
		})
	}
}

// ConfigFromEnv is cluster.ConfigFromEnv plus one convenience for the local
// test servers: an Elasticsearch URL without credentials gets the test user
// that scripts/cluster.sh created (user "edgewatch", password in
// <repo>/.cache/clusters/elasticsearch.password), when that file exists.
func ConfigFromEnv(prefix string) (cluster.Config, bool, error) {
	cfg, ok, err := cluster.ConfigFromEnv(prefix)
	if err != nil || !ok || prefix != "EDGEWATCH_ELASTICSEARCH" {
		return cfg, ok, err
	}
	if cfg.Username != "" || cfg.Password != "" || cfg.APIKey != "" || strings.Contains(strings.Join(cfg.URLs, ","), "@") {
		return cfg, ok, nil
	}
	if file := scriptPasswordFile(); file != "" {
		pw, perr := cluster.SecretFromFile(file)
		if perr == nil {
			cfg.Username, cfg.Password = "edgewatch", pw
		}
	}
	return cfg, ok, nil
}

// scriptPasswordFile finds .cache/clusters/elasticsearch.password in the
// repository that holds the working directory.
func scriptPasswordFile() string {
	root, err := testenv.RepoRoot()
	if err != nil {
		return ""
	}
	f := filepath.Join(root, ".cache", "clusters", "elasticsearch.password")
	if _, err := os.Stat(f); err != nil {
		return ""
	}
	return f
}

var seq atomic.Int64

// Name returns a unique lower-case index name "<prefix>-<test>-<n>" and
// deletes indices matching it (and name-*) when the test ends, unless
// EDGEWATCH_KEEP_TEST_INDICES=1.
func Name(t testing.TB, tg Target, prefix string) string {
	t.Helper()
	test := strings.ToLower(t.Name())
	test = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, test)
	if len(test) > 40 {
		test = test[len(test)-40:]
	}
	name := fmt.Sprintf("%s-%s-%d-%d", prefix, strings.Trim(test, "-"), time.Now().UnixNano()%1e6, seq.Add(1))
	t.Cleanup(func() {
		if os.Getenv("EDGEWATCH_KEEP_TEST_INDICES") == "1" {
			return
		}
		DeleteIndices(t, tg, name, name+"-*")
	})
	return name
}

// DeleteIndices deletes the named indices or patterns, ignoring missing
// ones; a name that is an alias (a write alias) deletes the indices behind
// it (a DELETE of the alias itself is refused, or with ignore_unavailable
// acknowledged without deleting anything). On a secured server the admin
// deletes them.
func DeleteIndices(t testing.TB, tg Target, names ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := tg.cleaner(t)
	for _, n := range names {
		if !strings.Contains(n, "*") {
			if behind := aliasIndices(ctx, c, n); len(behind) > 0 {
				n = strings.Join(behind, ",")
			}
		}
		req := cluster.Request{Method: http.MethodDelete, Path: "/" + n,
			Query: map[string][]string{"ignore_unavailable": {"true"}, "allow_no_indices": {"true"}, "expand_wildcards": {"open,closed"}}}
		resp, err := c.Do(ctx, req)
		if err != nil {
			t.Logf("cleanup %s: %v", n, err)
			continue
		}
		if resp.Status != 200 && resp.Status != 404 {
			t.Logf("cleanup %s: %d %s", n, resp.Status, resp.Body)
		}
	}
}

// aliasIndices are the indices behind alias name, none when name is not
// an alias.
func aliasIndices(ctx context.Context, c *cluster.Client, name string) []string {
	resp, err := c.Do(ctx, cluster.Request{Method: http.MethodGet, Path: cluster.DocPath("_alias", name)})
	if err != nil || resp.Status != http.StatusOK {
		return nil
	}
	var got map[string]json.RawMessage
	if json.Unmarshal(resp.Body, &got) != nil {
		return nil
	}
	return slices.Sorted(maps.Keys(got))
}

// Call sends one request (body marshalled as JSON when not nil), decodes
// the answer into out (when not nil) and fails the test on an error.
func Call(t testing.TB, c *cluster.Client, method, path string, body, out any) {
	t.Helper()
	req := cluster.Request{Method: method, Path: path}
	if body != nil {
		req.Body = cluster.JSON(body)
	}
	if err := c.Call(context.Background(), method+" "+path, req, out); err != nil {
		t.Fatal(err)
	}
}

// Search refreshes target and returns the hits of a search for body
// (marshalled as JSON), each _source decoded into S.
func Search[S any](t testing.TB, c *cluster.Client, target string, body any) []cluster.Hit[S] {
	t.Helper()
	Call(t, c, http.MethodPost, "/"+target+"/_refresh", nil, nil)
	var r cluster.SearchHits[S]
	Call(t, c, http.MethodPost, "/"+target+"/_search", body, &r)
	return r.Hits.Hits
}

// AlertTemplate is the settings and mappings objects of the bundled alert
// index template, for a test that creates an alert index (or a template of
// its own) as install would.
func AlertTemplate(t testing.TB) (settings, mappings json.RawMessage) {
	t.Helper()
	tmpl, ok := dashboards.IndexTemplate(dashboards.AlertsTemplate)
	if !ok {
		t.Fatalf("bundled template %s missing", dashboards.AlertsTemplate)
	}
	var body struct {
		Template struct {
			Settings json.RawMessage `json:"settings"`
			Mappings json.RawMessage `json:"mappings"`
		} `json:"template"`
	}
	if err := json.Unmarshal(tmpl.Body, &body); err != nil {
		t.Fatal(err)
	}
	return body.Template.Settings, body.Template.Mappings
}

// Count refreshes index and returns how many documents it holds.
func Count(t testing.TB, c *cluster.Client, index string) int64 {
	t.Helper()
	var r struct {
		Count int64 `json:"count"`
	}
	Call(t, c, http.MethodPost, "/"+index+"/_refresh", nil, nil)
	Call(t, c, http.MethodGet, "/"+index+"/_count", nil, &r)
	return r.Count
}
