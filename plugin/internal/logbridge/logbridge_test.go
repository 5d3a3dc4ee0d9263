package logbridge

import (
	"bytes"
	"encoding/json"
	"log"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

func TestHCLogForwardsToSlog(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		call      func(l hclog.Logger)
		wantLevel string
		wantMsg   string
		wantAttrs map[string]any
		none      bool
	}{
		"info": {call: func(l hclog.Logger) { l.Named("p").Info("hi", "k", "v") }, wantLevel: "INFO", wantMsg: "hi",
			wantAttrs: map[string]any{"k": "v"}},
		"warn with name": {call: func(l hclog.Logger) { l.Named("edgewatch-defender-ti").Warn("careful", "n", 3) },
			wantLevel: "WARN", wantMsg: "careful", wantAttrs: map[string]any{"plugin": "edgewatch-defender-ti", "n": float64(3)}},
		"error": {call: func(l hclog.Logger) { l.Named("p").Error("bad") }, wantLevel: "ERROR", wantMsg: "bad"},
		"debug": {call: func(l hclog.Logger) { l.Named("p").Debug("dbg") }, wantLevel: "DEBUG", wantMsg: "dbg"},
		"trace": {call: func(l hclog.Logger) { l.Named("p").Trace("tr") }, wantLevel: "DEBUG-4", wantMsg: "tr"},
		"implied args": {call: func(l hclog.Logger) { l.Named("p").With("run", "r1").Info("x", "y", 1) },
			wantLevel: "INFO", wantMsg: "x", wantAttrs: map[string]any{"run": "r1", "y": float64(1)}},
		"odd args": {call: func(l hclog.Logger) { l.Named("p").Info("x", "lonely") }, wantLevel: "INFO", wantMsg: "x",
			wantAttrs: map[string]any{"EXTRA_VALUE_AT_END": "lonely"}},
		"plugin timestamp dropped": {call: func(l hclog.Logger) { l.Named("p").Info("x", "timestamp", "2026-01-01") },
			wantLevel: "INFO", wantMsg: "x", wantAttrs: map[string]any{"timestamp": nil}},
		"go-plugin chatter demoted": {call: func(l hclog.Logger) { l.Info("plugin process exited") },
			wantLevel: "DEBUG", wantMsg: "plugin process exited"},
		"below level": {call: func(l hclog.Logger) { l.SetLevel(hclog.Warn); l.Named("p").Info("quiet") }, none: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			l := NewHCLog(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: LevelTrace})))
			tc.call(l)
			if tc.none {
				if buf.Len() != 0 {
					t.Errorf("logged %s", buf.String())
				}
				return
			}
			var rec map[string]any
			if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
				t.Fatalf("%v: %s", err, buf.String())
			}
			if rec["level"] != tc.wantLevel || rec["msg"] != tc.wantMsg {
				t.Errorf("level %v msg %v, want %s %s", rec["level"], rec["msg"], tc.wantLevel, tc.wantMsg)
			}
			for k, v := range tc.wantAttrs {
				if rec[k] != v {
					t.Errorf("attr %s = %v, want %v", k, rec[k], v)
				}
			}
		})
	}
}

