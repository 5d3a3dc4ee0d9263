package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgewatch/edgewatch/plugin/wire"
	"github.com/google/go-cmp/cmp"
)

// TestInstallArgs: install's flags become the args the plugin's install
// operation reads; --opensearch is short for --source opensearch --url;
// secrets travel in the secrets map only.
func TestInstallArgs(t *testing.T) {
	h := newHarness(t, "ok")
	dumpFile := filepath.Join(t.TempDir(), "dump.json")
	t.Setenv(envDump, dumpFile)
	token := h.write("token", "webhook-token-value\n")
	h.env[EnvDashboardsPassword] = "dash-pw"
	// The fake plugin does not offer install: it records the request and
	// answers unknown op.
	h.main(context.Background(), "install", "--opensearch", "https://os:9200", "--dashboards", "https://osd:5601",
		"--tenant", "global", "--retention-days", "30", "--triggers", "--edgewatch-url", "https://ew:8443",
		"--edgewatch-token-file", token, "--trigger-interval", "10m", "--dry-run", "--detection", "prod",
		"--alert-index", "edgewatch-alerts-x", "--dashboards-username", "kib")
	got := h.dumped(dumpFile)
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
