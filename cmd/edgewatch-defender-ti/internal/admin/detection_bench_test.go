package admin

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/engine"
	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/incremental"
	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/stack"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/connectors/conformance"
	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/internal/testenv"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// The benchmark dataset of `make bench-cluster` (cmd/edgewatch-defender-ti/edgewatch-bench-cluster
// --keep): 2M DeviceNetworkEvents over 7 days (2025-11-03..09) and 20k
// DeviceInfo rows, in the OpenSearch test cluster. Override the names with
// EDGEWATCH_BENCH_EVENTS_INDEX / EDGEWATCH_BENCH_DEVICEINFO_INDEX.
const (
	benchEvents     = "bench-networkevents-s1-d4000-e2000000"
	benchDeviceInfo = "bench-deviceinfo-s1-d4000-e2000000"
)

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// benchEnv opens the benchmark indices with a fresh state and alert index
// (deleted afterwards) and the IPsum feed at level 1.
func benchEnv(b *testing.B) (*Env, wire.Settings, *cluster.Client) {
	b.Helper()
	testenv.Require(b, testenv.OpenSearch)
	c := connectEnvB(b)
	ev, di := envOr("EDGEWATCH_BENCH_EVENTS_INDEX", benchEvents), envOr("EDGEWATCH_BENCH_DEVICEINFO_INDEX", benchDeviceInfo)
	resp, err := c.Do(context.Background(), cluster.Request{Method: http.MethodHead, Path: "/" + ev})
	if err != nil || resp.Status != http.StatusOK {
		b.Skipf("benchmark index %s not loaded (make bench-cluster with --keep)", ev)
	}
	feedPath := os.Getenv("EDGEWATCH_BENCH_FEED")
	if feedPath == "" {
		feedPath = filepath.Join(testenv.IPsumDir(b), "ipsum.txt")
	}
	set, _, err := engine.LoadFeedFiles(context.Background(), []string{feedPath}, correlation.FeedOptions{Name: "ipsum", MinLevel: 1})
	if err != nil {
		b.Fatalf("feed: %v", err)
	}
	alerts, state := conformance.UniqueIndex("edgewatch-alerts-bench"), conformance.UniqueIndex("edgewatch-state-bench")
	b.Cleanup(func() {
		for _, idx := range []string{alerts, state} {
			_ = c.Call(context.Background(), "delete", cluster.Request{Method: http.MethodDelete, Path: "/" + idx}, nil)
		}
	})
	s := wire.Settings{Source: "opensearch", Cluster: &wire.ClusterSettings{
		DeviceInfoIndex: di, NetworkEventsIndex: ev, AlertIndex: alerts, IndicatorFeed: "ipsum", Profile: cluster.ProfileAdvancedHunting,
	}}
	env, err := ClusterEnv(c, s)
	if err != nil {
		b.Fatal(err)
	}
	env.State = stack.NewStateStore(c, state)
	env.Backend.Indicators = func(context.Context) (*correlation.IndicatorSet, error) { return set, nil }
	return env, s, c
}

// withFacingState is env with its facing step served from detection's
// facing state in env.State through cache (as runIncremental does), unless
// EDGEWATCH_BENCH_NO_FACING_CACHE is set.
func withFacingState(env *Env, s wire.Settings, detection string, cache *FacingCache) *Env {
	if os.Getenv("EDGEWATCH_BENCH_NO_FACING_CACHE") != "" {
		return env
	}
	e := *env
	(Deps{Facing: cache}).withFacingState(&e, s, detection, wire.Config{})
	return &e
}