func TestHCLogLevelFollowsHandler(t *testing.T) {
	t.Parallel()
	l := NewHCLog(slog.New(slog.NewTextHandler(&bytes.Buffer{}, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if l.GetLevel() != hclog.Warn || l.IsInfo() || !l.IsWarn() {
		t.Errorf("level %v, IsInfo %v, IsWarn %v", l.GetLevel(), l.IsInfo(), l.IsWarn())
	}
}

// TestJSONHandlerSpeaksHCLog: the plugin-side handler writes the keys and
// timestamp layout go-plugin's host parser expects.
func TestJSONHandlerSpeaksHCLog(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l := slog.New(NewJSONHandler(&buf, LevelTrace))
	l.Log(t.Context(), LevelTrace, "t")
	l.Debug("d")
	l.Info("i", "k", "v")
	l.Warn("w")
	l.Error("e", slog.Group("g", "x", 1))
	wantLevels := []string{"trace", "debug", "info", "warn", "error"}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != len(wantLevels) {
		t.Fatalf("%d lines:\n%s", len(lines), buf.String())
	}
	for i, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		if rec["@level"] != wantLevels[i] {
			t.Errorf("line %d @level %v, want %s", i, rec["@level"], wantLevels[i])
		}
		if _, ok := rec["@message"].(string); !ok {
			t.Errorf("line %d has no @message: %s", i, line)
		}
		ts, _ := rec["@timestamp"].(string)
		if _, err := time.Parse("2006-01-02T15:04:05.000000Z07:00", ts); err != nil {
			t.Errorf("line %d @timestamp %q does not parse as go-plugin expects: %v", i, ts, err)
		}
	}
	if !strings.Contains(lines[2], `"k":"v"`) || !strings.Contains(lines[4], `"g":{"x":1}`) {
		t.Errorf("attributes lost:\n%s", buf.String())
	}
}

func TestLineWriter(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w := LineWriter(slog.New(slog.NewJSONHandler(&buf, nil)), slog.LevelInfo, "plugin stdout", "line")
	_, _ = w.Write([]byte("one\ntw"))
	_, _ = w.Write([]byte("o\r\n\nthree"))
	got := strings.Count(buf.String(), `"msg":"plugin stdout"`)
	if got != 2 || !strings.Contains(buf.String(), `"line":"two"`) || strings.Contains(buf.String(), "three") {
		t.Errorf("lines logged: %d\n%s", got, buf.String())
	}
}

func TestParseLevel(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]slog.Level{"trace": LevelTrace, "DEBUG": slog.LevelDebug, "": slog.LevelInfo,
		"warning": slog.LevelWarn, "error": slog.LevelError} {
		if got, ok := ParseLevel(in); !ok || got != want {
			t.Errorf("ParseLevel(%q) = %v, %v", in, got, ok)
		}
	}
	if _, ok := ParseLevel("loud"); ok {
		t.Error("ParseLevel accepted loud")
	}
}

func TestStdLogWriterKeepsTheLevel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		line      string
		wantLevel string
		wantMsg   string
	}{
		{"warn from a captured slog default", "WARN window failed; checkpoint not advanced detection=d", "warn", "window failed; checkpoint not advanced detection=d"},
		{"error", "ERROR boom err=x", "error", "boom err=x"},
		{"debug", "DEBUG detail", "debug", "detail"},
		{"offset level", "DEBUG-4 very detailed", "trace", "very detailed"},
		{"log.Print without a level", "plain words from log.Print", "info", "plain words from log.Print"},
		{"one word", "alone", "info", "alone"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			w := StdLogWriter(slog.New(NewJSONHandler(&buf, LevelTrace)))
			if _, err := w.Write([]byte(tc.line + "\n")); err != nil {
				t.Fatal(err)
			}
			var rec map[string]any
			if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
				t.Fatalf("%v: %q", err, buf.String())
			}
			if rec["@level"] != tc.wantLevel || rec["@message"] != tc.wantMsg {
				t.Errorf("@level %v @message %q, want %s %q", rec["@level"], rec["@message"], tc.wantLevel, tc.wantMsg)
			}
		})
	}
}

// TestSetDefaultKeepsCapturedLoggersLevels: a logger taken from
// slog.Default() before the plugin installed its logger (issue 12, item 7:
// the plugin's operations were registered first) still logs at its own
// level. Not parallel: it sets the process's slog default and log output.
func TestSetDefaultKeepsCapturedLoggersLevels(t *testing.T) {
	early := slog.Default()
	prevOut, prevFlags := log.Writer(), log.Flags()
	t.Cleanup(func() {
		slog.SetDefault(early)
		log.SetOutput(prevOut)
		log.SetFlags(prevFlags)
	})
	var buf bytes.Buffer
	SetDefault(slog.New(NewJSONHandler(&buf, LevelTrace)))
	early.Warn("window failed", "window", "a/b")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("%v: %q", err, buf.String())
	}
	if rec["@level"] != "warn" || rec["@message"] != "window failed window=a/b" {
		t.Errorf("captured logger's warning arrived as %v", rec)
	}
}

// TestNumbersAndDurationsReadBack: a plugin's duration reaches the host log
// as a duration ("128.28091ms"), never as nanoseconds that the host reads
// back as a float ("duration=1.2828091e+08"); a whole number stays whole.
func TestNumbersAndDurationsReadBack(t *testing.T) {
	t.Parallel()
	var plugin bytes.Buffer
	slog.New(NewJSONHandler(&plugin, slog.LevelInfo)).Info("feed loaded", "duration", 128280910*time.Nanosecond,
		"added", 120430, slog.Group("load", "took", 1500*time.Millisecond))
	var line map[string]any
	if err := json.Unmarshal(plugin.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	if line["duration"] != "128.28091ms" || line["load"].(map[string]any)["took"] != "1.5s" {
		t.Errorf("plugin line %s: want durations as text", plugin.String())
	}
	// The host side: go-plugin hands the decoded values (numbers as
	// float64) to the hclog adapter.
	var host bytes.Buffer
	NewHCLog(slog.New(slog.NewTextHandler(&host, nil))).Named("p").Info("feed loaded",
		"duration", line["duration"], "added", line["added"], "ratio", 0.25)
	for _, want := range []string{"duration=128.28091ms", "added=120430", "ratio=0.25"} {
		if !strings.Contains(host.String(), want) {
			t.Errorf("host line %q lacks %q", host.String(), want)
		}
	}
}
