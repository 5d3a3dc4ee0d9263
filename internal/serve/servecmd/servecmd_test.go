package servecmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/edgewatch/edgewatch/internal/serve"
	"github.com/edgewatch/edgewatch/internal/serve/servetest"
	"github.com/edgewatch/edgewatch/internal/testlog"
)

const token = "tok-0123456789abcdef"

// buildFakePlugin compiles testdata/fakeplugin as edgewatch-defender-ti.
func buildFakePlugin(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go tool not on PATH: %v", err)
	}
	dir := t.TempDir()
	out, err := exec.Command(gobin, "build", "-o", filepath.Join(dir, "edgewatch-defender-ti"), "./testdata/fakeplugin").CombinedOutput()
	if err != nil {
		t.Fatalf("build fake plugin: %v\n%s", err, out)
	}
	return dir
}

// root mimics the edgewatch root command's persistent flags.
func root(o Options) *cobra.Command {
	r := &cobra.Command{Use: "edgewatch", SilenceUsage: true, SilenceErrors: true,
		PersistentPreRunE: func(*cobra.Command, []string) error {
			return fmt.Errorf("the root set-up ran for serve")
		}}
	pf := r.PersistentFlags()
	pf.String("config", "", "")
	pf.String("log-format", "text", "")
	pf.String("log-level", "info", "")
	pf.StringArray("plugin-dir", nil, "")
	pf.StringArray("plugin-sha256", nil, "")
	r.AddCommand(Command(o))
	return r
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestServeWithARealPluginProcess(t *testing.T) {
	pluginDir := buildFakePlugin(t)
	cfgPath := filepath.Join(t.TempDir(), "serve.yaml")
	if err := os.WriteFile(cfgPath, []byte(`
webhook: {token_env: EW_TOKEN}
log: {format: json}
detections:
  - {name: alpha, manual: true, settings: {source: opensearch}, secrets: {password: {env: EW_PW}}}
  - {name: crashy, manual: true}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"EW_TOKEN": token, "EW_PW": "pw"}
	sigs := make(chan os.Signal, 1)
	addr := freePort(t)
	var stderr testlog.Buffer // the server's goroutines write it
	cmd := root(Options{Getenv: func(k string) string { return env[k] }, Executable: func() string { return "/nonexistent/edgewatch" }, Signals: sigs})
	cmd.SetArgs([]string{"serve", "--config", cfgPath, "--plugin-dir", pluginDir, "--listen", addr, "--log-level", "debug"})
	cmd.SetErr(&stderr)
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(context.Background()) }()

	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve exited: %v\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not come up\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	srv := servetest.Server{Base: base, Token: token, Timeout: 10 * time.Second, Poll: 25 * time.Millisecond, Log: stderr.String}
	wait := func(det string) serve.RunView { return srv.Run(t, det, "watcher") }

	v := wait("alpha")
	if v.Result == nil || v.Result.Status != "success" || v.Result.AlertsCreated != 1 || v.Result.RunID != v.ID || v.Result.Holder == "" {
		t.Fatalf("alpha run %+v (result %+v)", v, v.Result)
	}
	// The plugin process dies mid-operation: the run fails, the crash is
	// counted, and the next run gets a restarted plugin.
	v = wait("crashy")
	if !strings.Contains(v.Error, "plugin process exited") {
		t.Fatalf("crashy run %+v", v)
	}
	v = wait("alpha")
	if v.Result == nil || v.Result.Status != "success" {
		t.Fatalf("alpha after the crash %+v", v)
	}
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var h serve.Health
	_ = json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if h.Plugin == nil || h.Plugin.Starts != 2 || h.Plugin.Crashes != 1 || !h.Plugin.Running {
		t.Fatalf("plugin status %+v", h.Plugin)
	}
	resp, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), `edgewatch_errors_total{kind="plugin_crash"} 1`) {
		t.Fatalf("metrics do not count the crash")
	}

	sigs <- syscall.SIGTERM
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
	logs := stderr.String()
	for _, want := range []string{`"msg":"edgewatch serve listening"`, `"msg":"plugin started"`, `"msg":"plugin process exited; it will be restarted"`, `"msg":"edgewatch serve stopped"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s", want)
		}
	}
	if strings.Contains(logs, token) || strings.Contains(logs, `"pw"`) {
		t.Error("logs show a secret")
	}
}

func TestServeCheckRejectsBadSettings(t *testing.T) {
	pluginDir := buildFakePlugin(t)
	cfgPath := filepath.Join(t.TempDir(), "serve.yaml")
	_ = os.WriteFile(cfgPath, []byte("detections: [{name: alpha, settings: {source: bogus}}]\n"), 0o600)
	cmd := root(Options{Getenv: func(string) string { return "" }, Executable: func() string { return "/nonexistent/edgewatch" }})
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(io.Discard)
	cmd.SetArgs([]string{"serve", "--config", cfgPath, "--plugin-dir", pluginDir, "--check"})
	err := cmd.Execute()
	var ue *UsageError
	if err == nil || !strings.Contains(err.Error(), "unknown source bogus") || !errorsAs(err, &ue) {
		t.Fatalf("err %v", err)
	}
	_ = os.WriteFile(cfgPath, []byte("detections: [{name: alpha, settings: {source: opensearch}}]\n"), 0o600)
	cmd.SetArgs([]string{"serve", "--config", cfgPath, "--plugin-dir", pluginDir, "--check"})
	if err := cmd.Execute(); err != nil || !strings.Contains(out.String(), "configuration OK") {
		t.Fatalf("check: %v %q", err, out.String())
	}
}

func TestServeNeedsConfig(t *testing.T) {
	cmd := root(Options{})
	cmd.SetArgs([]string{"serve"})
	cmd.SetErr(io.Discard)
	var ue *UsageError
	if err := cmd.Execute(); !errorsAs(err, &ue) {
		t.Fatalf("err %v", err)
	}
}
