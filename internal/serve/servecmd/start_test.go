package servecmd

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestChecksumMismatchIsNotRetried: a plugin whose checksum differs is
// refused once, not restarted with backoff.
func TestChecksumMismatchIsNotRetried(t *testing.T) {
	pluginDir := buildFakePlugin(t)
	cfgPath := filepath.Join(t.TempDir(), "serve.yaml")
	if err := os.WriteFile(cfgPath, []byte("detections: [{name: alpha, settings: {source: opensearch}}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := root(Options{Getenv: func(string) string { return "" }, Executable: func() string { return "/nonexistent/edgewatch" }})
	var stderr bytes.Buffer
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&stderr)
	cmd.SetArgs([]string{"serve", "--config", cfgPath, "--plugin-dir", pluginDir, "--plugin-sha256", strings.Repeat("00", 32), "--check"})
	err := cmd.Execute()
	if err == nil || !strings.Contains(err.Error(), "plugin checksum mismatch") {
		t.Fatalf("err %v", err)
	}
	if n := strings.Count(stderr.String(), `msg="plugin start failed"`); n != 1 {
		t.Errorf("%d start attempts logged, want 1:\n%s", n, stderr.String())
	}
}
