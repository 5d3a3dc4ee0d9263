package dashboards

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

const testToken = "s3cr3t-T0ken_value~+/=="

func params() TriggerParams {
	return TriggerParams{URL: "https://edgewatch.soc.example:8443", Token: testToken, Detection: "defender-ti"}
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, b)
	}
	return m
}

// build is newDoc(p); an error ends the test.
func build(t *testing.T, newDoc func(TriggerParams) ([]byte, error), p TriggerParams) []byte {
	t.Helper()
	b, err := newDoc(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// get walks a decoded JSON document by keys and array indices.
func get(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("path %v: %v is not an object", path, v)
			}
			v, ok = m[k]
			if !ok {
				t.Fatalf("path %v: no key %q", path, k)
			}
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				t.Fatalf("path %v: no index %d", path, k)
			}
			v = a[k]
		}
	}
	return v
}

func keys(v any) []string {
	m, _ := v.(map[string]any)
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// subset fails when v has keys the documented API does not list.
func subset(t *testing.T, what string, v any, documented ...string) {
	t.Helper()
	for _, k := range keys(v) {
		if !slices.Contains(documented, k) {
			t.Errorf("%s: key %q is not in the documented API %v", what, k, documented)
		}
	}
}

func TestWatcherDefinitionShape(t *testing.T) {
	b := build(t, WatcherDefinition, params())
	w := decode(t, b)
	// dashboards-formats.md §3: a watch is trigger + input + condition +
	// actions, plus optional metadata, transform and throttle_period.
	subset(t, "watch", w, "trigger", "input", "condition", "actions", "metadata", "transform", "throttle_period")
	if got := get(t, w, "trigger", "schedule", "interval"); got != "5m" {
		t.Errorf("interval %v, want 5m", got)
	}
	if got := keys(get(t, w, "input")); !slices.Equal(got, []string{"simple"}) {
		t.Errorf("input %v", got)
	}
	if got := keys(get(t, w, "condition")); !slices.Equal(got, []string{"always"}) {
		t.Errorf("condition %v", got)
	}
	if got := get(t, w, "metadata", "detection"); got != "defender-ti" {
		t.Errorf("metadata.detection %v", got)
	}
	hook := get(t, w, "actions", "edgewatch_run", "webhook")
	subset(t, "webhook", hook, "scheme", "host", "port", "path", "method", "headers", "params", "auth", "body", "proxy", "connection_timeout", "read_timeout", "url")
	for k, want := range map[string]any{
		"scheme": "https", "host": "edgewatch.soc.example", "port": 8443.0, "method": "post",
		"path": "/v1/detections/defender-ti/run",
	} {
		if got := get(t, hook, k); got != want {
			t.Errorf("webhook.%s = %#v, want %#v", k, got, want)
		}
	}
	if got := get(t, hook, "headers", "Authorization"); got != "Bearer "+testToken {
		t.Errorf("Authorization header %v", got)
	}
	if got := get(t, hook, "headers", "Content-Type"); got != "application/json" {
		t.Errorf("Content-Type %v", got)
	}
	body := decode(t, []byte(get(t, hook, "body").(string)))
	want := map[string]any{"source": "watcher", "watch_id": "{{ctx.watch_id}}", "scheduled_time": "{{ctx.trigger.scheduled_time}}"}
	if fmt.Sprint(body) != fmt.Sprint(want) {
		t.Errorf("body %v, want %v", body, want)
	}
	if n := bytes.Count(b, []byte(testToken)); n != 1 {
		t.Errorf("token appears %d times, want exactly once (the header)", n)
	}
}

func TestWatcherIntervalAndBasePath(t *testing.T) {
	tests := []struct {
		name     string
		url      string
		interval time.Duration
		wantIv   string
		wantPort float64
		wantPath string
	}{
		{"default", "http://127.0.0.1:8088", 0, "5m", 8088, "/v1/detections/d/run"},
		{"seconds", "http://127.0.0.1:8088/", 90 * time.Second, "90s", 8088, "/v1/detections/d/run"},
		{"hours as minutes", "https://h.example/edgewatch/", 2 * time.Hour, "120m", 443, "/edgewatch/v1/detections/d/run"},
		{"http default port", "http://h.example/base", time.Minute, "1m", 80, "/base/v1/detections/d/run"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := build(t, WatcherDefinition, TriggerParams{URL: tc.url, Token: "t", Detection: "d", Interval: tc.interval})
			w := decode(t, b)
			if got := get(t, w, "trigger", "schedule", "interval"); got != tc.wantIv {
				t.Errorf("interval %v, want %s", got, tc.wantIv)
			}
			hook := get(t, w, "actions", "edgewatch_run", "webhook")
			if got := get(t, hook, "port"); got != tc.wantPort {
				t.Errorf("port %v", got)
			}
			if got := get(t, hook, "path"); got != tc.wantPath {
				t.Errorf("path %v", got)
			}
		})
	}
}

