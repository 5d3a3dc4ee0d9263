package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/plugin/internal/sessiontls"
)

// fakeDetector is a scriptable Detector for the adapter and launcher tests.
type fakeDetector struct {
	info     Info
	diags    []Diagnostic
	batches  [][]Alert
	progress []Progress
	summary  json.RawMessage
	err      error
	// block makes Run wait for cancellation after streaming; marker is a
	// file written when it sees the cancellation.
	block  bool
	marker string
	// panicIn panics in the named method.
	panicIn string
	// gotRun records the last RunRequest (in-process tests only).
	gotRun RunRequest
}

func (f *fakeDetector) Describe(context.Context) (Info, error) {
	if f.panicIn == "Describe" {
		panic("boom")
	}
	return f.info, f.err
}

func (f *fakeDetector) Validate(_ context.Context, cfg Config) ([]Diagnostic, error) {
	return f.diags, f.err
}

func (f *fakeDetector) Run(ctx context.Context, req RunRequest, s Stream) (Result, error) {
	f.gotRun = req
	if f.panicIn == "Run" {
		panic("run exploded")
	}
	for _, p := range f.progress {
		if err := s.Progress(ctx, p); err != nil {
			return Result{}, err
		}
	}
	for _, b := range f.batches {
		if err := s.Alerts(ctx, NewAlertBatch(b)); err != nil {
			return Result{}, err
		}
	}
	if f.block {
		<-ctx.Done()
		if f.marker != "" {
			_ = os.WriteFile(f.marker, []byte("cancelled"), 0o600)
		}
		return Result{}, ctx.Err()
	}
	if f.err != nil {
		return Result{}, f.err
	}
	return Result{Summary: f.summary}, nil
}

// fakeAdmin adds Admin to fakeDetector.
type fakeAdmin struct {
	*fakeDetector
	ops map[string]func(args json.RawMessage, secrets map[string]string) (json.RawMessage, error)
}

func (f *fakeAdmin) Exec(ctx context.Context, op string, args json.RawMessage, secrets map[string]string, s Stream) (json.RawMessage, error) {
	fn, ok := f.ops[op]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownOp, op)
	}
	if err := s.Progress(ctx, Progress{Stage: op, Done: 1, Total: 1}); err != nil {
		return nil, err
	}
	return fn(args, secrets)
}

func alerts(n int, prefix string) []Alert {
	out := make([]Alert, n)
	for i := range out {
		id := fmt.Sprintf("%s-%d", prefix, i)
		out[i] = Alert{
			Document: json.RawMessage(fmt.Sprintf(`{"event":{"id":%q}}`, id)),
			Row: Row{Timestamp: time.Date(2026, 1, 2, 8, 0, i, 0, time.UTC), DeviceName: "web01",
				ThreatIntelligenceIP: "45.155.205.233", LocalPort: 443, RemotePort: 50000 + i, IPsumCount: 5, Severity: "high", ID: id},
		}
	}
	return out
}

// Helper-process plugins: the test binary re-runs itself as a plugin when
// envHelper names a mode (go-plugin's own plugin_test.go pattern).
const (
	envHelper = "EDGEWATCH_TEST_PLUGIN"
	envMarker = "EDGEWATCH_TEST_MARKER"
)

func TestMain(m *testing.M) {
	mode := os.Getenv(envHelper)
	if mode == "" {
		os.Exit(m.Run())
	}
	helperPlugin(mode)
	os.Exit(0)
}

func helperPlugin(mode string) {
	f := &fakeDetector{
		info:    Info{Name: "edgewatch-fake", Version: "v0.0.1-test", ProtocolVersion: ProtocolVersion},
		batches: [][]Alert{alerts(3, "a")},
		summary: json.RawMessage(`{"run_id":"helper"}`),
	}
	switch mode {
	case "ok":
		serve(f, handshake)
	case "v2":
		hs := handshake
		hs.ProtocolVersion = 2
		serve(f, hs)
	case "automtls":
		// A plugin built before session TLS: it knows only go-plugin's
		// AutoMTLS.
		os.Unsetenv(sessiontls.EnvFD)
		serve(f, handshake)
	case "block":
		f.block, f.marker = true, os.Getenv(envMarker)
		serve(f, handshake)
	case "env":
		// Reports its environment so the test can look for secrets.
		f.info.Description = strings.Join(os.Environ(), "\n")
		serve(f, handshake)
	case "log":
		f.info.Description = "logs"
		serve(&loggingDetector{f}, handshake)
	case "stdout":
		fmt.Println("this is not a handshake")
	case "launcher":
		// A host that starts a blocking plugin, reports its pid, and waits
		// to be killed.
		c, err := Launch(context.Background(), os.Args[0], Options{Env: []string{envHelper + "=block"}})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		go func() { _, _ = c.Run(context.Background(), RunRequest{}, nopStream{}) }()
		fmt.Println(c.Pid())
		select {}
	case "byhand":
		os.Exit(runByHand(os.Stderr, nil, f))
	default:
		fmt.Fprintf(os.Stderr, "unknown helper mode %q\n", mode)
		os.Exit(2)
	}
}

// loggingDetector logs through slog in Describe (forwarding test).
type loggingDetector struct{ *fakeDetector }

func (l *loggingDetector) Describe(ctx context.Context) (Info, error) {
	slogDefault().Warn("hello from the plugin", "answer", 42)
	fmt.Println("stray stdout line")
	return l.fakeDetector.Describe(ctx)
}

var errFake = errors.New("fake failure")

func slogDefault() *slog.Logger { return slog.Default() }

type nopStream struct{}

func (nopStream) Progress(context.Context, Progress) error { return nil }
func (nopStream) Alerts(context.Context, AlertBatch) error { return nil }
