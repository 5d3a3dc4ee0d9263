package admin

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/engine"
	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/incremental"
	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// The scenarios below run against a World: the in-memory one here, and the
// real OpenSearch and Elasticsearch in cluster_test.go.

// evSpec is one DeviceNetworkEvents row of a scenario: an accepted inbound
// connection on the facing port at Time from Remote, indexed at Visible.
type evSpec struct {
	Time     time.Time
	Visible  time.Time
	Remote   string
	ReportID string
}

const (
	scnDevice = "d0c0ffee00000000000000000000000000000001"
	scnPort   = 443
)

// World is where a scenario's data lives.
type World interface {
	// Env opens the backend and state for one runner (each racing runner
	// gets its own, as two serve processes would).
	Env(t *testing.T) *Env
	// Publish makes events visible to queries (indexes them).
	Publish(t *testing.T, evs []evSpec)
	// Alerts returns the stored alerts: id → retro_hunt.
	Alerts(t *testing.T) map[string]bool
	// Settings are the run settings for this world.
	Settings() wire.Settings
}

// expectedID is the finding id an event must produce.
func expectedID(e evSpec) string {
	return correlation.FindingID(engine.DefaultRuleID, scnDevice, e.ReportID, e.Time, netip.MustParseAddr(e.Remote), scnPort)
}

// scenario drives scheduled runs every step from start to end, publishing
// each event once its Visible time has come, and returns the per-run
// outcomes.
type scenario struct {
	events  []evSpec
	cfg     wire.Config
	holders []string // racing runners (default one)
}

func (sc scenario) run(t *testing.T, w World, start, end time.Time, step time.Duration) []*wire.Outcome {
	t.Helper()
	holders := sc.holders
	if len(holders) == 0 {
		holders = []string{"serve-a"}
	}
	envs := make([]*Env, len(holders))
	for i := range holders {
		// Each runner is its own plugin process, with its own facing cache
		// (as Deps.open wraps it in production).
		envs[i] = w.Env(t)
		(Deps{Facing: &FacingCache{}}).withFacingState(envs[i], w.Settings(), "scn", sc.cfg)
	}
	published := map[string]bool{}
	var outs []*wire.Outcome
	var mu sync.Mutex
	for now := start; !now.After(end); now = now.Add(step) {
		var due []evSpec
		for _, e := range sc.events {
			if !published[e.ReportID] && !e.Visible.After(now) {
				published[e.ReportID] = true
				due = append(due, e)
			}
		}
		if len(due) > 0 {
			w.Publish(t, due)
		}
		var wg sync.WaitGroup
		for i, h := range holders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				clock := func() time.Time { return now }
				out, _ := incremental.RunIncremental(context.Background(), incremental.Request{Detection: "scn", Config: sc.cfg, Holder: h},
					WindowRunner(envs[i].Backend, w.Settings(), nil, clock), envs[i].State, clock)
				mu.Lock()
				outs = append(outs, out)
				mu.Unlock()
			}()
		}
		wg.Wait()
	}
	return outs
}

// arriving builds a stream of connections every 7 minutes over [from, to):
// even ones from indicator addresses, odd ones from clean ones; every third
// indicator event arrives late by lateBy.
func arriving(from, to time.Time, lateBy time.Duration) (all []evSpec, hits []evSpec) {
	i := 0
	for t := from; t.Before(to); t = t.Add(7 * time.Minute) {
		e := evSpec{Time: t.Add(13 * time.Second), ReportID: fmt.Sprintf("%d", 100000+i)}
		e.Visible = e.Time.Add(30 * time.Second)
		if i%2 == 0 {
			e.Remote = fmt.Sprintf("198.51.100.%d", 10+i%5) // on the feed
			if (i/2)%3 == 0 {
				e.Visible = e.Time.Add(lateBy)
			}
			hits = append(hits, e)
		} else {
			e.Remote = fmt.Sprintf("203.0.113.%d", 10+i%5) // not on the feed
		}
		all = append(all, e)
		i++
	}
	return all, hits
}

