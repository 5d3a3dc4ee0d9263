package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// TestOperationsLogThroughTheLoggerInstalledLater: the plugin registers its
// operations (main) before plugin.Serve installs the hclog JSON logger the
// host parses. An operation must log through that logger, at the record's
// own level with its attributes; a logger captured at registration wrote
// "WARN window failed …" as text, which the host logged at INFO.
func TestOperationsLogThroughTheLoggerInstalledLater(t *testing.T) {
	w := newMemWorld(t).(*memWorld)
	d := Deps{
		Now: func() time.Time { return scnStart.Add(time.Hour) },
		Open: func(context.Context, wire.Settings, map[string]string) (*Env, error) {
			env := w.Env(nil)
			be := *env.Backend
			be.Indicators = func(context.Context) (*correlation.IndicatorSet, error) {
				return nil, errors.New("lookup index unavailable")
			}
			env.Backend = &be
			return env, nil
		},
	}
	ops := opsOf(d) // registered first, as main does

	var buf bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { slog.SetDefault(prev) })

	if _, err := execOp(t, ops, wire.OpRunIncremental.Name, json.RawMessage(hostRunArgs(t, "logs", nil))); err != nil {
		t.Fatal(err)
	}
	var warn map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("not a JSON record: %q", line)
		}
		if msg, _ := rec["msg"].(string); strings.HasPrefix(msg, "WARN ") || strings.HasPrefix(msg, "INFO ") {
			t.Errorf("level inside the message: %s", line)
		}
		if rec["msg"] == "window failed; checkpoint not advanced" {
			warn = rec
		}
	}
	if warn == nil {
		t.Fatalf("no window-failed record in the installed logger:\n%s", buf.String())
	}
	if warn["level"] != "WARN" || warn["detection"] != "logs" || warn["window"] == nil ||
		!strings.Contains(warn["err"].(string), "lookup index unavailable") {
		t.Errorf("window-failed record %v: want level WARN with detection, window and err attributes", warn)
	}
}
