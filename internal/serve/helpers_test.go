package serve

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/internal/testlog"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

func TestMain(m *testing.M) { testlog.Main(m) }

// fakeRunner records runs; with block set, each run waits for it to be
// closed (or for its context to end).
type fakeRunner struct {
	mu      sync.Mutex
	calls   []RunRequest
	block   chan struct{}
	started chan RunRequest
	result  RunResult
	err     error
}

func (f *fakeRunner) Run(ctx context.Context, req RunRequest) (RunResult, error) {
	f.mu.Lock()
	f.calls = append(f.calls, req)
	block, started := f.block, f.started
	res, err := f.result, f.err
	f.mu.Unlock()
	if started != nil {
		started <- req
	}
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return RunResult{Detection: req.Detection.Name, Status: wire.StatusFailed, Error: ctx.Err().Error()}, ctx.Err()
		}
	}
	if res.Status == "" {
		res = RunResult{Detection: req.Detection.Name, Status: wire.StatusSuccess, EventsScanned: 42, AlertsCreated: 3,
			CheckpointAfter: time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC), LagSeconds: 61}
	}
	return res, err
}

func (f *fakeRunner) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

const testToken = "tok-0123456789abcdef"
const testHMAC = "hmac-0123456789abcdef"

// newTestServer builds a server with manual detections "alpha" and "beta"
// (nothing scheduled) around runner.
func newTestServer(t *testing.T, runner Runner) *Server {
	t.Helper()
	cfg, err := ParseConfig([]byte(`
webhook: {token_env: EW_TOKEN, hmac_secret_env: EW_HMAC}
detections:
  - {name: alpha, manual: true}
  - {name: beta, manual: true}
`), testEnv(map[string]string{"EW_TOKEN": testToken, "EW_HMAC": testHMAC}))
	if err != nil {
		t.Fatal(err)
	}
	// The fake runner reports a checkpoint of 12:00:00; the clock says 12:01:01.
	return startServer(t, cfg, Options{Runner: runner, Holder: "test-holder", Now: func() time.Time { return time.Date(2026, 3, 2, 12, 1, 1, 0, time.UTC) }})
}

// startServer builds and starts a server for cfg, shut down when t ends.
func startServer(t *testing.T, cfg *Config, opts Options) *Server {
	t.Helper()
	s, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return s
}

// waitFor polls cond for up to 5s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