func feedSet() *correlation.IndicatorSet {
	set := correlation.NewIndicatorSet("ipsum")
	for i := 10; i < 15; i++ {
		set.Add(correlation.Indicator{Prefix: netip.MustParsePrefix(fmt.Sprintf("198.51.100.%d/32", i)), Count: 5, Level: 5, Feed: "ipsum"}, true)
	}
	return set
}

func ids(evs []evSpec) []string {
	out := make([]string, 0, len(evs))
	for _, e := range evs {
		out = append(out, expectedID(e))
	}
	sort.Strings(out)
	return out
}

func keys(m map[string]bool) []string {
	return slices.Sorted(maps.Keys(m))
}

func sumCreated(outs []*wire.Outcome) (created, present int) {
	for _, o := range outs {
		created += o.AlertsCreated
		present += o.AlreadyPresent
	}
	return
}

var scnStart = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

// testScenarios runs every scenario, each in a fresh world from newWorld;
// breakWrites makes a world's alert writes die after `after` alerts (for
// the killed mid-write scenario).
func testScenarios(t *testing.T, newWorld func(t *testing.T) World, breakWrites func(w World, env *Env, after int)) {
	t.Run("arriving data, some late", func(t *testing.T) { testArrivingData(t, newWorld(t)) })
	t.Run("very late data", func(t *testing.T) { testVeryLateData(t, newWorld) })
	t.Run("racing runners", func(t *testing.T) { testRacingRunners(t, newWorld(t)) })
	t.Run("catch-up after a day of downtime", func(t *testing.T) { testCatchUp(t, newWorld(t)) })
	t.Run("retro-hunt", func(t *testing.T) { testRetroHunt(t, newWorld(t)) })
	t.Run("killed mid-write", func(t *testing.T) {
		w := newWorld(t)
		testKilledMidWrite(t, w, func(env *Env, after int) { breakWrites(w, env, after) })
	})
}

// testArrivingData: a sequence of scheduled runs over data that keeps
// arriving, some of it late (within overlap + delay), yields every expected
// alert exactly once.
func testArrivingData(t *testing.T, w World) {
	all, hits := arriving(scnStart, scnStart.Add(2*time.Hour), 8*time.Minute)
	sc := scenario{events: all, cfg: wire.Config{InitialLookback: wire.Duration(10 * time.Minute)}}
	outs := sc.run(t, w, scnStart.Add(5*time.Minute), scnStart.Add(2*time.Hour+15*time.Minute), 5*time.Minute)
	got := w.Alerts(t)
	if a, b := fmt.Sprint(ids(hits)), fmt.Sprint(keys(got)); a != b {
		t.Fatalf("alerts differ:\nwant %s\ngot  %s", a, b)
	}
	created, _ := sumCreated(outs)
	if created != len(hits) {
		t.Fatalf("%d alerts created over all runs, want %d (each exactly once)", created, len(hits))
	}
	for _, o := range outs {
		if o.Status != wire.StatusSuccess {
			t.Fatalf("run %+v", o)
		}
	}
}

// testVeryLateData: an event later than overlap + delay is missed with the
// default overlap and found when the overlap covers its lateness.
func testVeryLateData(t *testing.T, newWorld func(t *testing.T) World) {
	late := evSpec{Time: scnStart.Add(20 * time.Minute), Visible: scnStart.Add(50 * time.Minute), Remote: "198.51.100.11", ReportID: "777"}
	for _, tc := range []struct {
		name    string
		overlap time.Duration
		found   bool
	}{{"default 10m overlap misses 30m lateness", 0, false}, {"45m overlap catches it", 45 * time.Minute, true}} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			sc := scenario{events: []evSpec{late}, cfg: wire.Config{Overlap: wire.Duration(tc.overlap), InitialLookback: wire.Duration(10 * time.Minute)}}
			sc.run(t, w, scnStart.Add(5*time.Minute), scnStart.Add(90*time.Minute), 5*time.Minute)
			got := w.Alerts(t)
			_, found := got[expectedID(late)]
			if found != tc.found || len(got) > 1 {
				t.Fatalf("late event found=%v (alerts %v), want %v", found, got, tc.found)
			}
		})
	}
}

