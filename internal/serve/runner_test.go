package serve

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/plugin"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// fakePlugin is a plugin process: exec answers, crash makes it exit during
// the next Exec.
type fakePlugin struct {
	id     int
	exited atomic.Bool
	closed atomic.Bool
	exec   func(ctx context.Context, p *fakePlugin, op string, args json.RawMessage, secrets map[string]string) (json.RawMessage, error)
}

func (p *fakePlugin) Exec(ctx context.Context, op string, args json.RawMessage, secrets map[string]string, _ plugin.Stream) (json.RawMessage, error) {
	return p.exec(ctx, p, op, args, secrets)
}
func (p *fakePlugin) Exited() bool { return p.exited.Load() }
func (p *fakePlugin) Validate(_ context.Context, settings json.RawMessage, _ map[string]string) ([]string, error) {
	if strings.Contains(string(settings), "bogus") {
		return []string{"settings: unknown source \"bogus\""}, nil
	}
	return nil, nil
}
func (p *fakePlugin) Close() { p.closed.Store(true); p.exited.Store(true) }

type fakeFactory struct {
	mu       sync.Mutex
	started  []*fakePlugin
	startAt  []time.Time
	failNext int // start attempts to fail
	exec     func(ctx context.Context, p *fakePlugin, op string, args json.RawMessage, secrets map[string]string) (json.RawMessage, error)
}

func (f *fakeFactory) start(ctx context.Context) (PluginProcess, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.startAt = append(f.startAt, time.Now())
	if f.failNext > 0 {
		f.failNext--
		return nil, errors.New("plugin edgewatch-defender-ti: start-up timed out")
	}
	p := &fakePlugin{id: len(f.started) + 1, exec: f.exec}
	f.started = append(f.started, p)
	return p, nil
}

func okOutcome(ctx context.Context, p *fakePlugin, op string, args json.RawMessage, _ map[string]string) (json.RawMessage, error) {
	var a wire.RunIncrementalArgs
	if err := json.Unmarshal(args, &a); err != nil {
		return nil, err
	}
	return json.Marshal(wire.Outcome{Detection: a.Detection, RunID: a.RunID, Status: wire.StatusSuccess, AlertsCreated: p.id})
}

func TestSupervisor(t *testing.T) {
	ctx := context.Background()
	fast := SupervisorOptions{InitialBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, StartRetryFor: 5 * time.Second}

	t.Run("starts once and reuses the process", func(t *testing.T) {
		ff := &fakeFactory{exec: okOutcome}
		sup := NewSupervisor(ff.start, fast)
		for range 3 {
			if _, err := sup.Exec(ctx, wire.OpRunIncremental.Name, json.RawMessage(`{"detection":"a"}`), nil, nil); err != nil {
				t.Fatal(err)
			}
		}
		if len(ff.started) != 1 {
			t.Fatalf("%d starts, want 1", len(ff.started))
		}
		sup.Close()
		if !ff.started[0].closed.Load() {
			t.Fatal("Close did not stop the plugin")
		}
	})

	t.Run("a crash is reported and the next call restarts after a backoff", func(t *testing.T) {
		var calls atomic.Int32
		ff := &fakeFactory{}
		ff.exec = func(ctx context.Context, p *fakePlugin, op string, args json.RawMessage, s map[string]string) (json.RawMessage, error) {
			if calls.Add(1) == 1 {
				p.exited.Store(true) // killed mid-run
				return nil, errors.New("plugin edgewatch-defender-ti (pid 42): plugin exited unexpectedly during detection.run_incremental")
			}
			return okOutcome(ctx, p, op, args, s)
		}
		var events []string
		var mu sync.Mutex
		opts := fast
		opts.OnEvent = func(e string) { mu.Lock(); events = append(events, e); mu.Unlock() }
		sup := NewSupervisor(ff.start, opts)
		_, err := sup.Exec(ctx, wire.OpRunIncremental.Name, json.RawMessage(`{"detection":"a"}`), nil, nil)
		if !errors.Is(err, ErrPluginCrashed) {
			t.Fatalf("err %v, want ErrPluginCrashed", err)
		}
		if st := sup.Status(); st.Running || st.Crashes != 1 || st.Failures != 1 {
			t.Fatalf("status after crash %+v", st)
		}
		if _, err := sup.Exec(ctx, wire.OpRunIncremental.Name, json.RawMessage(`{"detection":"a"}`), nil, nil); err != nil {
			t.Fatalf("after restart: %v", err)
		}
		if len(ff.started) != 2 || !ff.started[0].closed.Load() {
			t.Fatalf("starts %d, first closed %v", len(ff.started), ff.started[0].closed.Load())
		}
		if gap := ff.startAt[1].Sub(ff.startAt[0]); gap < 15*time.Millisecond {
			t.Fatalf("restarted after %s, want the backoff (~20ms)", gap)
		}
		if st := sup.Status(); !st.Running || st.Failures != 0 || st.Starts != 2 {
			t.Fatalf("status after a good run %+v", st)
		}
		mu.Lock()
		defer mu.Unlock()
		if strings.Join(events, ",") != "start,crash,start" {
			t.Fatalf("events %v", events)
		}
	})

	t.Run("start failures are retried with growing waits", func(t *testing.T) {
		ff := &fakeFactory{exec: okOutcome, failNext: 3}
		sup := NewSupervisor(ff.start, fast)
		if _, err := sup.Exec(ctx, wire.OpRunIncremental.Name, json.RawMessage(`{"detection":"a"}`), nil, nil); err != nil {
			t.Fatal(err)
		}
		if len(ff.startAt) != 4 {
			t.Fatalf("%d start attempts, want 4", len(ff.startAt))
		}
		g1, g3 := ff.startAt[1].Sub(ff.startAt[0]), ff.startAt[3].Sub(ff.startAt[2])
		if g3 <= g1 {
			t.Fatalf("waits did not grow: first %s, third %s", g1, g3)
		}
	})

	t.Run("a plugin that never starts fails the call after StartRetryFor", func(t *testing.T) {
		ff := &fakeFactory{exec: okOutcome, failNext: 1 << 30}
		opts := fast
		opts.StartRetryFor = 150 * time.Millisecond
		sup := NewSupervisor(ff.start, opts)
		t0 := time.Now()
		_, err := sup.Exec(ctx, wire.OpRunIncremental.Name, nil, nil, nil)
		if err == nil || !strings.Contains(err.Error(), "start plugin") {
			t.Fatalf("err %v", err)
		}
		if d := time.Since(t0); d > 2*time.Second {
			t.Fatalf("gave up after %s", d)
		}
	})

	t.Run("an operation error without a crash keeps the process", func(t *testing.T) {
		ff := &fakeFactory{exec: func(context.Context, *fakePlugin, string, json.RawMessage, map[string]string) (json.RawMessage, error) {
			return nil, errors.New("plugin edgewatch-defender-ti: operation not available")
		}}
		sup := NewSupervisor(ff.start, fast)
		for range 2 {
			if _, err := sup.Exec(ctx, "nope", nil, nil, nil); err == nil || errors.Is(err, ErrPluginCrashed) {
				t.Fatalf("err %v", err)
			}
		}
		if len(ff.started) != 1 {
			t.Fatalf("%d starts, want 1", len(ff.started))
		}
	})
}

