package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/internal/testproc"
	"github.com/edgewatch/edgewatch/plugin/wire"
	"github.com/google/go-cmp/cmp"
)

// harness runs Main against the helper plugin.
type harness struct {
	t         *testing.T
	pluginDir string
	dir       string // a scratch directory with input files
	stdin     string
	env       map[string]string
	dumpFile  string // where the fake plugin records its request (recordRequest)
}

func newHarness(t *testing.T, mode string) *harness {
	t.Helper()
	h := &harness{t: t, pluginDir: t.TempDir(), dir: t.TempDir(), env: map[string]string{}}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(exe, filepath.Join(h.pluginDir, "edgewatch-defender-ti")); err != nil {
		t.Fatal(err)
	}
	t.Setenv(envMode, mode)
	for _, f := range []string{"di.ndjson", "ev.ndjson", "ipsum.txt"} {
		h.write(f, "{}\n")
	}
	return h
}

func (h *harness) write(name, body string) string {
	p := filepath.Join(h.dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		h.t.Fatal(err)
	}
	return p
}

func (h *harness) inputs() []string {
	return []string{"--device-info", filepath.Join(h.dir, "di.ndjson"), "--network-events", filepath.Join(h.dir, "ev.ndjson"),
		"--feed", filepath.Join(h.dir, "ipsum.txt")}
}

func (h *harness) main(ctx context.Context, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	args = append([]string{"--plugin-dir", h.pluginDir}, args...)
	code = Main(ctx, args, Env{
		Stdin:      strings.NewReader(h.stdin),
		Stdout:     &out,
		Stderr:     &errb,
		Getenv:     func(k string) string { return h.env[k] },
		Executable: filepath.Join(h.t.TempDir(), "edgewatch"),
	})
	return code, out.String(), errb.String()
}

// recordRequest has the fake plugin record the request it gets, for
// dumped.
func (h *harness) recordRequest() {
	h.dumpFile = filepath.Join(h.t.TempDir(), "dump.json")
	h.t.Setenv(envDump, h.dumpFile)
}

// dumped is the request the fake plugin recorded (recordRequest).
func (h *harness) dumped() map[string]json.RawMessage {
	h.t.Helper()
	b, err := os.ReadFile(h.dumpFile)
	if err != nil {
		h.t.Fatalf("the plugin did not record its request: %v", err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		h.t.Fatal(err)
	}
	return m
}

func TestRunTableAndSummary(t *testing.T) {
	h := newHarness(t, "ok")
	code, out, errOut := h.main(context.Background(), append([]string{"run"}, append(h.inputs(), "--format", "table")...)...)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("table:\n%s", out)
	}
	if got := strings.Fields(lines[0]); !cmp.Equal(got, tableColumns) {
		t.Errorf("header %v", got)
	}
	if got, want := strings.Fields(lines[2]), []string{"2026-01-02T08:00:01Z", "web01.contoso.com", "45.155.205.233", "443", "nginx", "51516", "9", "critical"}; !cmp.Equal(got, want) {
		t.Errorf("row %v, want %v", got, want)
	}
	for _, w := range []string{
		"edgewatch: run fake-run finished",
		"indicators:     3 loaded, 1 dropped (private: 1), 1 invalid lines (ipsum.txt: lines 7)",
		"device info:    5 rows read, 1 skipped; 2 internet-facing ports on 1 devices",
		"skipped bad JSON: 1 (first: DeviceInfo.ndjson:5)",
		"network events: 8 rows read, 1 skipped, 3 candidates",
		"skipped bad RemoteIP: 1 (first: ev.ndjson:6)",
		"other tables (not read): DeviceInfo: 3, DeviceProcessEvents: 2",
		"missing columns: old.csv: RemoteIP, LocalPort",
		"alerts:         2 matched\n  written to:     stdout: 2 written (table)\n",
	} {
		if !strings.Contains(errOut, w) {
			t.Errorf("summary lacks %q:\n%s", w, errOut)
		}
	}
}

