package testenv

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeTB records a skip or a failure and stops the function under test, as
// the real testing.T does (runtime.Goexit there, a panic here).
type fakeTB struct {
	testing.TB
	skipped, failed bool
	msg             string
}

type stopped struct{}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Skipf(format string, args ...any) {
	f.skipped, f.msg = true, fmt.Sprintf(format, args...)
	panic(stopped{})
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed, f.msg = true, fmt.Sprintf(format, args...)
	panic(stopped{})
}
func (f *fakeTB) Fatal(args ...any) {
	f.failed, f.msg = true, fmt.Sprint(args...)
	panic(stopped{})
}

// outcome runs fn with a fakeTB and says what happened: "run", "skip" or
// "fail", with the message.
func outcome(fn func(tb testing.TB)) (string, string) {
	f := &fakeTB{}
	func() {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(stopped); !ok {
					panic(r)
				}
			}
		}()
		fn(f)
	}()
	switch {
	case f.failed:
		return "fail", f.msg
	case f.skipped:
		return "skip", f.msg
	}
	return "run", f.msg
}

// setEnv clears every variable the package reads, then sets env.
func setEnv(t *testing.T, env map[string]string) {
	t.Helper()
	for _, k := range []string{EnvCI, EnvRequireClusters, EnvRequireData, EnvRequireChromium, EnvRequireSecure, EnvRequire3Node,
		EnvOpenSearchURL, EnvElasticURL, EnvOpenSearchSecureURL, EnvElasticSecureURL, EnvIPsumDir, EnvChromium, Env3NodeURLs} {
		t.Setenv(k, env[k])
	}
}

func TestRequire(t *testing.T) {
	browser := filepath.Join(t.TempDir(), "chromium")
	if err := os.WriteFile(browser, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	const url = "http://127.0.0.1:1"
	tests := []struct {
		name    string
		need    Need
		env     map[string]string
		want    string   // run, skip or fail
		wantMsg []string // substrings of the message
	}{
		{name: "clusters set", need: Clusters,
			env: map[string]string{EnvOpenSearchURL: url, EnvElasticURL: url}, want: "run"},
		{name: "clusters missing, not required", need: Clusters,
			want: "skip", wantMsg: []string{EnvOpenSearchURL + " is not set", EnvRequireClusters + "=1 makes this a failure"}},
		{name: "clusters missing, CI=true", need: Clusters, env: map[string]string{EnvCI: "true"},
			want: "fail", wantMsg: []string{EnvOpenSearchURL + " is not set", "scripts/cluster.sh start opensearch"}},
		{name: "clusters missing, EDGEWATCH_REQUIRE_CLUSTERS=1", need: Clusters, env: map[string]string{EnvRequireClusters: "1"},
			want: "fail", wantMsg: []string{"opensearch is required"}},
		{name: "elasticsearch missing, required", need: Clusters,
			env:  map[string]string{EnvOpenSearchURL: url, EnvRequireClusters: "1"},
			want: "fail", wantMsg: []string{EnvElasticURL + " is not set", "_PASSWORD_FILE"}},
		{name: "only opensearch needed, elasticsearch missing", need: OpenSearch,
			env: map[string]string{EnvOpenSearchURL: url, EnvRequireClusters: "1"}, want: "run"},
		{name: "clusters missing, only data required", need: Clusters, env: map[string]string{EnvRequireData: "1"},
			want: "skip"},
		{name: "CI other than true does not require", need: Clusters, env: map[string]string{EnvCI: "1"},
			want: "skip"},
		{name: "EDGEWATCH_REQUIRE_CLUSTERS=0 does not require", need: Clusters, env: map[string]string{EnvRequireClusters: "0"},
			want: "skip"},
		{name: "secured clusters set", need: Secure,
			env: map[string]string{EnvOpenSearchSecureURL: url, EnvElasticSecureURL: url, EnvRequireSecure: "1"}, want: "run"},
		{name: "secured missing, not required", need: Secure, env: map[string]string{EnvRequireClusters: "1"},
			want: "skip", wantMsg: []string{EnvOpenSearchSecureURL + " is not set", EnvRequireSecure + "=1 makes this a failure"}},
		{name: "secured missing, EDGEWATCH_REQUIRE_SECURE=1", need: OpenSearchSecure, env: map[string]string{EnvRequireSecure: "1"},
			want: "fail", wantMsg: []string{"secured opensearch is required", "cluster.sh start opensearch --secure", "cluster.sh env opensearch --secure"}},
		{name: "secured elasticsearch missing, CI=true", need: Secure,
			env:  map[string]string{EnvOpenSearchSecureURL: url, EnvCI: "true"},
			want: "fail", wantMsg: []string{EnvElasticSecureURL + " is not set"}},
		{name: "plain clusters do not stand in for secured ones", need: ElasticsearchSecure,
			env:  map[string]string{EnvOpenSearchURL: url, EnvElasticURL: url, EnvRequireSecure: "1"},
			want: "fail", wantMsg: []string{EnvElasticSecureURL}},
		{name: "three nodes set", need: ThreeNodes, env: map[string]string{Env3NodeURLs: url + "," + url}, want: "run"},
		{name: "three nodes missing, clusters required only", need: ThreeNodes, env: map[string]string{EnvRequireClusters: "1"},
			want: "skip", wantMsg: []string{Env3NodeURLs + " is not set", EnvRequire3Node + "=1 makes this a failure"}},
		{name: "three nodes missing, required", need: ThreeNodes, env: map[string]string{EnvRequire3Node: "1"},
			want: "fail", wantMsg: []string{"three-node opensearch is required", "--nodes 3", "make test-faults"}},
		{name: "three nodes missing, CI=true", need: ThreeNodes, env: map[string]string{EnvCI: "true"}, want: "fail"},
		{name: "data from the repository", need: Data, env: map[string]string{EnvRequireData: "1"}, want: "run"},
		{name: "data missing, required by EDGEWATCH_REQUIRE_DATA", need: Data,
			env:  map[string]string{EnvIPsumDir: empty, EnvRequireData: "1"},
			want: "fail", wantMsg: []string{"has no ipsum.txt", "testdata/ipsum", EnvRequireData + "=1"}},
		{name: "data missing, clusters required only", need: Data,
			env:  map[string]string{EnvIPsumDir: empty, EnvRequireClusters: "1"},
			want: "skip", wantMsg: []string{"has no ipsum.txt"}},
		{name: "data missing, CI=true", need: Data, env: map[string]string{EnvIPsumDir: empty, EnvCI: "true"},
			want: "fail"},
		{name: "chromium from EDGEWATCH_CHROMIUM", need: Chromium,
			env: map[string]string{EnvChromium: browser, EnvRequireChromium: "1"}, want: "run"},
		{name: "chromium missing, not required", need: Chromium,
			env:  map[string]string{EnvChromium: filepath.Join(empty, "chromium")},
			want: "skip", wantMsg: []string{EnvChromium, "apt-get install -y chromium"}},
		{name: "chromium missing, required", need: Chromium,
			env:  map[string]string{EnvChromium: filepath.Join(empty, "chromium"), EnvRequireChromium: "1"},
			want: "fail", wantMsg: []string{"chromium is required"}},
		{name: "several needs: the missing required one fails", need: Clusters | Data | Chromium,
			env: map[string]string{EnvOpenSearchURL: url, EnvElasticURL: url, EnvChromium: filepath.Join(empty, "chromium"),
				EnvRequireChromium: "1"},
			want: "fail", wantMsg: []string{"chromium is required"}},
		{name: "several needs, all there", need: Clusters | Data | Chromium,
			env:  map[string]string{EnvOpenSearchURL: url, EnvElasticURL: url, EnvChromium: browser},
			want: "run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setEnv(t, tt.env)
			got, msg := outcome(func(tb testing.TB) { Require(tb, tt.need) })
			if got != tt.want {
				t.Fatalf("Require(%v) = %s (%q), want %s", tt.need, got, msg, tt.want)
			}
			for _, s := range tt.wantMsg {
				if !strings.Contains(msg, s) {
					t.Errorf("message %q lacks %q", msg, s)
				}
			}
		})
	}
}

