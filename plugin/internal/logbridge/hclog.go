package logbridge

import (
	"bytes"
	"context"
	"io"
	"log"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
)

// LevelTrace is the slog level hclog's Trace maps to.
const LevelTrace = slog.LevelDebug - 4

// NameKey is the attribute carrying the hclog logger name (go-plugin names a
// plugin's logger after its executable).
const NameKey = "plugin"

// NewHCLog returns an hclog.Logger that forwards every call to l. Levels map
// Trace→LevelTrace, Debug, Info, Warn, Error; the logger name becomes the
// NameKey attribute; go-plugin's "timestamp" argument (the plugin's clock) is
// dropped in favour of the record's own time.
func NewHCLog(l *slog.Logger) hclog.Logger {
	a := &hclogAdapter{l: l}
	a.level = new(atomic.Int32)
	a.level.Store(int32(enabledLevel(l)))
	return a
}

type hclogAdapter struct {
	l       *slog.Logger
	name    string
	implied []any
	level   *atomic.Int32 // hclog.Level, shared by derived loggers as hclog does
}

var _ hclog.Logger = (*hclogAdapter)(nil)

// enabledLevel is the lowest hclog level l lets through.
func enabledLevel(l *slog.Logger) hclog.Level {
	ctx := context.Background()
	for _, lv := range []hclog.Level{hclog.Trace, hclog.Debug, hclog.Info, hclog.Warn, hclog.Error} {
		if l.Enabled(ctx, toSlog(lv)) {
			return lv
		}
	}
	return hclog.Off
}

func toSlog(l hclog.Level) slog.Level {
	switch l {
	case hclog.Trace:
		return LevelTrace
	case hclog.Debug:
		return slog.LevelDebug
	case hclog.Warn:
		return slog.LevelWarn
	case hclog.Error:
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

func (a *hclogAdapter) Log(level hclog.Level, msg string, args ...any) {
	if level == hclog.Off || level < hclog.Level(a.level.Load()) {
		return
	}
	if a.name == "" && level == hclog.Info {
		// go-plugin's own lifecycle chatter ("plugin process exited" on
		// every normal shutdown); plugin log lines always carry a name.
		level = hclog.Debug
	}
	lv := toSlog(level)
	ctx := context.Background()
	if !a.l.Enabled(ctx, lv) {
		return
	}
	attrs := make([]slog.Attr, 0, 1+(len(a.implied)+len(args))/2)
	if a.name != "" {
		attrs = append(attrs, slog.String(NameKey, a.name))
	}
	attrs = appendArgs(attrs, a.implied)
	attrs = appendArgs(attrs, args)
	a.l.LogAttrs(ctx, lv, msg, attrs...)
}

// appendArgs converts hclog's alternating key/value arguments; a trailing
// odd value is kept under "EXTRA_VALUE_AT_END" as hclog does.
func appendArgs(attrs []slog.Attr, args []any) []slog.Attr {
	for i := 0; i < len(args); i += 2 {
		if i+1 >= len(args) {
			attrs = append(attrs, slog.Any("EXTRA_VALUE_AT_END", args[i]))
			break
		}
		key, ok := args[i].(string)
		if !ok {
			key = "!BADKEY"
		}
		if key == "timestamp" {
			continue
		}
		attrs = append(attrs, slog.Any(key, wholeNumber(args[i+1])))
	}
	return attrs
}

// wholeNumber turns a float64 without a fractional part into an int64:
// go-plugin decodes a plugin's JSON log line into float64 numbers, which a
// text handler prints as 1.2828091e+08.
func wholeNumber(v any) any {
	if f, ok := v.(float64); ok && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return int64(f)
	}
	return v
}

func (a *hclogAdapter) Trace(msg string, args ...any) { a.Log(hclog.Trace, msg, args...) }
func (a *hclogAdapter) Debug(msg string, args ...any) { a.Log(hclog.Debug, msg, args...) }
func (a *hclogAdapter) Info(msg string, args ...any)  { a.Log(hclog.Info, msg, args...) }
func (a *hclogAdapter) Warn(msg string, args ...any)  { a.Log(hclog.Warn, msg, args...) }
func (a *hclogAdapter) Error(msg string, args ...any) { a.Log(hclog.Error, msg, args...) }

func (a *hclogAdapter) enabled(l hclog.Level) bool {
	return l >= hclog.Level(a.level.Load()) && a.l.Enabled(context.Background(), toSlog(l))
}

func (a *hclogAdapter) IsTrace() bool { return a.enabled(hclog.Trace) }
func (a *hclogAdapter) IsDebug() bool { return a.enabled(hclog.Debug) }
func (a *hclogAdapter) IsInfo() bool  { return a.enabled(hclog.Info) }
func (a *hclogAdapter) IsWarn() bool  { return a.enabled(hclog.Warn) }
func (a *hclogAdapter) IsError() bool { return a.enabled(hclog.Error) }

func (a *hclogAdapter) ImpliedArgs() []any { return a.implied }

func (a *hclogAdapter) With(args ...any) hclog.Logger {
	b := *a
	b.implied = append(append([]any(nil), a.implied...), args...)
	return &b
}

func (a *hclogAdapter) Name() string { return a.name }

func (a *hclogAdapter) Named(name string) hclog.Logger {
	b := *a
	if b.name != "" {
		b.name += "." + name
	} else {
		b.name = name
	}
	return &b
}

func (a *hclogAdapter) ResetNamed(name string) hclog.Logger {
	b := *a
	b.name = name
	return &b
}

func (a *hclogAdapter) SetLevel(level hclog.Level) { a.level.Store(int32(level)) }
func (a *hclogAdapter) GetLevel() hclog.Level      { return hclog.Level(a.level.Load()) }

func (a *hclogAdapter) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(a.StandardWriter(opts), "", 0)
}

func (a *hclogAdapter) StandardWriter(opts *hclog.StandardLoggerOptions) io.Writer {
	lv := hclog.Info
	if opts != nil && opts.ForceLevel != hclog.NoLevel {
		lv = opts.ForceLevel
	}
	return &lineWriter{emit: func(line string) { a.Log(lv, line) }}
}

// LineWriter returns a writer that logs each line written to it as one
// record at level with the line under attribute key (go-plugin's SyncStdout
// and SyncStderr: whatever a plugin prints outside its logger).
func LineWriter(l *slog.Logger, level slog.Level, msg, key string) io.Writer {
	return &lineWriter{emit: func(line string) {
		l.LogAttrs(context.Background(), level, msg, slog.String(key, line))
	}}
}

// lineWriter splits writes into lines; a partial last line waits for the
// next write (or is dropped when nothing follows — a plugin's final output
// always ends in a newline in practice).
type lineWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	emit func(string)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		i := bytes.IndexByte(w.buf.Bytes(), '\n')
		if i < 0 {
			break
		}
		line := strings.TrimRight(string(w.buf.Next(i+1)), "\r\n")
		if line != "" {
			w.emit(line)
		}
	}
	return len(p), nil
}