// TestRunSettingsAndSecrets: flags, config and secrets reach the plugin as
// the settings document and the secrets map.
func TestRunSettingsAndSecrets(t *testing.T) {
	h := newHarness(t, "ok")
	h.recordRequest()
	pw := h.write("pw.txt", "s3cret-from-file\n")
	h.env[EnvAPIKey] = "key-from-env"
	cfg := h.write("edgewatch.yaml", `
min_level: 2
facing_lookback: 7d
exclude_ports: [25]
feed_name: ipsum
group_by: [host.id, source.ip]
group_window: 12h
cluster:
  username: from-config
  alert_index: from-config-alerts
`)
	args := append(append([]string{"run"}, h.inputs()...), "--config", cfg, "--min-level", "4", "--from", "2026-01-01T00:00:00Z", "--to", "2026-01-02",
		"--allow", "198.18.0.0/15", "--allow", "1.2.3.4", "--exclude-port", "587", "--password-file", pw, "--feed-name", "corp",
		"--url", "https://127.0.0.1:9200", "--profile", "sentinel", "--out", filepath.Join(h.dir, "alerts.ndjson"), "--group-window", "1d")
	code, _, errOut := h.main(context.Background(), args...)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	got := h.dumped()
	var settings, want any
	_ = json.Unmarshal(got["settings"], &settings)
	_ = json.Unmarshal([]byte(`{"source":"file","trigger":"cli",
		"device_info":["`+filepath.Join(h.dir, "di.ndjson")+`"],"network_events":["`+filepath.Join(h.dir, "ev.ndjson")+`"],
		"feeds":["`+filepath.Join(h.dir, "ipsum.txt")+`"],"feed_name":"corp","min_level":4,
		"from":"2026-01-01T00:00:00Z","to":"2026-01-02T00:00:00Z","facing_lookback":"168h0m0s",
		"exclude_ports":[587],"allow":["198.18.0.0/15","1.2.3.4"],"group_by":["host.id","source.ip"],"group_window":"24h0m0s",
		"cluster":{"urls":["https://127.0.0.1:9200"],"username":"from-config","profile":"sentinel","alert_index":"from-config-alerts"}}`), &want)
	if diff := cmp.Diff(want, settings); diff != "" {
		t.Errorf("settings sent (-want +got):\n%s", diff)
	}
	if string(got["secrets"]) != `{"api_key":"key-from-env","password":"s3cret-from-file"}` {
		t.Errorf("secrets sent: %s", got["secrets"])
	}
	if strings.Contains(string(got["settings"]), "s3cret") || strings.Contains(errOut, "s3cret") {
		t.Error("a secret leaked into the settings or the log")
	}
}

// TestRunSinkSettings: --no-index and --allow-empty-feed (and their config
// keys) reach the plugin; --no-index only for cluster runs.
func TestRunSinkSettings(t *testing.T) {
	h := newHarness(t, "ok")
	h.recordRequest()
	cluster := []string{"--source", "opensearch", "--url", "http://127.0.0.1:9200", "--device-info-index", "di", "--network-events-index", "ev",
		"--feed", filepath.Join(h.dir, "ipsum.txt")}
	cfg := h.write("sinks.yaml", "allow_empty_feed: true\ncluster:\n  no_index: true\n")
	tests := map[string]struct {
		args       []string
		noIndex    bool
		allowEmpty bool
		summary    string
	}{
		"file run":              {args: h.inputs()},
		"cluster run":           {args: cluster},
		"flags":                 {args: append(slices.Clone(cluster), "--no-index", "--allow-empty-feed"), noIndex: true, allowEmpty: true, summary: "(--no-index)"},
		"config":                {args: append(slices.Clone(cluster), "--config", cfg), noIndex: true, allowEmpty: true, summary: "(--no-index)"},
		"flags override config": {args: append(slices.Clone(cluster), "--config", cfg, "--no-index=false", "--allow-empty-feed=false")},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			code, _, errOut := h.main(context.Background(), append([]string{"run", "--out", filepath.Join(h.dir, "a.ndjson")}, tc.args...)...)
			if code != ExitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var s wire.Settings
			if err := json.Unmarshal(h.dumped()["settings"], &s); err != nil {
				t.Fatal(err)
			}
			if got := s.Cluster != nil && s.Cluster.NoIndex; got != tc.noIndex || s.AllowEmptyFeed != tc.allowEmpty {
				t.Errorf("no_index %v, allow_empty_feed %v; want %v, %v", got, s.AllowEmptyFeed, tc.noIndex, tc.allowEmpty)
			}
			if tc.summary != "" && !strings.Contains(errOut, tc.summary) {
				t.Errorf("summary lacks %q:\n%s", tc.summary, errOut)
			}
		})
	}
}