func TestPluginRunner(t *testing.T) {
	var gotArgs wire.RunIncrementalArgs
	var gotSecrets map[string]string
	ff := &fakeFactory{}
	ff.exec = func(ctx context.Context, p *fakePlugin, op string, args json.RawMessage, secrets map[string]string) (json.RawMessage, error) {
		if op != wire.OpRunIncremental.Name {
			t.Errorf("op %q", op)
		}
		_ = json.Unmarshal(args, &gotArgs)
		gotSecrets = secrets
		if gotArgs.Window != nil {
			return json.Marshal(wire.Outcome{Detection: gotArgs.Detection, Status: wire.StatusFailed, Error: "window 1: cluster unavailable", EventsScanned: 7})
		}
		return json.Marshal(wire.Outcome{Detection: gotArgs.Detection, Status: wire.StatusSuccess, AlertsCreated: 2})
	}
	cfg, err := ParseConfig([]byte(`
detections:
  - name: alpha
    overlap: 20m
    settings: {source: opensearch}
    secrets: {password: {env: PW}}
`), testEnv(map[string]string{"PW": "pw-value"}))
	if err != nil {
		t.Fatal(err)
	}
	d, _ := cfg.Detection("alpha")
	r := PluginRunner{Sup: NewSupervisor(ff.start, SupervisorOptions{})}
	res, err := r.Run(context.Background(), RunRequest{RunID: "r1", Detection: d, Holder: "h1"})
	if err != nil || res.AlertsCreated != 2 {
		t.Fatalf("%v %+v", err, res)
	}
	if gotArgs.Detection != "alpha" || gotArgs.RunID != "r1" || gotArgs.Holder != "h1" || gotArgs.Settings.Source != "opensearch" ||
		gotArgs.Incremental.Overlap.D() != 20*time.Minute || gotSecrets["password"] != "pw-value" {
		t.Fatalf("args %+v secrets %v", gotArgs, gotSecrets != nil)
	}
	// A run that failed inside the plugin comes back as the outcome and an error.
	w := wire.Window{From: time.Unix(0, 0), To: time.Unix(3600, 0)}
	res, err = r.Run(context.Background(), RunRequest{RunID: "r2", Detection: d, Window: &w})
	if err == nil || err.Error() != "window 1: cluster unavailable" || res.EventsScanned != 7 {
		t.Fatalf("%v %+v", err, res)
	}
}

func TestSupervisorValidate(t *testing.T) {
	ff := &fakeFactory{exec: okOutcome}
	sup := NewSupervisor(ff.start, SupervisorOptions{})
	good, err := ParseConfig([]byte("detections: [{name: a, settings: {source: opensearch}}]"), testEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := sup.Validate(context.Background(), good); err != nil {
		t.Fatal(err)
	}
	bad, _ := ParseConfig([]byte("detections: [{name: a}, {name: b, settings: {source: bogus}}]"), testEnv(nil))
	err = sup.Validate(context.Background(), bad)
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), `b: settings: unknown source "bogus"`) {
		t.Fatalf("err %v", err)
	}
}