func TestSkipShort(t *testing.T) {
	short := flag.Lookup("test.short")
	was := short.Value.String()
	t.Cleanup(func() { _ = short.Value.Set(was) })
	tests := []struct {
		name  string
		short bool
		env   map[string]string
		want  string
	}{
		{"not short", false, nil, "run"},
		{"short, not required", true, nil, "skip"},
		{"short, clusters required", true, map[string]string{EnvRequireClusters: "1"}, "run"},
		{"short, CI=true", true, map[string]string{EnvCI: "true"}, "run"},
		{"short, another need required", true, map[string]string{EnvRequireChromium: "1"}, "skip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setEnv(t, tt.env)
			if err := short.Value.Set(fmt.Sprint(tt.short)); err != nil {
				t.Fatal(err)
			}
			got, msg := outcome(func(tb testing.TB) { SkipShort(tb, Clusters) })
			_ = short.Value.Set(was)
			if got != tt.want {
				t.Errorf("SkipShort = %s (%q), want %s", got, msg, tt.want)
			}
		})
	}
}

func TestIPsumDir(t *testing.T) {
	tests := []struct {
		name string
		env  string // EDGEWATCH_IPSUM_DIR
		want string // path relative to the repository root
	}{
		{"repository default", "", "testdata/ipsum"},
		{"relative override", "../../testdata/ipsum", "testdata/ipsum"},
	}
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "internal", "testenv", "doc.go")); err != nil {
		t.Fatalf("RepoRoot = %s, not this repository: %v", root, err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setEnv(t, map[string]string{EnvIPsumDir: tt.env, EnvRequireData: "1"})
			if got, want := IPsumDir(t), filepath.Join(root, tt.want); got != want {
				t.Errorf("IPsumDir = %s, want %s", got, want)
			}
		})
	}
}

func TestSecurePrefix(t *testing.T) {
	for flavor, want := range map[string]string{"opensearch": "EDGEWATCH_OPENSEARCH_SECURE", "elasticsearch": "EDGEWATCH_ELASTICSEARCH_SECURE"} {
		if got := SecurePrefix(flavor); got != want || got+"_URL" != map[string]string{"opensearch": EnvOpenSearchSecureURL, "elasticsearch": EnvElasticSecureURL}[flavor] {
			t.Errorf("SecurePrefix(%s) = %s, want %s", flavor, got, want)
		}
	}
}

func TestClusterNeed(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Need
	}{
		{"opensearch flavor", "opensearch", OpenSearch},
		{"elasticsearch flavor", "elasticsearch", Elasticsearch},
		{"opensearch env prefix", "EDGEWATCH_OPENSEARCH", OpenSearch},
		{"elasticsearch env prefix", "EDGEWATCH_ELASTICSEARCH", Elasticsearch},
		{"unknown needs both", "solr", Clusters},
		{"secured opensearch prefix", "EDGEWATCH_OPENSEARCH_SECURE", OpenSearchSecure},
		{"secured elasticsearch prefix", "EDGEWATCH_ELASTICSEARCH_SECURE", ElasticsearchSecure},
		{"secured unknown needs both secured", "solr_secure", Secure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ClusterNeed(tt.in); got != tt.want {
				t.Errorf("ClusterNeed(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