func TestRunWritesOutputFile(t *testing.T) {
	h := newHarness(t, "ok")
	out := filepath.Join(h.dir, "alerts.ndjson")
	code, stdout, errOut := h.main(context.Background(), append(append([]string{"run"}, h.inputs()...), "--out", out)...)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if stdout != "" {
		t.Errorf("stdout should be empty with --out: %q", stdout)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if want := "{\"event\":{\"id\":\"id-0\"}}\n{\"event\":{\"id\":\"id-1\"}}\n"; string(b) != want {
		t.Errorf("output %q, want %q", b, want)
	}
	assertNoTemps(t, h.dir)
	if !strings.Contains(errOut, "written to:     file "+out+": 2 written (ndjson)") {
		t.Errorf("summary: %s", errOut)
	}

	// The plugin wrote the documents into the output's temporary file
	// itself (plugin.RunRequest.AlertFile); the same output, the same
	// summary.
	code, _, errOut = h.main(context.Background(), append(append([]string{"run", "--log-level", "debug"}, h.inputs()...), "--out", out)...)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if b, err := os.ReadFile(out); err != nil || string(b) != "{\"event\":{\"id\":\"id-0\"}}\n{\"event\":{\"id\":\"id-1\"}}\n" {
		t.Errorf("output %q (%v)", b, err)
	}
	if !strings.Contains(errOut, "the plugin wrote the alert documents") || !strings.Contains(errOut, "2 written (ndjson)") {
		t.Errorf("the plugin did not write the output file itself:\n%s", errOut)
	}
	assertNoTemps(t, h.dir)
}

func assertNoTemps(t *testing.T, dir string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}

// waitFile polls for a file for up to 20 s (a watchdog, not a timing test).
func waitFile(t *testing.T, path string) []byte {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			return b
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s never appeared", path)
	return nil
}

// TestRunPluginKilledMidRun: the host reports the crash in one line, exits
// 1, and leaves no output file (not even a half-written one).
func TestRunPluginKilledMidRun(t *testing.T) {
	h := newHarness(t, "block")
	pidFile := filepath.Join(t.TempDir(), "pid")
	t.Setenv(envPid, pidFile)
	out := filepath.Join(h.dir, "alerts.ndjson")
	type result struct {
		code   int
		stderr string
	}
	done := make(chan result, 1)
	go func() {
		code, _, errOut := h.main(context.Background(), append(append([]string{"run"}, h.inputs()...), "--out", out)...)
		done <- result{code, errOut}
	}()
	pid, _ := strconv.Atoi(string(waitFile(t, pidFile)))
	if err := testproc.Kill(pid); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.code != ExitError {
		t.Errorf("exit %d, want %d", r.code, ExitError)
	}
	lines := nonLogLines(r.stderr)
	if len(lines) != 1 || !strings.Contains(lines[0], "edgewatch: plugin edgewatch-defender-ti (pid "+strconv.Itoa(pid)+"): plugin exited unexpectedly during run") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("output file exists after a crash: %v", err)
	}
	assertNoTemps(t, h.dir)
}

