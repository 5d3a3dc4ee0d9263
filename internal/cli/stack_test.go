package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/edgewatch/edgewatch/dashboards"
	"github.com/edgewatch/edgewatch/plugin/wire"
	"github.com/google/go-cmp/cmp"
)

// TestInstallArgs: install's flags become the args the plugin's install
// operation reads; --opensearch is short for --source opensearch --url;
// secrets travel in the secrets map only.
func TestInstallArgs(t *testing.T) {
	h := newHarness(t, "ok")
	h.recordRequest()
	token := h.write("token", "webhook-token-value\n")
	h.env[EnvDashboardsPassword] = "dash-pw"
	// The fake plugin does not offer install: it records the request and
	// answers unknown op.
	h.main(context.Background(), "install", "--opensearch", "https://os:9200", "--dashboards", "https://osd:5601",
		"--tenant", "global", "--retention-days", "30", "--triggers", "--edgewatch-url", "https://ew:8443",
		"--edgewatch-token-file", token, "--trigger-interval", "10m", "--dry-run", "--detection", "prod",
		"--alert-index", "edgewatch-alerts-x", "--dashboards-username", "kib")
	got := h.dumped()
	var args map[string]any
	if err := json.Unmarshal(got["args"], &args); err != nil {
		t.Fatal(err)
	}
	settings, _ := args["settings"].(map[string]any)
	delete(args, "settings")
	want := map[string]any{
		"dashboards_url": "https://osd:5601", "tenant": "global", "retention_days": float64(30), "triggers": true,
		"edgewatch_url": "https://ew:8443", "trigger_interval": "10m0s", "dry_run": true, "detection": "prod",
		"dashboards_username": "kib",
	}
	if diff := cmp.Diff(want, args); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}
	cl, _ := settings["cluster"].(map[string]any)
	if settings["source"] != "opensearch" || cl == nil || cl["alert_index"] != "edgewatch-alerts-x" ||
		!cmp.Equal(cl["urls"], []any{"https://os:9200"}) {
		t.Errorf("settings %v", settings)
	}
	if string(got["secrets"]) != `{"dashboards_password":"dash-pw","webhook_token":"webhook-token-value"}` {
		t.Errorf("secrets %s", got["secrets"])
	}
	if strings.Contains(string(got["args"]), "webhook-token-value") || strings.Contains(string(got["args"]), "dash-pw") {
		t.Errorf("a secret is in the args: %s", got["args"])
	}
}

func TestStackUsageErrors(t *testing.T) {
	h := newHarness(t, "ok")
	cases := map[string]struct {
		args []string
		want string
	}{
		"both clusters":          {[]string{"install", "--opensearch", "http://a", "--elasticsearch", "http://b"}, "not both"},
		"shorthand and source":   {[]string{"install", "--opensearch", "http://a", "--source", "opensearch"}, "give one form"},
		"both dashboards":        {[]string{"install", "--dashboards", "http://a", "--kibana", "http://b"}, "not both"},
		"space with dashboards":  {[]string{"install", "--dashboards", "http://a", "--space", "s"}, "--space is a Kibana feature"},
		"tenant with kibana":     {[]string{"uninstall", "--kibana", "http://a", "--tenant", "t"}, "--tenant is an OpenSearch Dashboards feature"},
		"space alone":            {[]string{"install", "--space", "s"}, "need --kibana or --dashboards"},
		"triggers without url":   {[]string{"install", "--triggers"}, "--triggers needs --edgewatch-url"},
		"triggers without token": {[]string{"install", "--triggers", "--edgewatch-url", "https://e:1"}, "needs the webhook token"},
		"url without triggers":   {[]string{"install", "--edgewatch-url", "https://e:1"}, "need --triggers"},
		"zero retention":         {[]string{"install", "--retention-days", "0"}, "--retention-days 0"},
		"bad interval":           {[]string{"install", "--triggers", "--edgewatch-url", "https://e:1", "--trigger-interval", "soon"}, "--trigger-interval"},
		"report missing alerts":  {[]string{"report", "--alerts", filepath.Join(h.dir, "nope.ndjson")}, "--alerts " + filepath.Join(h.dir, "nope.ndjson")},
		"delete-data on install": {[]string{"install", "--delete-data"}, "unknown flag: --delete-data"},
		"negative max alerts":    {[]string{"report", "--max-alerts", "-1"}, "--max-alerts -1"},
		"dotted detection":       {[]string{"install", "--opensearch", "http://a", "--detection", "prod.eu"}, `--detection: detection name "prod.eu": use 1 to 64`},
		"upper-case detection":   {[]string{"uninstall", "--opensearch", "http://a", "--detection", "Prod"}, `detection name "Prod"`},
		"status dotted":          {[]string{"status", "--opensearch", "http://a", "--detection", "ok,prod.eu"}, `detection name "prod.eu"`},
	}
	h.env[EnvWebhookToken] = ""
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if name == "bad interval" {
				h.env[EnvWebhookToken] = "tok"
				defer func() { h.env[EnvWebhookToken] = "" }()
			}
			code, _, errOut := h.main(context.Background(), tc.args...)
			if code != ExitUsage || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q: want usage error containing %q", code, errOut, tc.want)
			}
		})
	}
}

