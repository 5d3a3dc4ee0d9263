package servecmd

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLogOutputUnderSystemd: under systemd serve logs JSON lines to stdout
// (journald) unless the configuration or --log-format picks a format;
// elsewhere it logs text to stderr.
func TestLogOutputUnderSystemd(t *testing.T) {
	pluginDir := buildFakePlugin(t)
	cases := map[string]struct {
		env        map[string]string
		configLog  string
		flags      []string
		wantStdout bool   // the log lines are on stdout, not stderr
		wantLine   string // how the "plugin started" line looks
	}{
		"terminal":                 {wantLine: `msg="plugin started"`},
		"terminal, json in config": {configLog: "log: {format: json}\n", wantLine: `"msg":"plugin started"`},
		"systemd service":          {env: map[string]string{"INVOCATION_ID": "0123"}, wantStdout: true, wantLine: `"msg":"plugin started"`},
		"journal stream":           {env: map[string]string{"JOURNAL_STREAM": "8:1234"}, wantStdout: true, wantLine: `"msg":"plugin started"`},
		"systemd, text in config":  {env: map[string]string{"INVOCATION_ID": "0123"}, configLog: "log: {format: text}\n", wantStdout: true, wantLine: `msg="plugin started"`},
		"systemd, text flag":       {env: map[string]string{"INVOCATION_ID": "0123"}, flags: []string{"--log-format", "text"}, wantStdout: true, wantLine: `msg="plugin started"`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			cfgPath := filepath.Join(t.TempDir(), "serve.yaml")
			if err := os.WriteFile(cfgPath, []byte(c.configLog+"detections: [{name: alpha, settings: {source: opensearch}}]\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := root(Options{Getenv: func(k string) string { return c.env[k] }, Executable: func() string { return "/nonexistent/edgewatch" }})
			var stdout, stderr bytes.Buffer
			cmd.SetOut(&stdout)
			cmd.SetErr(&stderr)
			cmd.SetArgs(append([]string{"serve", "--config", cfgPath, "--plugin-dir", pluginDir, "--check"}, c.flags...))
			if err := cmd.Execute(); err != nil {
				t.Fatalf("check: %v\n%s", err, stderr.String())
			}
			logs, other := stderr.String(), stdout.String()
			if c.wantStdout {
				logs, other = other, logs
			}
			if !strings.Contains(logs, c.wantLine) {
				t.Errorf("log output lacks %s:\n%s", c.wantLine, logs)
			}
			if strings.Contains(other, "plugin started") {
				t.Errorf("log lines on the other stream too:\n%s", other)
			}
			if !strings.Contains(stdout.String(), "configuration OK") {
				t.Errorf("stdout lacks the check result:\n%s", stdout.String())
			}
		})
	}
}