// nonLogLines drops slog text lines (time=... level=...).
func nonLogLines(s string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l != "" && !strings.HasPrefix(l, "time=") {
			out = append(out, l)
		}
	}
	return out
}

// TestRunCancelled: cancelling (Ctrl-C) stops the plugin, which sees the
// cancellation; no plugin process is left and no output file is written.
func TestRunCancelled(t *testing.T) {
	h := newHarness(t, "block")
	pidFile := filepath.Join(t.TempDir(), "pid")
	marker := filepath.Join(t.TempDir(), "marker")
	t.Setenv(envPid, pidFile)
	t.Setenv(envMarker, marker)
	out := filepath.Join(h.dir, "alerts.ndjson")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		code   int
		stderr string
	}
	done := make(chan result, 1)
	go func() {
		code, _, errOut := h.main(ctx, append(append([]string{"run"}, h.inputs()...), "--out", out)...)
		done <- result{code, errOut}
	}()
	pid, _ := strconv.Atoi(string(waitFile(t, pidFile)))
	cancel()
	r := <-done
	if r.code != ExitError || !strings.Contains(r.stderr, "edgewatch: cancelled") {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	waitFile(t, marker)
	if !testproc.Gone(pid) {
		t.Errorf("plugin pid %d still exists after cancellation", pid)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("output file exists after cancellation: %v", err)
	}
	assertNoTemps(t, h.dir)
}

