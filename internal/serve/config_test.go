package serve

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const goodConfig = `
listen: 127.0.0.1:0
webhook:
  token_env: EW_TOKEN
  hmac_secret_env: EW_HMAC
log: {format: json, level: debug}
defaults:
  interval: 10m
  overlap: 15m
detections:
  - name: defender-ti
    delay: 2m
    max_window: 30m
    settings:
      source: opensearch
      min_level: 3
      cluster:
        urls: [http://127.0.0.1:9200]
        alert_index: edgewatch-alerts-prod
    secrets:
      password: {env: EW_OS_PASSWORD}
  - name: second
    interval: 1m
    manual: true
feeds:
  - name: ipsum
    path: /var/lib/ipsum/ipsum.txt
    detections: [defender-ti]
`

func testEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

var goodEnv = testEnv(map[string]string{
	"EW_TOKEN":       "tok-0123456789abcdef",
	"EW_HMAC":        "hmac-0123456789abcdef",
	"EW_OS_PASSWORD": "s3cret-password",
})

func TestParseConfig(t *testing.T) {
	cfg, err := ParseConfig([]byte(goodConfig), goodEnv)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := cfg.Detection("defender-ti")
	if !ok {
		t.Fatal("defender-ti missing")
	}
	if got := d.EffectiveInterval(); got != 10*time.Minute {
		t.Errorf("interval %s, want the default 10m", got)
	}
	inc := d.Incremental
	if inc.Overlap.D() != 15*time.Minute || inc.Delay.D() != 2*time.Minute || inc.MaxWindow.D() != 30*time.Minute {
		t.Errorf("incremental %+v: want overlap from defaults, delay and max_window from the detection", inc)
	}
	var settings map[string]any
	if err := json.Unmarshal(d.SettingsJSON(), &settings); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"source": "opensearch", "min_level": float64(3),
		"cluster": map[string]any{"urls": []any{"http://127.0.0.1:9200"}, "alert_index": "edgewatch-alerts-prod"}}
	if diff := cmp.Diff(want, settings); diff != "" {
		t.Errorf("settings JSON (-want +got):\n%s", diff)
	}
	if got := d.SecretValues()["password"]; got != "s3cret-password" {
		t.Errorf("password secret %q", got)
	}
	s2, _ := cfg.Detection("second")
	if !s2.Manual || s2.EffectiveInterval() != time.Minute || string(s2.SettingsJSON()) != "{}" {
		t.Errorf("second %+v", s2)
	}
	if !cfg.MetricsEnabled() || cfg.Feeds[0].Every.D() != time.Hour {
		t.Errorf("defaults: metrics %v feed every %s", cfg.MetricsEnabled(), cfg.Feeds[0].Every)
	}
}

// TestDetectionTriggerAndHealthDefaults: trigger, max_lag and max_backfill
// after loading.
func TestDetectionTriggerAndHealthDefaults(t *testing.T) {
	tests := []struct {
		name         string
		yaml         string
		trigger      string
		manual       bool
		maxLag       time.Duration
		expectEvery  time.Duration
		maxBackfill  time.Duration
		retroLookbck time.Duration
	}{
		{"scheduled by default", "{name: a}", TriggerSchedule, false, 16 * time.Minute, 0, 7 * 24 * time.Hour, 7 * 24 * time.Hour},
		{"interval and delay set the lag threshold", "{name: a, interval: 10m, delay: 5m}", TriggerSchedule, false, 35 * time.Minute, 0, 7 * 24 * time.Hour, 7 * 24 * time.Hour},
		{"manual: true is trigger: manual", "{name: a, manual: true}", TriggerManual, true, 0, 0, 7 * 24 * time.Hour, 7 * 24 * time.Hour},
		{"external: the install's interval, no schedule", "{name: a, trigger: external, interval: 15m}", TriggerExternal, true, 46 * time.Minute, 15 * time.Minute, 7 * 24 * time.Hour, 7 * 24 * time.Hour},
		{"max_lag set", "{name: a, max_lag: 2h}", TriggerSchedule, false, 2 * time.Hour, 0, 7 * 24 * time.Hour, 7 * 24 * time.Hour},
		{"longer backfills and retro-hunts", "{name: a, max_backfill: 30d, retro_lookback: 30d}", TriggerSchedule, false, 16 * time.Minute, 0, 30 * 24 * time.Hour, 30 * 24 * time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseConfig([]byte("detections: ["+tc.yaml+"]"), testEnv(nil))
			if err != nil {
				t.Fatal(err)
			}
			d := cfg.Detections[0]
			inc := d.Incremental.WithDefaults()
			if d.Trigger != tc.trigger || d.Manual != tc.manual || d.EffectiveMaxLag() != tc.maxLag || d.ExpectedTriggerEvery() != tc.expectEvery ||
				inc.MaxBackfill.D() != tc.maxBackfill || inc.RetroLookback.D() != tc.retroLookbck {
				t.Errorf("trigger %s manual %v max lag %s expect every %s max_backfill %s retro_lookback %s",
					d.Trigger, d.Manual, d.EffectiveMaxLag(), d.ExpectedTriggerEvery(), inc.MaxBackfill, inc.RetroLookback)
			}
		})
	}
}

