package serve

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/plugin/wire"
)

// fakeClock is the server's clock in tests: it moves only when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fakeTicks replaces the schedule's tickers: every schedule reads the one
// channel, and the test sends a tick when it wants a scheduled run.
type fakeTicks chan time.Time

func (f fakeTicks) tick(time.Duration) (<-chan time.Time, func()) { return f, func() {} }

// memoryRunner plays the plugin: an incremental run commits up to
// now − 1m at once; a backfill reports its windows (as the plugin's
// wire.ProgressWindows does), then stays in its window backfillBlockAt
// until released or cancelled, as a 43,200-window backfill does for
// minutes.
type memoryRunner struct {
	clock           *fakeClock
	backfillBlockAt int64
	release         chan struct{}
	backfillStarted chan RunRequest

	mu        sync.Mutex
	scheduled []RunRequest
}

func (m *memoryRunner) Run(ctx context.Context, req RunRequest) (RunResult, error) {
	now := m.clock.Now()
	if req.Window == nil {
		m.mu.Lock()
		m.scheduled = append(m.scheduled, req)
		m.mu.Unlock()
		return RunResult{Detection: req.Detection.Name, Mode: wire.ModeIncremental, Status: wire.StatusSuccess,
			CheckpointAfter: now.Add(-time.Minute), CaughtUp: true}, nil
	}
	total := int64(req.Window.Duration() / req.Detection.Incremental.WithDefaults().MaxWindow.D())
	req.Progress(wire.Progress{Stage: wire.ProgressWindows, Done: 0, Total: total, Unit: "windows", Message: req.Detection.Name})
	req.Progress(wire.Progress{Stage: wire.ProgressWindows, Done: m.backfillBlockAt, Total: total, Unit: "windows", Message: req.Detection.Name})
	m.backfillStarted <- req
	select {
	case <-m.release:
		return RunResult{Detection: req.Detection.Name, Mode: wire.ModeWindow, Status: wire.StatusSuccess}, nil
	case <-ctx.Done():
		// The plugin abandons the window; a backfill commits nothing.
		return RunResult{Detection: req.Detection.Name, Mode: wire.ModeWindow, Status: wire.StatusFailed, Error: ctx.Err().Error()}, ctx.Err()
	}
}

func (m *memoryRunner) scheduledRuns() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.scheduled)
}

func postWebhook(t *testing.T, h http.Handler, det, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/v1/detections/"+det+"/run", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testToken)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func getHealth(t *testing.T, h http.Handler) (int, Health) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	var hl Health
	if err := json.Unmarshal(rec.Body.Bytes(), &hl); err != nil {
		t.Fatalf("healthz: %v: %s", err, rec.Body.String())
	}
	return rec.Code, hl
}

// metric reads one sample from a /metrics scrape; ok is false when the
// series is not exported.
func metric(t *testing.T, h http.Handler, series string) (float64, bool) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f, true
		}
	}
	return 0, false
}

func newClockServer(t *testing.T, yaml string, runner Runner, clock *fakeClock, ticks fakeTicks) *Server {
	t.Helper()
	cfg, err := ParseConfig([]byte("webhook: {token_env: EW_TOKEN}\n"+yaml), testEnv(map[string]string{"EW_TOKEN": testToken}))
	if err != nil {
		t.Fatal(err)
	}
	return startServer(t, cfg, Options{Runner: runner, Holder: "test-holder", Now: clock.Now, Tick: ticks.tick, SkipInitialRun: true})
}