func TestUsageErrors(t *testing.T) {
	h := newHarness(t, "ok")
	badCfg := h.write("bad.yaml", "min_levle: 3\n")
	tests := map[string]struct {
		args []string
		code int
		want string
	}{
		"unknown flag":      {args: []string{"run", "--bogus"}, code: ExitUsage, want: "edgewatch: unknown flag: --bogus"},
		"unknown command":   {args: []string{"frobnicate"}, code: ExitUsage, want: `unknown command "frobnicate"`},
		"extra argument":    {args: []string{"run", "extra"}, code: ExitUsage, want: `unknown command "extra"`},
		"missing file":      {args: []string{"run", "--device-info", filepath.Join(h.dir, "nope.ndjson"), "--network-events", "x", "--feed", "y"}, code: ExitUsage, want: "edgewatch: --device-info " + filepath.Join(h.dir, "nope.ndjson") + ": no such file or directory"},
		"bad format":        {args: append([]string{"run", "--format", "xml"}, h.inputs()...), code: ExitUsage, want: `edgewatch: --format "xml": want ndjson or table`},
		"bad from":          {args: append([]string{"run", "--from", "yesterday"}, h.inputs()...), code: ExitUsage, want: `edgewatch: --from: invalid time "yesterday"`},
		"window backwards":  {args: append([]string{"run", "--from", "now", "--to", "-1h"}, h.inputs()...), code: ExitUsage, want: "is not before --to"},
		"bad lookback":      {args: append([]string{"run", "--facing-lookback", "a while"}, h.inputs()...), code: ExitUsage, want: "--facing-lookback"},
		"bad port":          {args: append([]string{"run", "--exclude-port", "70000"}, h.inputs()...), code: ExitUsage, want: "--exclude-port 70000: not a port number"},
		"bad source":        {args: []string{"run", "--source", "splunk"}, code: ExitUsage, want: `--source "splunk"`},
		"bad log format":    {args: []string{"--log-format", "xml", "version"}, code: ExitUsage, want: `--log-format "xml"`},
		"bad config key":    {args: []string{"--config", badCfg, "version"}, code: ExitUsage, want: "field min_levle not found"},
		"missing config":    {args: []string{"--config", filepath.Join(h.dir, "none.yaml"), "version"}, code: ExitUsage, want: "no such file"},
		"bad checksum flag": {args: append([]string{"--plugin-sha256", "xyz", "run"}, h.inputs()...), code: ExitUsage, want: "--plugin-sha256"},
		"missing password file": {args: append([]string{"run", "--password-file", filepath.Join(h.dir, "nopw")}, h.inputs()...),
			code: ExitUsage, want: "--password-file " + filepath.Join(h.dir, "nopw") + ": no such file or directory"},
		"plugin diagnostic": {args: append([]string{"run", "--config", h.write("d.yaml", "feed_name: invalid\n")}, h.inputs()...),
			code: ExitUsage, want: "edgewatch: settings: feed_name: bad feed name (invalid)"},
		"four group fields": {args: append([]string{"run", "--group-by", "host.id,source.ip,destination.port,process.name"}, h.inputs()...),
			code: ExitUsage, want: "--group-by host.id,source.ip,destination.port,process.name: at most 3 fields"},
		"group window alone":      {args: append([]string{"run", "--group-window", "6h"}, h.inputs()...), code: ExitUsage, want: "--group-window needs --group-by"},
		"bad group window":        {args: append([]string{"run", "--group-by", "host.id", "--group-window", "daily"}, h.inputs()...), code: ExitUsage, want: `--group-window "daily"`},
		"feed without subcommand": {args: []string{"feed"}, code: ExitUsage, want: "feed: want a subcommand"},
		"feed load without file":  {args: []string{"feed", "load"}, code: ExitUsage, want: "--file is required"},
		"password not UTF-8": {args: append([]string{"run", "--password-file", h.write("latin1.txt", "caf\xe9\n")}, h.inputs()...),
			code: ExitUsage, want: "the secret is not valid UTF-8"},
		"no index and an alert index": {args: []string{"run", "--source", "opensearch", "--url", "http://127.0.0.1:1", "--no-index", "--alert-index", "edgewatch-alerts-x"},
			code: ExitUsage, want: "--no-index writes no alert index"},
		"out into a missing directory": {args: append([]string{"run", "--out", filepath.Join(h.dir, "nodir", "a.ndjson")}, h.inputs()...),
			code: ExitUsage, want: "--out: create output"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			code, _, errOut := h.main(context.Background(), tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, errOut)
			}
			lines := nonLogLines(errOut)
			if len(lines) != 1 || !strings.Contains(lines[0], tc.want) {
				t.Errorf("stderr should be one line containing %q, got:\n%s", tc.want, errOut)
			}
		})
	}
}

func TestSeveralDiagnostics(t *testing.T) {
	h := newHarness(t, "ok")
	cfg := h.write("d.yaml", "rule_name: two-errors\n")
	code, _, errOut := h.main(context.Background(), append([]string{"run", "--config", cfg}, h.inputs()...)...)
	if code != ExitUsage {
		t.Errorf("exit %d", code)
	}
	if want := "edgewatch: settings: rule_name: first\nedgewatch: settings: rule_id: second\n"; errOut != want {
		t.Errorf("stderr %q, want %q", errOut, want)
	}
}

func TestRunErrorsNamePlugin(t *testing.T) {
	h := newHarness(t, "ok")
	tests := map[string]struct {
		args []string
		want string
	}{
		"plugin missing": {args: append([]string{"--plugin-dir", t.TempDir(), "run"}, h.inputs()...),
			want: "edgewatch: plugin not found: edgewatch-defender-ti"},
		"wrong checksum": {args: append([]string{"--plugin-sha256", strings.Repeat("00", 32), "run"}, h.inputs()...),
			want: "edgewatch: plugin checksum mismatch:"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var code int
			var errOut string
			if name == "plugin missing" {
				// Only the empty directory: no --plugin-dir of the harness.
				var out, eb bytes.Buffer
				code = Main(context.Background(), tc.args, Env{Stdout: &out, Stderr: &eb, Executable: filepath.Join(t.TempDir(), "edgewatch")})
				errOut = eb.String()
			} else {
				code, _, errOut = h.main(context.Background(), tc.args...)
			}
			if code != ExitError {
				t.Errorf("exit %d, want %d", code, ExitError)
			}
			lines := nonLogLines(errOut)
			if len(lines) != 1 || !strings.HasPrefix(lines[0], tc.want) {
				t.Errorf("stderr should be one line starting %q:\n%s", tc.want, errOut)
			}
		})
	}
}