func TestNotificationChannelShape(t *testing.T) {
	b := build(t, NotificationChannel, params())
	c := decode(t, b)
	// dashboards-formats.md §4.1.
	subset(t, "channel", c, "config_id", "config")
	subset(t, "config", get(t, c, "config"), "name", "description", "config_type", "is_enabled", "webhook")
	subset(t, "webhook", get(t, c, "config", "webhook"), "url", "header_params", "method")
	for _, tc := range []struct {
		path []any
		want any
	}{
		{[]any{"config_id"}, "edgewatch-defender-ti"},
		{[]any{"config", "config_type"}, "webhook"},
		{[]any{"config", "is_enabled"}, true},
		{[]any{"config", "webhook", "url"}, "https://edgewatch.soc.example:8443/v1/detections/defender-ti/run"},
		{[]any{"config", "webhook", "method"}, "POST"},
		{[]any{"config", "webhook", "header_params", "Authorization"}, "Bearer " + testToken},
		{[]any{"config", "webhook", "header_params", "Content-Type"}, "application/json"},
	} {
		if got := get(t, c, tc.path...); got != tc.want {
			t.Errorf("%v = %#v, want %#v", tc.path, got, tc.want)
		}
	}
	p := params()
	p.ChannelID = "my-channel"
	b = build(t, NotificationChannel, p)
	if got := get(t, decode(t, b), "config_id"); got != "my-channel" {
		t.Errorf("custom config_id %v", got)
	}
}

func TestAlertingMonitorShape(t *testing.T) {
	b := build(t, AlertingMonitor, params())
	m := decode(t, b)
	// dashboards-formats.md §4.2.
	subset(t, "monitor", m, "type", "monitor_type", "name", "enabled", "schedule", "inputs", "triggers")
	for _, tc := range []struct {
		path []any
		want any
	}{
		{[]any{"type"}, "monitor"},
		{[]any{"monitor_type"}, "query_level_monitor"},
		{[]any{"name"}, "edgewatch-defender-ti"},
		{[]any{"enabled"}, true},
		{[]any{"schedule", "period", "interval"}, 5.0},
		{[]any{"schedule", "period", "unit"}, "MINUTES"},
		{[]any{"inputs", 0, "search", "indices", 0}, StateIndex},
		{[]any{"inputs", 0, "search", "query", "size"}, 0.0},
		{[]any{"triggers", 0, "condition", "script", "lang"}, "painless"},
		{[]any{"triggers", 0, "condition", "script", "source"}, "return true"},
		{[]any{"triggers", 0, "actions", 0, "destination_id"}, "edgewatch-defender-ti"},
		{[]any{"triggers", 0, "actions", 0, "message_template", "lang"}, "mustache"},
	} {
		if got := get(t, m, tc.path...); got != tc.want {
			t.Errorf("%v = %#v, want %#v", tc.path, got, tc.want)
		}
	}
	sev := get(t, m, "triggers", 0, "severity").(string)
	if !slices.Contains([]string{"1", "2", "3", "4", "5"}, sev) {
		t.Errorf("severity %q not in 1..5", sev)
	}
	subset(t, "action", get(t, m, "triggers", 0, "actions", 0), "name", "destination_id", "subject_template", "message_template", "throttle_enabled", "throttle", "action_execution_policy")
	msg := get(t, m, "triggers", 0, "actions", 0, "message_template", "source").(string)
	body := decode(t, []byte(msg))
	if body["source"] != "opensearch-alerting" {
		t.Errorf("message body source %v", body["source"])
	}
	// Alerting's Mustache indexes arrays with .0, not [0].
	if strings.Contains(msg, "[") {
		t.Errorf("message template uses [] indexing: %s", msg)
	}
	for _, m := range regexp.MustCompile(`\{\{([^}]*)\}\}`).FindAllStringSubmatch(msg, -1) {
		if !strings.HasPrefix(m[1], "ctx.") {
			t.Errorf("message placeholder {{%s}} is not a ctx variable", m[1])
		}
	}
	// The monitor does not carry the token: the channel does.
	if bytes.Contains(b, []byte(testToken)) {
		t.Error("monitor embeds the token")
	}

	p := params()
	p.Interval = 15 * time.Minute
	b = build(t, AlertingMonitor, p)
	if got := get(t, decode(t, b), "schedule", "period", "interval"); got != 15.0 {
		t.Errorf("interval %v, want 15", got)
	}
	p.Interval = 90 * time.Second
	if _, err := AlertingMonitor(p); !errors.Is(err, ErrInvalidTrigger) {
		t.Errorf("90s monitor: err %v, want ErrInvalidTrigger", err)
	}
}