// TestLongBackfillDoesNotStallTheSchedule is issue 12, item 6: a webhook
// with {"from": now − 30d} ran 43,200 one-minute windows for 271 s, and no
// scheduled run started meanwhile. Such a request is now refused over the
// backfill limit (7 days by default) with a 422 that names the limit and
// how to raise it; with the limit raised it runs in the background, beside
// the schedule, with its progress in /healthz, /v1/runs and /metrics, and
// shutdown cancels it without moving the checkpoint.
func TestLongBackfillDoesNotStallTheSchedule(t *testing.T) {
	start := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	body := `{"from":"` + start.Add(-30*24*time.Hour).Format(time.RFC3339) + `"}`
	tests := []struct {
		name      string
		limit     string // max_backfill in the config ("" = default)
		wantCode  int
		wantError []string
	}{
		{name: "over the default limit: refused", wantCode: http.StatusUnprocessableEntity,
			wantError: []string{"spans 30d (43200 windows of 1m)", "over the backfill limit max_backfill 7d", "raise max_backfill"}},
		{name: "limit raised: runs beside the schedule", limit: "max_backfill: 31d", wantCode: http.StatusAccepted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := &fakeClock{now: start}
			ticks := make(fakeTicks)
			mr := &memoryRunner{clock: clock, backfillBlockAt: 100, release: make(chan struct{}), backfillStarted: make(chan RunRequest, 1)}
			s := newClockServer(t, "detections: [{name: alpha, interval: 1m, max_window: 1m, "+tc.limit+"}]", mr, clock, ticks)
			h := s.Handler()

			rec := postWebhook(t, h, "alpha", body)
			if rec.Code != tc.wantCode {
				t.Fatalf("webhook: %d %s, want %d", rec.Code, rec.Body.String(), tc.wantCode)
			}
			if tc.wantCode != http.StatusAccepted {
				var refused backfillRefused
				_ = json.Unmarshal(rec.Body.Bytes(), &refused)
				for _, want := range tc.wantError {
					if !strings.Contains(refused.Error, want) {
						t.Errorf("422 error %q lacks %q", refused.Error, want)
					}
				}
				if refused.Setting != "max_backfill" || refused.Limit != "7d" || refused.Requested != "30d" || refused.Windows != 43200 {
					t.Errorf("422 body %+v", refused)
				}
				if n := len(s.Health().Detections["alpha"].Backfills); n != 0 {
					t.Errorf("%d backfills queued after a refusal", n)
				}
				return
			}
			var tr TriggerResponse
			_ = json.Unmarshal(rec.Body.Bytes(), &tr)
			if !tr.Backfill {
				t.Fatalf("answer %+v: want a backfill", tr)
			}
			<-mr.backfillStarted // in window 100 of 43,200, and staying there

			// Scheduled runs go on while the backfill runs.
			for i := 1; i <= 3; i++ {
				clock.Advance(time.Minute)
				ticks <- clock.Now()
				waitFor(t, "scheduled run "+strconv.Itoa(i), func() bool {
					dh := s.Health().Detections["alpha"]
					return mr.scheduledRuns() == i && dh.LastOutcome == wire.StatusSuccess && !dh.Running
				})
			}
			code, hl := getHealth(t, h)
			a := hl.Detections["alpha"]
			if code != http.StatusOK || hl.Status != "ok" || a.LagSeconds == nil || *a.LagSeconds != 60 {
				t.Fatalf("healthz %d %s: %+v", code, hl.Status, a)
			}
			if len(a.Backfills) != 1 || a.Backfills[0].Kind != BackfillWindow || a.Backfills[0].State != "running" ||
				a.Backfills[0].Done != 100 || a.Backfills[0].Total != 43200 || a.Backfills[0].RunID != tr.RunID {
				t.Fatalf("backfills in healthz: %+v", a.Backfills)
			}
			if v, _ := metric(t, h, `edgewatch_backfills_in_progress{detection="alpha"}`); v != 1 {
				t.Errorf("edgewatch_backfills_in_progress = %v, want 1", v)
			}
			if v, _ := metric(t, h, `edgewatch_backfill_windows_remaining{detection="alpha"}`); v != 43100 {
				t.Errorf("edgewatch_backfill_windows_remaining = %v, want 43100", v)
			}
			if v, ok := s.RunView(tr.RunID); !ok || v.State != "running" || v.Progress == nil || v.Progress.Done != 100 {
				t.Errorf("/v1/runs view %+v", v)
			}
			checkpoint := a.Checkpoint

			// Shutdown cancels the backfill; nothing moves.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := s.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			v, _ := s.RunView(tr.RunID)
			if v.State != "done" || !strings.Contains(v.Error, "context canceled") {
				t.Fatalf("backfill after shutdown: %+v", v)
			}
			after := s.Health().Detections["alpha"]
			if !after.Checkpoint.Equal(checkpoint) || after.LastRunID == tr.RunID || after.LastBackfill == nil || after.LastBackfill.RunID != tr.RunID {
				t.Fatalf("after the cancelled backfill: %+v", after)
			}
		})
	}
}