// TestFeedLoadFromStdin: --file - sends the feed itself in the typed
// args (no file for the plugin to read); --set fills an argument that has
// no flag and refuses one the operation does not take.
func TestFeedLoadFromStdin(t *testing.T) {
	h := newHarness(t, "ok")
	h.recordRequest()
	h.stdin = "1.2.3.4\t5\n5.6.7.8\t3\n"
	h.env[EnvPassword] = "pw-env"
	code, out, errOut := h.main(context.Background(), "feed", "load", "--file", "-", "--min-level", "3", "--source", "opensearch",
		"--url", "https://127.0.0.1:9200", "--username", "admin", "--set", "keep_previous=2")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var res wire.FeedLoadResult
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Loaded != 2 || res.Feed != "ipsum" {
		t.Errorf("result %q: %v", out, err)
	}
	got := h.dumped()
	var args wire.FeedLoadArgs
	if err := json.Unmarshal(got["args"], &args); err != nil {
		t.Fatal(err)
	}
	if args.Name != "ipsum" || args.MinLevel == nil || *args.MinLevel != 3 || args.KeepPrevious != 2 ||
		string(args.Content) != h.stdin || args.File != "" || args.Settings.Source != "opensearch" {
		t.Errorf("args %s", got["args"])
	}
	if string(got["secrets"]) != `{"password":"pw-env"}` || strings.Contains(string(got["args"]), "pw-env") {
		t.Errorf("secrets %s / args %s", got["secrets"], got["args"])
	}

	code, _, errOut = h.main(context.Background(), "feed", "load", "--file", "-", "--opensearch", "https://127.0.0.1:9200", "--set", "replace=true")
	if code != ExitUsage || !strings.Contains(errOut, `unknown field "replace"`) {
		t.Errorf("unknown --set key: exit %d: %s", code, errOut)
	}
}

// TestOps: the host renders a cluster report from the data the plugin
// streams and answers; an operation the plugin lacks names what it offers.
func TestOps(t *testing.T) {
	h := newHarness(t, "ok")
	report := filepath.Join(h.dir, "report.html")
	code, _, errOut := h.main(context.Background(), "report", "--opensearch", "https://127.0.0.1:9200", "--alert-index", "edgewatch-alerts-x", "--out", report)
	if code != ExitOK {
		t.Fatalf("report: exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "report of 1 alerts written to "+report) {
		t.Errorf("stderr %q", errOut)
	}
	b, _ := os.ReadFile(report)
	for _, want := range []string{"fake index edgewatch-alerts-x (the newest 1 of 3 alerts)", `id="feed-total">42<`, "45.155.205.233",
		"edgewatch-alerts-x:2: alert has no @timestamp", `<td>d</td><td>success</td>`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("report page lacks %q", want)
		}
	}
	code, _, errOut = h.main(context.Background(), "install")
	if code != ExitError || !strings.Contains(errOut, `edgewatch: operation "install" is not available in plugin edgewatch-defender-ti (it offers: feed.load, report)`) {
		t.Errorf("unregistered op: exit %d: %s", code, errOut)
	}
}

