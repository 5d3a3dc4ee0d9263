package logbridge

import (
	"context"
	"io"
	"log"
	"log/slog"
	"strings"
	"time"
)

// hclogTimeFormat is the @timestamp layout go-plugin's host parser accepts.
const hclogTimeFormat = "2006-01-02T15:04:05.000000Z07:00"

// NewJSONHandler returns a slog handler that writes one hclog-style JSON
// object per record ({"@level","@message","@timestamp", attrs...}), the form
// go-plugin's host parses back into leveled log calls. Use it in a plugin
// process for the logger that writes to the original stderr.
func NewJSONHandler(w io.Writer, level slog.Leveler) slog.Handler {
	return slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Value.Kind() == slog.KindDuration {
				// JSON would carry nanoseconds, which the host reads back
				// as a float ("duration=1.2828091e+08"): send "128.3ms".
				return slog.String(a.Key, a.Value.Duration().String())
			}
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.TimeKey:
				if t, ok := a.Value.Any().(time.Time); ok {
					return slog.String("@timestamp", t.Format(hclogTimeFormat))
				}
			case slog.LevelKey:
				lv, _ := a.Value.Any().(slog.Level)
				return slog.String("@level", LevelName(lv))
			case slog.MessageKey:
				return slog.Attr{Key: "@message", Value: a.Value}
			}
			return a
		},
	})
}

// LevelName is the hclog name of a slog level: trace, debug, info, warn, error.
func LevelName(l slog.Level) string {
	switch {
	case l < slog.LevelDebug:
		return "trace"
	case l < slog.LevelInfo:
		return "debug"
	case l < slog.LevelWarn:
		return "info"
	case l < slog.LevelError:
		return "warn"
	default:
		return "error"
	}
}

// ParseLevel reads "trace", "debug", "info", "warn"/"warning", "error"
// (any case); ok is false for anything else.
func ParseLevel(s string) (slog.Level, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "trace":
		return LevelTrace, true
	case "debug":
		return slog.LevelDebug, true
	case "info", "":
		return slog.LevelInfo, true
	case "warn", "warning":
		return slog.LevelWarn, true
	case "error":
		return slog.LevelError, true
	}
	return slog.LevelInfo, false
}

// StdLogWriter returns the writer a plugin gives log.SetOutput once its
// logger l is the slog default. Two things reach the log package there:
// log.Print calls, and records of any slog.Logger captured before
// slog.SetDefault — slog's built-in default handler formats those as text,
// "WARN msg key=value …", and hands them to the log package. Without this
// writer such a line reaches the host as an INFO record with the level
// inside the message. The leading level word is read back into the
// record's level (attributes stay in the message text: a logger that must
// keep them structured must be resolved after slog.SetDefault); a line
// without one is logged at INFO.
func StdLogWriter(l *slog.Logger) io.Writer {
	return &lineWriter{emit: func(line string) {
		level, msg := slog.LevelInfo, line
		if word, rest, ok := strings.Cut(line, " "); ok {
			var lv slog.Level
			if lv.UnmarshalText([]byte(word)) == nil {
				level, msg = lv, rest
			}
		}
		l.Log(context.Background(), level, msg)
	}}
}

// SetDefault makes l the process's slog default and routes the log
// package through StdLogWriter(l). A plugin calls it once, before serving.
func SetDefault(l *slog.Logger) {
	slog.SetDefault(l)
	// After slog.SetDefault the log package writes to l at INFO; replace
	// that writer with one that keeps the level of a captured logger's line.
	log.SetOutput(StdLogWriter(l))
}