func connectEnvB(b *testing.B) *cluster.Client {
	cfg, _, err := cluster.ConfigFromEnv("EDGEWATCH_OPENSEARCH")
	if err != nil {
		b.Fatal(err)
	}
	c, err := opensearchConnect(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// seedCheckpoint commits cp as the detection's checkpoint.
func seedCheckpoint(b *testing.B, st incremental.StateStore, det string, cp time.Time) {
	b.Helper()
	_, err := incremental.RunIncremental(context.Background(), incremental.Request{Detection: det, Holder: "seed",
		Config: wire.Config{InitialLookback: wire.Duration(time.Second), Delay: wire.Duration(time.Second)}},
		func(context.Context, wire.Window) (wire.WindowStats, error) {
			return wire.WindowStats{}, nil
		},
		st, func() time.Time { return cp.Add(time.Second) })
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkCatchUp24h catches up one day of the benchmark dataset
// (2025-11-08, ~286k events) from a checkpoint a day old, in 1h windows,
// writing the alerts; it reports events in the day per second.
func BenchmarkCatchUp24h(b *testing.B) {
	env, s, c := benchEnv(b)
	day := time.Date(2025, 11, 8, 0, 0, 0, 0, time.UTC)
	var inDay struct {
		Count int64 `json:"count"`
	}
	q := map[string]any{"query": map[string]any{"range": map[string]any{"Timestamp": map[string]any{"gte": day.Add(-10 * time.Minute), "lt": day.Add(24 * time.Hour)}}}}
	if err := c.Call(context.Background(), "count", cluster.Request{Method: http.MethodPost, Path: "/" + s.Cluster.NetworkEventsIndex + "/_count", Body: cluster.JSON(q)}, &inDay); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		det := "bench-catchup-" + string(rune('a'+i%26))
		b.StopTimer()
		seedCheckpoint(b, env.State, det, day)
		denv := withFacingState(env, s, det, &FacingCache{})
		b.StartTimer()
		clock := func() time.Time { return day.Add(24*time.Hour + time.Minute) }
		t0 := time.Now()
		out, err := incremental.RunIncremental(context.Background(), incremental.Request{Detection: det, Holder: "bench"},
			WindowRunner(denv.Backend, s, nil, clock), env.State, clock)
		if err != nil {
			b.Fatal(err)
		}
		el := time.Since(t0)
		b.ReportMetric(float64(inDay.Count)/el.Seconds(), "events/s")
		b.ReportMetric(float64(len(out.Windows)), "windows")
		b.ReportMetric(float64(out.EventsScanned), "candidates")
		b.ReportMetric(float64(out.AlertsCreated+out.AlreadyPresent), "alerts")
	}
}

// BenchmarkIncrementalNoNewData is a scheduled run that finds nothing new:
// the checkpoint is current, the window is overlap + interval (15 min) at
// the end of the dataset. The plugin process is long-lived: its facing
// state is in memory (checked against the state index, then the rows
// newer than the watermark less the overlap are read).
func BenchmarkIncrementalNoNewData(b *testing.B) {
	benchIdle(b, "bench-idle", func() *FacingCache { return shared })
}

var shared = &FacingCache{}

// BenchmarkIncrementalNoNewDataRestart is the same run by a plugin process
// that has just started: its facing state comes from the state index.
func BenchmarkIncrementalNoNewDataRestart(b *testing.B) {
	benchIdle(b, "bench-idle-restart", func() *FacingCache { return &FacingCache{} })
}

func benchIdle(b *testing.B, det string, cache func() *FacingCache) {
	env, s, _ := benchEnv(b)
	end := time.Date(2025, 11, 10, 0, 0, 0, 0, time.UTC)
	seedCheckpoint(b, env.State, det, end)
	run := func(i int) {
		now := end.Add(time.Duration(i+1)*5*time.Minute + time.Minute)
		clock := func() time.Time { return now }
		denv := withFacingState(env, s, det, cache())
		out, err := incremental.RunIncremental(context.Background(), incremental.Request{Detection: det, Holder: "bench"},
			WindowRunner(denv.Backend, s, nil, clock), env.State, clock)
		if err != nil || out.Status != wire.StatusSuccess || len(out.Windows) != 1 {
			b.Fatalf("%v %+v", err, out)
		}
	}
	run(0) // the first run builds the facing state
	b.ResetTimer()
	for i := range b.N {
		run(i + 1)
	}
}