// TestReportFromFileNeedsNoPlugin: report --alerts renders in the host.
func TestReportFromFileNeedsNoPlugin(t *testing.T) {
	h := newHarness(t, "ok")
	alerts := h.write("alerts.ndjson", `{"@timestamp":"2026-01-02T08:00:00Z","event":{"id":"a1","severity":73},"source":{"ip":"45.155.205.233"},"edgewatch":{"severity":"high"}}`+"\n")
	report := filepath.Join(h.dir, "file-report.html")
	// No plugin anywhere: the host must not need one.
	var out, eb bytes.Buffer
	code := Main(context.Background(), []string{"--plugin-dir", t.TempDir(), "report", "--alerts", alerts, "--out", report},
		Env{Stdout: &out, Stderr: &eb, Executable: filepath.Join(t.TempDir(), "edgewatch")})
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, eb.String())
	}
	if b, _ := os.ReadFile(report); !strings.Contains(string(b), "alerts file "+alerts) || !strings.Contains(string(b), "45.155.205.233") {
		t.Errorf("report page %.300s", b)
	}
}

func TestOpsWithoutAdmin(t *testing.T) {
	h := newHarness(t, "noadmin")
	code, _, errOut := h.main(context.Background(), "feed", "status")
	if code != ExitError || !strings.Contains(errOut, "edgewatch: plugin edgewatch-defender-ti: plugin does not support admin operations (feed.status)") {
		t.Errorf("exit %d: %s", code, errOut)
	}
}

func TestPluginsCommand(t *testing.T) {
	h := newHarness(t, "ok")
	code, out, errOut := h.main(context.Background(), "plugins")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "NAME") {
		t.Fatalf("listing:\n%s", out)
	}
	f := strings.Fields(lines[1])
	path := filepath.Join(h.pluginDir, "edgewatch-defender-ti")
	if want := []string{"edgewatch-defender-ti", "v9.9.9-fake", "-", "-", "1", "feed.load,report", "-", path, "ok"}; !cmp.Equal(f, want) {
		t.Errorf("row %v, want %v", f, want)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	code, out, errOut = h.main(context.Background(), "--plugin-sha256", "edgewatch-defender-ti="+hex.EncodeToString(sum[:]), "plugins")
	if f := strings.Fields(out); code != ExitOK || !slices.Contains(f, "verified") {
		t.Errorf("listing with the right checksum: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = h.main(context.Background(), "--plugin-sha256", "edgewatch-defender-ti="+strings.Repeat("00", 32), "plugins")
	if code != ExitError || !strings.Contains(out, "error: plugin checksum mismatch") {
		t.Errorf("listing with a wrong checksum: exit %d\n%s", code, out)
	}
}

func TestVersionCommand(t *testing.T) {
	h := newHarness(t, "ok")
	code, out, _ := h.main(context.Background(), "version")
	if code != ExitOK || !strings.HasPrefix(out, "edgewatch ") || !strings.Contains(out, "plugin protocol: 1") {
		t.Errorf("exit %d: %q", code, out)
	}
}

func TestConfigRelativePaths(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(p, []byte("device_info: data/di.ndjson\nfeeds: [/abs/ipsum.txt, rel.txt]\nplugin_dir: plugins\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(StringList{filepath.Join(dir, "data/di.ndjson")}, c.DeviceInfo); diff != "" {
		t.Error(diff)
	}
	if diff := cmp.Diff(StringList{"/abs/ipsum.txt", filepath.Join(dir, "rel.txt")}, c.Feeds); diff != "" {
		t.Error(diff)
	}
	if diff := cmp.Diff(StringList{filepath.Join(dir, "plugins")}, c.PluginDir); diff != "" {
		t.Error(diff)
	}
}

// TestRunTimeout: the config's timeout cancels the plugin like Ctrl-C does.
func TestRunTimeout(t *testing.T) {
	h := newHarness(t, "block")
	cfg := h.write("t.yaml", "timeout: 300ms\n")
	code, _, errOut := h.main(context.Background(), append([]string{"--config", cfg, "run"}, h.inputs()...)...)
	if code != ExitError || !strings.HasPrefix(errOut, "edgewatch: timed out") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}