// testRacingRunners: two runners (two serve instances) on the same
// schedule produce each alert once.
func testRacingRunners(t *testing.T, w World) {
	all, hits := arriving(scnStart, scnStart.Add(90*time.Minute), 2*time.Minute)
	sc := scenario{events: all, cfg: wire.Config{InitialLookback: wire.Duration(10 * time.Minute)}, holders: []string{"serve-a", "serve-b"}}
	outs := sc.run(t, w, scnStart.Add(5*time.Minute), scnStart.Add(100*time.Minute), 5*time.Minute)
	if a, b := fmt.Sprint(ids(hits)), fmt.Sprint(keys(w.Alerts(t))); a != b {
		t.Fatalf("alerts differ:\nwant %s\ngot  %s", a, b)
	}
	created, _ := sumCreated(outs)
	if created != len(hits) {
		t.Fatalf("%d creates, want %d", created, len(hits))
	}
	skipped := 0
	for _, o := range outs {
		if o.Status == wire.StatusSkipped {
			skipped++
		}
	}
	t.Logf("%d runs, %d skipped by the lease", len(outs), skipped)
}

// testCatchUp: a day of downtime is caught up in bounded windows.
func testCatchUp(t *testing.T, w World) {
	all, hits := arriving(scnStart, scnStart.Add(24*time.Hour), time.Minute)
	w.Publish(t, all)
	env := w.Env(t)
	clock := func() time.Time { return scnStart.Add(24*time.Hour + time.Minute) }
	// The detection last ran at scnStart (checkpoint there), then nothing
	// ran for a day.
	if _, err := incremental.RunIncremental(context.Background(), incremental.Request{Detection: "scn", Holder: "h",
		Config: wire.Config{InitialLookback: wire.Duration(time.Minute)}},
		func(context.Context, wire.Window) (wire.WindowStats, error) {
			return wire.WindowStats{}, nil
		},
		env.State, func() time.Time { return scnStart.Add(time.Minute) }); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	out, err := incremental.RunIncremental(context.Background(), incremental.Request{Detection: "scn", Holder: "h"},
		WindowRunner(env.Backend, w.Settings(), nil, clock), env.State, clock)
	elapsed := time.Since(t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Windows) != 25 || !out.CaughtUp || out.LagSeconds != 60 {
		t.Fatalf("windows %d caught up %v lag %v", len(out.Windows), out.CaughtUp, out.LagSeconds)
	}
	for _, wo := range out.Windows {
		if wo.Duration() > time.Hour || !wo.Committed {
			t.Fatalf("window %+v", wo)
		}
	}
	if a, b := fmt.Sprint(ids(hits)), fmt.Sprint(keys(w.Alerts(t))); a != b {
		t.Fatalf("alerts differ:\nwant %s\ngot  %s", a, b)
	}
	t.Logf("caught up 24h (%d events) in %d windows in %s: %.0f events/s", out.EventsScanned, len(out.Windows), elapsed.Round(time.Millisecond),
		float64(out.EventsScanned)/elapsed.Seconds())
}