func TestConfigNeverPrintsSecrets(t *testing.T) {
	cfg, err := ParseConfig([]byte(goodConfig), goodEnv)
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"%v", "%+v", "%#v"} {
		out := fmt.Sprintf(format, cfg) + fmt.Sprintf(format, *cfg) + fmt.Sprintf(format, cfg.Detections)
		for _, secret := range []string{"tok-0123456789abcdef", "hmac-0123456789abcdef", "s3cret-password"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s of the config shows a secret", format)
			}
		}
	}
}

func TestParseConfigErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		yaml string
		want string // substring of the error
	}{
		{"no detections", `listen: ":1"`, "no detections"},
		{"unknown key (typo)", "detections: [{name: a, intervall: 5m}]", "intervall"},
		{"bad name", "detections: [{name: Bad Name}]", "detection name"},
		{"dotted name", "detections: [{name: defender.ti}]", `detection name "defender.ti"`},
		{"name over 64", "detections: [{name: " + strings.Repeat("a", 65) + "}]", "1 to 64"},
		{"dotted name in settings", "detections: [{name: a, settings: {detection: x.y}}]", `detection name "x.y"`},
		{"duplicate", "detections: [{name: a}, {name: a}]", "twice"},
		{"bad duration", "detections: [{name: a, interval: soon}]", "invalid duration"},
		{"sub-second interval", "detections: [{name: a, interval: 10ms}]", "under 1s"},
		{"negative overlap", "detections: [{name: a, overlap: -5m}]", "negative"},
		{"token env unset", "webhook: {token_env: NOPE}\ndetections: [{name: a}]", "NOPE is empty or unset"},
		{"token file empty", "webhook: {token_file: " + empty + "}\ndetections: [{name: a}]", "is empty"},
		{"short token", "webhook: {token_env: SHORT}\ndetections: [{name: a}]", "shorter than 16"},
		{"env and file", "webhook: {token_env: EW_TOKEN, token_file: /x}\ndetections: [{name: a}]", "not both"},
		{"tls half", "tls: {cert_file: c.pem}\ndetections: [{name: a}]", "both cert_file and key_file"},
		{"secret without source", "detections: [{name: a, secrets: {password: {}}}]", "give env or file"},
		{"feed of unknown detection", "detections: [{name: a}]\nfeeds: [{path: /f, detections: [b]}]", `unknown detection "b"`},
		{"feed without path", "detections: [{name: a}]\nfeeds: [{detections: [a]}]", "path is required"},
		{"bad log format", "log: {format: xml}\ndetections: [{name: a}]", "log.format"},
		{"unknown trigger", "detections: [{name: a, trigger: cron}]", `trigger "cron": want schedule, external or manual`},
		{"manual and external", "detections: [{name: a, manual: true, trigger: external}]", "manual: true contradicts trigger: external"},
		{"negative max_lag", "detections: [{name: a, max_lag: -1m}]", "max_lag -1m0s is negative"},
		{"retro-hunt over the backfill limit", "detections: [{name: a, retro_lookback: 30d}]", "retro_lookback 30d is over max_backfill 7d"},
		{"tiny backfill limit", "defaults: {max_backfill: 10ms}\ndetections: [{name: a, retro_lookback: 1ms}]", "max_backfill 10ms is under 1s"},
	}
	env := testEnv(map[string]string{"EW_TOKEN": "tok-0123456789abcdef", "SHORT": "abc"})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.yaml), env)
			if err == nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrConfig containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "tok-0123456789abcdef") {
				t.Fatal("error shows the token")
			}
		})
	}
}

func TestSecretFromFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(p, []byte("file-token-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseConfig([]byte("webhook: {token_file: "+p+"}\ndetections: [{name: a}]"), testEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	if string(cfg.webhook.token) != "file-token-0123456789" {
		t.Fatalf("token %q: trailing newline not trimmed", cfg.webhook.token)
	}
}

func TestExampleConfig(t *testing.T) {
	cfg, err := LoadConfig("testdata/serve.example.yaml", testEnv(map[string]string{
		"EDGEWATCH_WEBHOOK_TOKEN": "example-token-0123456789", "EDGEWATCH_OPENSEARCH_PASSWORD": "pw",
		"EDGEWATCH_ELASTICSEARCH_API_KEY": "key",
	}))
	if err != nil {
		t.Fatal(err)
	}
	d, _ := cfg.Detection("defender-ti")
	w, _ := cfg.Detection("defender-ti-watcher")
	if len(cfg.Detections) != 2 || d.EffectiveInterval() != 5*time.Minute || d.Incremental.RetroLookback.D() != 7*24*time.Hour ||
		!w.Manual || w.SecretValues()["api_key"] != "key" || len(cfg.Feeds) != 1 || cfg.Path() != "testdata/serve.example.yaml" {
		t.Fatalf("example config %+v", cfg)
	}
}
