package admin

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/engine"
	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/incremental"
	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/internal/serve"
	"github.com/edgewatch/edgewatch/plugin"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// memDeps opens w's environment for every operation; loads go to the
// returned feed recorder.
func memDeps(w *memWorld, now time.Time, load func(name string, set *correlation.IndicatorSet) (FeedLoad, error)) Deps {
	return Deps{
		Now: func() time.Time { return now },
		Open: func(ctx context.Context, s wire.Settings, secrets map[string]string) (*Env, error) {
			if secrets["password"] != "pw" {
				return nil, errors.New("no password")
			}
			env := w.Env(nil)
			if load != nil {
				env.LoadFeed = func(_ context.Context, name string, set *correlation.IndicatorSet) (FeedLoad, error) {
					return load(name, set)
				}
			}
			return env, nil
		},
	}
}

// opsOf registers the operations of d on a Mux, as the plugin serves them.
func opsOf(d Deps) *plugin.Mux {
	m := &plugin.Mux{}
	Register(m, d)
	return m
}

func execOp(t *testing.T, ops *plugin.Mux, op string, args any) (json.RawMessage, error) {
	t.Helper()
	b, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	return ops.Exec(context.Background(), op, b, map[string]string{"password": "pw"}, nil)
}

// hostRunArgs builds the args exactly as the host's serve sends them.
func hostRunArgs(t *testing.T, det string, window *wire.Window) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(wire.RunIncrementalArgs{
		Detection: det, RunID: "run-1", Holder: "serve-x", Trigger: "webhook",
		Settings: wire.Settings{Source: "opensearch",
			Cluster: &wire.ClusterSettings{URLs: []string{"http://127.0.0.1:9"}, IndicatorFeed: "ipsum"}},
		Incremental: wire.Config{InitialLookback: wire.Duration(time.Hour)},
		Window:      window,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRunIncrementalOp(t *testing.T) {
	w := newMemWorld(t).(*memWorld)
	all, hits := arriving(scnStart, scnStart.Add(time.Hour), 0)
	w.Publish(t, all)
	ops := opsOf(memDeps(w, scnStart.Add(time.Hour+time.Minute), nil))

	raw, err := ops.Exec(context.Background(), wire.OpRunIncremental.Name, hostRunArgs(t, "scn", nil), map[string]string{"password": "pw"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The host decodes the answer as serve.RunResult.
	var out serve.RunResult
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	if out.Status != wire.StatusSuccess || out.AlertsCreated != len(hits) || out.RunID != "run-1" || out.Holder != "serve-x" || !out.CheckpointAfter.Equal(scnStart.Add(time.Hour)) {
		t.Fatalf("outcome %s", raw)
	}

	// A failing window comes back as a failed outcome, not an error.
	w.failAfter = 0
	w.Publish(t, []evSpec{{Time: scnStart.Add(time.Hour + 30*time.Second), Remote: "198.51.100.10", ReportID: "9"}})
	ops = opsOf(memDeps(w, scnStart.Add(time.Hour+2*time.Minute), nil))
	raw, err = ops.Exec(context.Background(), wire.OpRunIncremental.Name, hostRunArgs(t, "scn", nil), map[string]string{"password": "pw"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &out); err != nil || out.Status != wire.StatusFailed || !strings.Contains(out.Error, "killed") {
		t.Fatalf("failed outcome %s", raw)
	}
}

// TestRunRecordsOfDetectionOps: incremental and retro-hunt windows are
// recorded by the same wiring as `edgewatch run`: with the call's detection
// and trigger, and the lag measured from the run's own (injected) clock.
func TestRunRecordsOfDetectionOps(t *testing.T) {
	w := newMemWorld(t).(*memWorld)
	all, _ := arriving(scnStart, scnStart.Add(time.Hour), 0)
	w.Publish(t, all)
	now := scnStart.Add(time.Hour + time.Minute)
	var recs []wire.RunRecord
	d := memDeps(w, now, nil)
	open := d.Open
	d.Open = func(ctx context.Context, s wire.Settings, secrets map[string]string) (*Env, error) {
		env, err := open(ctx, s, secrets)
		if err == nil {
			env.Backend.RecordRun = func(_ context.Context, rec wire.RunRecord) error {
				recs = append(recs, rec)
				return nil
			}
		}
		return env, err
	}
	ops := opsOf(d)
	if _, err := ops.Exec(context.Background(), wire.OpRunIncremental.Name, hostRunArgs(t, "scn", nil), map[string]string{"password": "pw"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := execOp(t, ops, wire.OpRetroHunt.Name, wire.RetroHuntArgs{Detection: "scn", Indicators: []string{"192.0.2.0/24"},
		Settings: wire.Settings{Source: "opensearch"}, Incremental: wire.Config{RetroLookback: wire.Duration(time.Hour), RetroMaxWindow: wire.Duration(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("%d run records, want one incremental window and one retro-hunt window: %+v", len(recs), recs)
	}
	inc, retro := recs[0], recs[1]
	if inc.Detection != "scn" || inc.Trigger != "webhook" || inc.RetroHunt || inc.Outcome != wire.StatusSuccess || inc.Counts.EventsScanned == 0 {
		t.Errorf("incremental record %+v", inc)
	}
	if want := now.Sub(inc.Window.To).Milliseconds(); inc.LagMS != want || !inc.FinishedAt.Equal(now) {
		t.Errorf("incremental lag %d ms (finished %s), want %d: measured against the run's clock", inc.LagMS, inc.FinishedAt, want)
	}
	if retro.Detection != "scn" || retro.Trigger != "retro-hunt" || !retro.RetroHunt {
		t.Errorf("retro-hunt record %+v", retro)
	}
}

func TestOpArgumentErrors(t *testing.T) {
	w := newMemWorld(t).(*memWorld)
	ops := opsOf(memDeps(w, scnStart, nil))
	for _, tc := range []struct {
		name, op string
		args     string
		want     error
	}{
		{"run: not JSON", wire.OpRunIncremental.Name, `{`, plugin.ErrInvalidArgs},
		{"run: empty", wire.OpRunIncremental.Name, ``, plugin.ErrInvalidArgs},
		{"retro: bad indicator", wire.OpRetroHunt.Name, `{"detection":"scn","indicators":["not-an-ip"]}`, engine.ErrConfig},
		{"feed: no path", wire.OpFeedRefresh.Name, `{"feed":{}}`, engine.ErrConfig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ops.Exec(context.Background(), tc.op, json.RawMessage(tc.args), map[string]string{"password": "pw"}, nil)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
	// A file source cannot run incrementally.
	d := Deps{Open: func(context.Context, wire.Settings, map[string]string) (*Env, error) {
		return &Env{Backend: &engine.Backend{Source: w}}, nil
	}}
	_, err := opsOf(d).Exec(context.Background(), wire.OpRunIncremental.Name, json.RawMessage(`{"detection":"scn","settings":{}}`), nil, nil)
	if !errors.Is(err, engine.ErrConfig) || !strings.Contains(err.Error(), "cluster source") {
		t.Fatalf("file source: %v", err)
	}
}

func TestRetroHuntOp(t *testing.T) {
	w := newMemWorld(t).(*memWorld)
	planted := evSpec{Time: scnStart.Add(-30 * time.Hour), Remote: "192.0.2.77", ReportID: "5"}
	w.Publish(t, []evSpec{planted})
	ops := opsOf(memDeps(w, scnStart, nil))
	raw, err := execOp(t, ops, wire.OpRetroHunt.Name, map[string]any{"detection": "scn", "indicators": []string{"192.0.2.0/24"},
		"settings": map[string]any{"source": "opensearch"}})
	if err != nil {
		t.Fatal(err)
	}
	var out wire.Outcome
	_ = json.Unmarshal(raw, &out)
	if out.Status != wire.StatusSuccess || out.AlertsCreated != 1 || !w.Alerts(t)[expectedID(planted)] {
		t.Fatalf("retro op %s alerts %v", raw, w.Alerts(t))
	}
}

func TestFeedRefreshOp(t *testing.T) {
	dir := t.TempDir()
	feed := filepath.Join(dir, "ipsum.txt")
	if err := os.WriteFile(feed, []byte("# IPsum\n77.90.185.20\t4\n45.154.244.193\t3\n10.0.0.1\t9\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	planted := evSpec{Time: scnStart.Add(-30 * time.Hour), Remote: "192.0.2.77", ReportID: "5"}
	hostArgs := func() wire.FeedRefreshArgs {
		var a wire.FeedRefreshArgs
		a.RunID = "feed-1"
		a.Feed.Name, a.Feed.Path = "ipsum", feed
		a.Settings = wire.Settings{Source: "opensearch"}
		a.RetroHunt = true
		a.Detections = []wire.FeedRetroDetection{{Name: "scn", Settings: wire.Settings{Source: "opensearch"}}}
		return a
	}
	tests := []struct {
		name      string
		load      FeedLoad
		wantRetro int // retro-hunts run
		wantAlert bool
	}{
		{"added indicators are retro-hunted", FeedLoad{Loaded: 2, Added: []correlation.Indicator{{Prefix: netip.MustParsePrefix("192.0.2.77/32"), Count: 4, Level: 4}}}, 1, true},
		{"nothing added: no hunt", FeedLoad{Loaded: 2}, 0, false},
		{"first load: no hunt", FeedLoad{Loaded: 2, FirstLoad: true, Added: []correlation.Indicator{{Prefix: netip.MustParsePrefix("192.0.2.77/32")}}}, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newMemWorld(t).(*memWorld)
			w.Publish(t, []evSpec{planted})
			var loaded *correlation.IndicatorSet
			ops := opsOf(memDeps(w, scnStart, func(name string, set *correlation.IndicatorSet) (FeedLoad, error) {
				loaded = set
				return tc.load, nil
			}))
			raw, err := execOp(t, ops, wire.OpFeedRefresh.Name, hostArgs())
			if err != nil {
				t.Fatal(err)
			}
			if loaded == nil || loaded.Len() != 2 || loaded.Name() != "ipsum" {
				t.Fatalf("loaded %v", loaded)
			}
			var res wire.FeedRefreshResult // the host's view of the answer
			if err := json.Unmarshal(raw, &res); err != nil {
				t.Fatal(err)
			}
			if len(res.Retro) != tc.wantRetro || res.Added != len(tc.load.Added) {
				t.Fatalf("result %s", raw)
			}
			if got := w.Alerts(t)[expectedID(planted)]; got != tc.wantAlert {
				t.Fatalf("planted alert (retro) = %v, want %v", got, tc.wantAlert)
			}
		})
	}
}

func TestStatusOp(t *testing.T) {
	w := newMemWorld(t).(*memWorld)
	now := scnStart.Add(time.Hour)
	ops := opsOf(memDeps(w, now, nil))
	if _, err := ops.Exec(context.Background(), wire.OpRunIncremental.Name, hostRunArgs(t, "scn", nil), map[string]string{"password": "pw"}, nil); err != nil {
		t.Fatal(err)
	}
	raw, err := execOp(t, ops, wire.OpDetectionStatus.Name, map[string]any{"settings": map[string]any{"source": "opensearch"}})
	if err != nil {
		t.Fatal(err)
	}
	var st wire.DetectionStatusResult
	if err := json.Unmarshal(raw, &st); err != nil || len(st.Detections) != 1 || st.Detections[0].Detection != "scn" || st.Detections[0].LagSeconds != 60 || st.Detections[0].LastRun == nil {
		t.Fatalf("status %s", raw)
	}
}

func TestWindowRunnerReadsIndicatorsOncePerCall(t *testing.T) {
	w := newMemWorld(t).(*memWorld)
	env := w.Env(t)
	var loads int
	env.Backend.Indicators = func(context.Context) (*correlation.IndicatorSet, error) { loads++; return feedSet(), nil }
	clock := func() time.Time { return scnStart.Add(5 * time.Hour) }
	out, err := incremental.RunIncremental(context.Background(), incremental.Request{Detection: "scn", Holder: "h",
		Config: wire.Config{InitialLookback: wire.Duration(4 * time.Hour)}},
		WindowRunner(env.Backend, w.Settings(), nil, clock), env.State, clock)
	if err != nil || len(out.Windows) != 4 {
		t.Fatalf("%v %+v", err, out)
	}
	if loads != 1 {
		t.Fatalf("indicators loaded %d times for 4 windows, want once", loads)
	}
}