// testRetroHunt: a connection from an address that was not on the feed
// when it happened is found by the retro-hunt after a load adds it, and
// marked retro_hunt; a scheduled run had not alerted on it.
func testRetroHunt(t *testing.T, w World) {
	planted := evSpec{Time: scnStart.Add(-2 * 24 * time.Hour), Remote: "192.0.2.77", ReportID: "424242"}
	planted.Visible = planted.Time
	other := evSpec{Time: scnStart.Add(-3 * time.Hour), Remote: "192.0.2.78", ReportID: "434343"}
	other.Visible = other.Time
	w.Publish(t, []evSpec{planted, other})
	env := w.Env(t)
	clock := func() time.Time { return scnStart }
	// A scheduled run with the old feed alerts on nothing.
	out, err := incremental.RunIncremental(context.Background(), incremental.Request{Detection: "scn", Holder: "h",
		Config: wire.Config{InitialLookback: wire.Duration(72 * time.Hour)}},
		WindowRunner(env.Backend, w.Settings(), nil, clock), env.State, clock)
	if err != nil || out.AlertsCreated != 0 {
		t.Fatalf("scheduled run: %v %+v", err, out)
	}
	added := correlation.NewIndicatorSet("ipsum")
	added.Add(correlation.Indicator{Prefix: netip.MustParsePrefix("192.0.2.77/32"), Count: 3, Level: 3, Feed: "ipsum"}, true)
	rout, err := RetroHunt(context.Background(), env, "scn", "retro-1", w.Settings(), wire.Config{}, added, nil, clock, nil)
	if err != nil || rout.AlertsCreated != 1 || len(rout.Windows) != 7 {
		t.Fatalf("retro-hunt: %v created=%d windows=%d", err, rout.AlertsCreated, len(rout.Windows))
	}
	got := w.Alerts(t)
	if len(got) != 1 || !got[expectedID(planted)] {
		t.Fatalf("alerts %v, want only the planted connection, marked retro_hunt", got)
	}
	// A second hunt finds it already present: nothing new is written.
	rout, err = RetroHunt(context.Background(), env, "scn", "retro-2", w.Settings(), wire.Config{RetroLookback: wire.Duration(3 * 24 * time.Hour)}, added, nil, clock, nil)
	if err != nil || rout.AlertsCreated != 0 || rout.AlreadyPresent != 1 {
		t.Fatalf("second hunt: %v %+v", err, rout)
	}
}

// testKilledMidWrite: a run whose alert write dies half-way (the plugin
// killed mid-bulk) does not advance the checkpoint; the next run loses
// nothing and duplicates nothing.
func testKilledMidWrite(t *testing.T, w World, breakWrites func(env *Env, after int)) {
	all, hits := arriving(scnStart, scnStart.Add(2*time.Hour), time.Minute)
	w.Publish(t, all)
	env := w.Env(t)
	clock := func() time.Time { return scnStart.Add(2*time.Hour + 2*time.Minute) }
	cfg := wire.Config{InitialLookback: wire.Duration(3 * time.Hour), MaxWindow: wire.Duration(3 * time.Hour)}
	breakWrites(env, 3)
	out, err := incremental.RunIncremental(context.Background(), incremental.Request{Detection: "scn", Holder: "h", Config: cfg},
		WindowRunner(env.Backend, w.Settings(), nil, clock), env.State, clock)
	if err == nil || out.Status != wire.StatusFailed {
		t.Fatalf("the broken run did not fail: %+v", out)
	}
	if doc, found, _ := incremental.ReadCheckpoint(context.Background(), env.State, "scn"); found && !doc.Checkpoint.IsZero() {
		t.Fatalf("checkpoint advanced to %s by a failed run", doc.Checkpoint)
	}
	partial := len(w.Alerts(t))
	if partial == 0 || partial >= len(hits) {
		t.Fatalf("%d alerts after the kill, want some but not all of %d", partial, len(hits))
	}
	env2 := w.Env(t) // the restarted plugin
	out, err = incremental.RunIncremental(context.Background(), incremental.Request{Detection: "scn", Holder: "h", Config: cfg},
		WindowRunner(env2.Backend, w.Settings(), nil, clock), env2.State, clock)
	if err != nil {
		t.Fatal(err)
	}
	if out.AlertsCreated != len(hits)-partial || out.AlreadyPresent != partial {
		t.Fatalf("rerun created %d already %d; want %d and %d", out.AlertsCreated, out.AlreadyPresent, len(hits)-partial, partial)
	}
	if a, b := fmt.Sprint(ids(hits)), fmt.Sprint(keys(w.Alerts(t))); a != b {
		t.Fatalf("alerts differ:\nwant %s\ngot  %s", a, b)
	}
}