func TestTriggerValidation(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*TriggerParams)
		want string
	}{
		{"no detection", func(p *TriggerParams) { p.Detection = "" }, "detection name"},
		{"detection with slash", func(p *TriggerParams) { p.Detection = "a/b" }, "detection name"},
		{"detection with mustache", func(p *TriggerParams) { p.Detection = "{{x}}" }, "detection name"},
		{"no token", func(p *TriggerParams) { p.Token = "" }, "token is required"},
		{"token with quote", func(p *TriggerParams) { p.Token = `abc"def` }, "RFC 6750"},
		{"token with mustache", func(p *TriggerParams) { p.Token = "{{ctx.payload}}" }, "RFC 6750"},
		{"token with space", func(p *TriggerParams) { p.Token = "abc def" }, "RFC 6750"},
		{"ftp url", func(p *TriggerParams) { p.URL = "ftp://h:21/x" }, "scheme must be http or https"},
		{"relative url", func(p *TriggerParams) { p.URL = "/v1" }, "scheme"},
		{"url with credentials", func(p *TriggerParams) { p.URL = "https://user:pw-in-url@h:1" }, "credentials"},
		{"url with query", func(p *TriggerParams) { p.URL = "https://h:1/?a=b" }, "without query"},
		{"bad port", func(p *TriggerParams) { p.URL = "https://h:99999" }, "bad port"},
		{"sub-second interval", func(p *TriggerParams) { p.Interval = 1500 * time.Millisecond }, "whole seconds"},
		{"bad channel id", func(p *TriggerParams) { p.ChannelID = "a b" }, "channel id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := params()
			tc.mod(&p)
			for name, f := range map[string]func(TriggerParams) ([]byte, error){
				"watcher": WatcherDefinition, "channel": NotificationChannel, "monitor": AlertingMonitor,
			} {
				if name == "channel" && strings.Contains(tc.name, "interval") {
					continue // the channel has no schedule
				}
				_, err := f(p)
				if err == nil || !errors.Is(err, ErrInvalidTrigger) || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%s: err = %v, want ErrInvalidTrigger with %q", name, err, tc.want)
					continue
				}
				for _, secret := range []string{p.Token, "pw-in-url"} {
					if secret != "" && strings.Contains(err.Error(), secret) {
						t.Errorf("%s: error leaks a secret: %v", name, err)
					}
				}
			}
		})
	}
}

// TestTriggerParamsNeverLogTheToken: every way the params can reach a log
// line or an error string redacts the token.
func TestTriggerParamsNeverLogTheToken(t *testing.T) {
	p := params()
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("installing trigger", "params", p)
	log.Info("installing trigger", slog.Any("p", p))
	slog.New(slog.NewTextHandler(&buf, nil)).Info("text", "params", p)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		fmt.Fprintf(&buf, verb+"\n", p)
		fmt.Fprintf(&buf, verb+"\n", &p)
	}
	fmt.Fprintln(&buf, fmt.Errorf("wrapped: %v", p))
	out := buf.String()
	if strings.Contains(out, testToken) || strings.Contains(out, "s3cr3t") {
		t.Fatalf("token leaked into log output:\n%s", out)
	}
	if !strings.Contains(out, "edgewatch.soc.example") || !strings.Contains(out, redacted) {
		t.Fatalf("log output lost the useful fields:\n%s", out)
	}
	// A URL with credentials is redacted too.
	p.URL = "https://u:hunter2@h:1"
	if s := fmt.Sprint(p); strings.Contains(s, "hunter2") {
		t.Errorf("URL password leaked: %s", s)
	}
}