// TestHealthLag: /healthz degrades when a detection's lag passes its
// threshold (default 3 × interval + delay), with the lag /metrics shows:
// both are computed when asked, from the same checkpoint and clock. Issue
// 12, item 6: /healthz said ok with the last run's stale lag while
// /metrics showed 110 s.
func TestHealthLag(t *testing.T) {
	start := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		detection string
		advance   time.Duration // after the run
		wantLag   float64
		wantMax   float64
		degraded  string // "" = ok
	}{
		{"fresh", "{name: alpha, interval: 5m}", 0, 60, 960, ""},
		{"no run for a while, under 3 × 5m + 1m", "{name: alpha, interval: 5m}", 14 * time.Minute, 900, 960, ""},
		{"stalled past 3 × 5m + 1m", "{name: alpha, interval: 5m}", 20 * time.Minute, 1260, 960, "lag 21m is over max_lag 16m"},
		{"delay counts", "{name: alpha, interval: 5m, delay: 10m}", 20 * time.Minute, 1260, 1500, ""},
		{"max_lag configured", "{name: alpha, interval: 5m, max_lag: 1h}", 50 * time.Minute, 3060, 3600, ""},
		{"max_lag from defaults", "{name: alpha, interval: 5m}\ndefaults: {max_lag: 10m}", 10 * time.Minute, 660, 600, "lag 11m is over max_lag 10m"},
		{"manual detection: no threshold", "{name: alpha, trigger: manual}", 48 * time.Hour, 172860, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := &fakeClock{now: start}
			mr := &memoryRunner{clock: clock}
			s := newClockServer(t, "detections:\n  - "+tc.detection, mr, clock, make(fakeTicks))
			id, _, err := s.Trigger("alpha", nil, "test")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Wait(context.Background(), id); err != nil {
				t.Fatal(err)
			}
			clock.Advance(tc.advance)
			_, hl := getHealth(t, s.Handler())
			a := hl.Detections["alpha"]
			lag, ok := metric(t, s.Handler(), `edgewatch_lag_seconds{detection="alpha"}`)
			if a.LagSeconds == nil || !ok || *a.LagSeconds != lag || lag != tc.wantLag || a.MaxLagSeconds != tc.wantMax {
				t.Fatalf("healthz lag %v (max %v), metrics lag %v (exported %v): want both %v, max %v", ptrVal(a.LagSeconds), a.MaxLagSeconds, lag, ok, tc.wantLag, tc.wantMax)
			}
			degraded, _ := metric(t, s.Handler(), `edgewatch_detection_degraded{detection="alpha"}`)
			if tc.degraded == "" {
				if hl.Status != "ok" || len(a.Problems) != 0 || degraded != 0 {
					t.Fatalf("status %s %v, degraded gauge %v: want ok", hl.Status, hl.Problems, degraded)
				}
				return
			}
			if hl.Status != "degraded" || len(hl.Problems) != 1 || !strings.Contains(hl.Problems[0], "alpha: "+tc.degraded) || degraded != 1 {
				t.Fatalf("status %s %v, degraded gauge %v: want degraded with %q", hl.Status, hl.Problems, degraded, tc.degraded)
			}
		})
	}
}

// TestExternalTriggerAge is issue 17, item 3: an acknowledged Watcher watch
// or Alerting monitor stops calling the webhook without a word. A detection
// with trigger: external reports the time since the last call, in
// /healthz and as edgewatch_trigger_age_seconds, and is degraded past 2 ×
// its interval.
func TestExternalTriggerAge(t *testing.T) {
	start := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	const window = `{"from":"2026-03-01T00:00:00Z","to":"2026-03-01T01:00:00Z"}`
	tests := []struct {
		name     string
		steps    []string // "+<duration>" advances the clock, "call" is a webhook call, "backfill" one with a window
		wantAge  float64
		degraded string
	}{
		{"never called, within 2 × interval", []string{"+9m"}, 540, ""},
		{"never called, past 2 × interval", []string{"+11m"}, 660, "no external trigger since serve began expecting one 11m ago (expected every 5m)"},
		{"called on time", []string{"+5m", "call", "+5m", "call", "+4m"}, 240, ""},
		{"silent since the last call", []string{"+5m", "call", "+10m1s"}, 601, "no external trigger for 10m1s (expected every 5m)"},
		{"a backfill call is not the trigger", []string{"+5m", "call", "+9m", "backfill", "+2m"}, 660, "no external trigger for 11m"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := &fakeClock{now: start}
			s := newClockServer(t, "detections: [{name: ext, trigger: external, interval: 5m}, {name: sched, interval: 5m}]",
				&fakeRunner{}, clock, make(fakeTicks))
			h := s.Handler()
			for _, step := range tc.steps {
				switch {
				case strings.HasPrefix(step, "+"):
					d, err := time.ParseDuration(step[1:])
					if err != nil {
						t.Fatal(err)
					}
					clock.Advance(d)
				case step == "call":
					if rec := postWebhook(t, h, "ext", `{"source":"watcher","watch_id":"edgewatch-ext"}`); rec.Code != http.StatusAccepted {
						t.Fatalf("webhook %d", rec.Code)
					}
				case step == "backfill":
					if rec := postWebhook(t, h, "ext", window); rec.Code != http.StatusAccepted {
						t.Fatalf("backfill webhook %d", rec.Code)
					}
				}
			}
			_, hl := getHealth(t, h)
			e := hl.Detections["ext"]
			age, ok := metric(t, h, `edgewatch_trigger_age_seconds{detection="ext"}`)
			if e.TriggerAgeSeconds == nil || !ok || *e.TriggerAgeSeconds != age || age != tc.wantAge || e.ExpectTriggerEvery != "5m0s" || e.Trigger != TriggerExternal {
				t.Fatalf("healthz %+v; metric %v (exported %v): want age %v", e, age, ok, tc.wantAge)
			}
			if _, ok := metric(t, h, `edgewatch_trigger_age_seconds{detection="sched"}`); ok {
				t.Error("trigger age exported for a scheduled detection")
			}
			if tc.degraded == "" {
				if hl.Status != "ok" {
					t.Fatalf("status %s %v: want ok", hl.Status, hl.Problems)
				}
				return
			}
			if hl.Status != "degraded" || len(e.Problems) != 1 || !strings.Contains(e.Problems[0], tc.degraded) ||
				!strings.Contains(e.Problems[0], "acknowledged") {
				t.Fatalf("status %s, problems %v: want degraded with %q", hl.Status, e.Problems, tc.degraded)
			}
		})
	}
}

func ptrVal(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