func TestRenderSteps(t *testing.T) {
	res := `{"operation":"install","cluster":"opensearch 2.19.6","steps":[
{"step":"index template","target":"edgewatch-alerts","outcome":"already-present","detail":"v1"},
{"step":"retention policy","target":"ISM edgewatch-alerts-retention","outcome":"skipped","detail":"no handler found"},
{"step":"saved objects","target":"opensearch-dashboards http://osd","outcome":"failed","detail":"HTTP 500"}],
"outcomes":{"already-present":1,"skipped":1,"failed":1},"failed":1}`
	var r wire.StepsResult
	if err := json.Unmarshal([]byte(res), &r); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	err := renderSteps(&b, r, false)
	if err == nil || err.Error() != "install: 1 step(s) failed" {
		t.Errorf("err = %v, want the failed count", err)
	}
	want := `install on opensearch 2.19.6
  already-present  index template       edgewatch-alerts: v1
  skipped          retention policy     ISM edgewatch-alerts-retention: no handler found
  failed           saved objects        opensearch-dashboards http://osd: HTTP 500
3 steps: 1 already-present, 1 skipped, 1 failed
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	b.Reset()
	r.Failed = 0
	if err := renderSteps(&b, r, true); err != nil {
		t.Errorf("no failure: %v", err)
	}
	if !json.Valid(b.Bytes()) {
		t.Errorf("--json output is not JSON: %s", b.String())
	}
}

// TestPrintRoles: install --print-roles prints the bundled roles, fitted
// to the indices given, without a plugin and without a cluster.
func TestPrintRoles(t *testing.T) {
	h := newHarness(t, "ok")
	// No plugin to start, and a URL nothing answers on: printing the roles
	// needs neither.
	if err := os.Remove(filepath.Join(h.pluginDir, "edgewatch-defender-ti")); err != nil {
		t.Fatal(err)
	}
	type roles map[string]map[string]json.RawMessage
	tests := []struct {
		name    string
		args    []string
		flavors []string
		check   func(t *testing.T, r roles)
	}{
		{name: "both flavors, as bundled", args: nil, flavors: []string{"elasticsearch", "opensearch"},
			check: func(t *testing.T, r roles) {
				for _, fl := range []string{"opensearch", "elasticsearch"} {
					for _, k := range []string{dashboards.RoleDetector, dashboards.RoleInstaller} {
						want, _ := dashboards.SecurityRole(fl, k, dashboards.RoleOptions{})
						if got := r[fl][dashboards.RoleName(k)]; !jsonEqual(t, got, want) {
							t.Errorf("%s %s: %s, want the bundled %s", fl, k, got, want)
						}
					}
				}
			}},
		{name: "one flavor, fitted", flavors: []string{"elasticsearch"},
			args: []string{"--elasticsearch", "https://127.0.0.1:1", "--device-info-index", "m365-di-*", "--network-events-index", "m365-ne-*,m365-di-*",
				"--alert-index", "edgewatch-alerts-soc"},
			check: func(t *testing.T, r roles) {
				var d struct {
					Indices []struct{ Names []string } `json:"indices"`
				}
				if err := json.Unmarshal(r["elasticsearch"]["edgewatch_detector"], &d); err != nil {
					t.Fatal(err)
				}
				if len(d.Indices) < 2 || !cmp.Equal(d.Indices[0].Names, []string{"m365-di-*", "m365-ne-*"}) ||
					!cmp.Equal(d.Indices[1].Names, []string{"edgewatch-alerts-soc", "edgewatch-alerts-soc-*"}) {
					t.Errorf("detector indices %+v", d.Indices)
				}
			}},
		{name: "detection names the alert index", flavors: []string{"opensearch"},
			args: []string{"--source", "opensearch", "--detection", "soc"},
			check: func(t *testing.T, r roles) {
				var d struct {
					Perms []struct {
						Patterns []string `json:"index_patterns"`
					} `json:"index_permissions"`
				}
				if err := json.Unmarshal(r["opensearch"]["edgewatch_detector"], &d); err != nil {
					t.Fatal(err)
				}
				if len(d.Perms) < 2 || !cmp.Equal(d.Perms[1].Patterns, []string{"edgewatch-alerts-soc", "edgewatch-alerts-soc-*"}) ||
					!cmp.Equal(d.Perms[0].Patterns, []string{"defender-*"}) {
					t.Errorf("detector permissions %+v", d.Perms)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := h.main(context.Background(), append([]string{"install", "--print-roles", "--json"}, tt.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var r roles
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			var got []string
			for fl := range r {
				got = append(got, fl)
			}
			sort.Strings(got)
			if !cmp.Equal(got, tt.flavors) {
				t.Errorf("flavors %v, want %v", got, tt.flavors)
			}
			tt.check(t, r)

			// The text form: a comment line naming the API, then the
			// document, for each role.
			code, out, errOut = h.main(context.Background(), append([]string{"install", "--print-roles"}, tt.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if n := strings.Count(out, "\n# "); n+1 != 2*len(tt.flavors) || !strings.HasPrefix(out, "# ") {
				t.Errorf("text form has %d headers for %d flavors:\n%s", n+1, len(tt.flavors), out)
			}
			for _, part := range strings.Split(out, "\n# ")[1:] {
				_, doc, _ := strings.Cut(part, "\n")
				if !json.Valid([]byte(doc)) {
					t.Errorf("not JSON after its header: %s", part)
				}
			}
		})
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("%v: %s", err, a)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return cmp.Equal(x, y)
}
