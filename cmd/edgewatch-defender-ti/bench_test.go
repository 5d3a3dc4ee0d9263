package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/engine"
	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/gctune"
	"github.com/edgewatch/edgewatch/internal/atomicfile"
	"github.com/edgewatch/edgewatch/internal/gen"
	"github.com/edgewatch/edgewatch/internal/procstat"
	"github.com/edgewatch/edgewatch/internal/testenv"
	"github.com/edgewatch/edgewatch/plugin"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// The plugin boundary benchmarks. Run them alone, on an otherwise idle
// machine:
//
//	go test -run '^$' -bench 'PluginStartup|FileRun' -benchtime 5x ./cmd/edgewatch-defender-ti/
//	EDGEWATCH_BENCH_EVENTS=1000000 go test -run '^$' -bench FileRun -benchtime 3x ./cmd/edgewatch-defender-ti/
//	EDGEWATCH_BENCH_SHAPE=alert-heavy go test -run '^$' -bench 'FileRun/(in-process-fresh|cli)' -benchtime 1x -count 8 ./cmd/edgewatch-defender-ti/
//
// EDGEWATCH_BENCH_SHAPE=alert-heavy generates issue 14's alert-heavy shape
// (1M events, ~21.6k alerts against IPsum level 1) instead of the
// few-alert default; -count interleaves the sub-benchmarks, so machine
// noise hits them alike.
//
// FileRun/in-process, in-process-fresh and plugin do the same work (the
// engine over the same files, every alert marshalled and written as NDJSON
// to io.Discard). in-process reuses the benchmark's warm process;
// in-process-fresh starts a new process per run (the fair baseline); plugin
// adds the go-plugin start, handshake, gRPC streaming and shutdown;
// plugin-reused is one long-lived plugin process, as `edgewatch serve` keeps
// it (compare with in-process: the gRPC boundary alone).
// FileRun/cli is the whole `edgewatch run` command. On a shared machine wall
// times are noisy; cpu-ms (user+sys of the child processes) compares
// in-process-fresh with cli independently of the load.

var (
	benchOnce sync.Once
	benchDir  string // removed by TestMain
	benchSet  gen.Result
	benchErr  error
)

func benchData(b *testing.B) gen.Result {
	b.Helper()
	feed := filepath.Join(testenv.IPsumDir(b), "levels", "1.txt") // the full level-1 IPsum list
	benchOnce.Do(func() {
		events := 200_000
		if v := os.Getenv("EDGEWATCH_BENCH_EVENTS"); v != "" {
			events, benchErr = strconv.Atoi(v)
			if benchErr != nil {
				return
			}
		}
		benchDir, benchErr = os.MkdirTemp("", "edgewatch-bench-")
		if benchErr != nil {
			return
		}
		cfg := gen.Config{Devices: 5000, Events: events, FeedPath: feed, Seed: 1}
		if benchErr = cfg.ApplyShape(os.Getenv("EDGEWATCH_BENCH_SHAPE"), map[string]bool{"events": os.Getenv("EDGEWATCH_BENCH_EVENTS") != ""}); benchErr != nil {
			return
		}
		benchSet, benchErr = gen.Generate(cfg, benchDir)
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchSet
}

func benchSettings(d gen.Result) wire.Settings {
	return wire.Settings{Source: "file", DeviceInfo: []string{d.DeviceInfoPath},
		NetworkEvents: []string{d.NetworkEventsPath}, Feeds: []string{d.FeedPath}}
}

// ndjsonObserver is the in-process equivalent of the host's output: the
// engine's documents, written as they are.
type ndjsonObserver struct {
	w *bufio.Writer
	n int
}

func (o *ndjsonObserver) Progress(wire.Progress) {}
func (o *ndjsonObserver) Alerts(_ context.Context, batch engine.Batch) error {
	o.n += len(batch.Alerts)
	_, err := o.w.Write(batch.NDJSON)
	return err
}

// ndjsonStream is the host side of the same output over the plugin.
type ndjsonStream struct {
	w        *bufio.Writer
	n        int
	progress int
}

func (s *ndjsonStream) Progress(context.Context, plugin.Progress) error {
	s.progress++
	return nil
}
func (s *ndjsonStream) Alerts(_ context.Context, batch plugin.AlertBatch) error {
	s.n += batch.Len()
	_, err := s.w.Write(batch.NDJSON)
	return err
}

// pluginGC gives this process the plugin's GC settings (gctune) and
// returns the function that restores the previous ones.
func pluginGC() (restore func()) {
	pct := debug.SetGCPercent(100)
	debug.SetGCPercent(pct)
	lim := debug.SetMemoryLimit(-1)
	gctune.Apply()
	return func() {
		debug.SetGCPercent(pct)
		debug.SetMemoryLimit(lim)
	}
}

// envInProcess carries the settings JSON to the in-process helper process.
const envInProcess = "EDGEWATCH_BENCH_INPROCESS"

// envInProcessOut names the file the in-process helper writes its NDJSON
// to (default: none, io.Discard) as `edgewatch run --out FILE` does: a
// temporary file, synced, renamed over the target.
const envInProcessOut = "EDGEWATCH_BENCH_OUT"

// runInProcess is one in-process engine run with NDJSON output to io.Discard
// (or to the file $EDGEWATCH_BENCH_OUT).
func runInProcess(raw string) (err error) {
	gctune.Apply() // as the plugin process does
	var s wire.Settings
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		return err
	}
	gctune.ForRun(s.Source, len(s.GroupBy) > 0)
	var out io.Writer = io.Discard
	if p := os.Getenv(envInProcessOut); p != "" {
		f, cerr := atomicfile.Create(p) // as the CLI writes its output
		if cerr != nil {
			return cerr
		}
		defer func() { // err: the run's result
			if err == nil {
				err = f.Commit()
			}
			f.Abort() // no-op after Commit
		}()
		out = f
	}
	obs := &ndjsonObserver{w: bufio.NewWriterSize(out, 256<<10)}
	if _, err := engine.Run(context.Background(), s, nil, obs); err != nil {
		return err
	}
	return obs.w.Flush()
}

func BenchmarkFileRun(b *testing.B) {
	data := benchData(b)
	settings := benchSettings(data)
	raw, err := json.Marshal(settings)
	if err != nil {
		b.Fatal(err)
	}
	pluginPath := filepath.Join(binaries(b), "edgewatch-defender-ti")
	hostPath := filepath.Join(binaries(b), "edgewatch")
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)

	b.Run("in-process", func(b *testing.B) {
		defer pluginGC()()
		var alerts int
		for b.Loop() {
			obs := &ndjsonObserver{w: bufio.NewWriterSize(io.Discard, 256<<10)}
			if _, err := engine.Run(ctx, settings, nil, obs); err != nil {
				b.Fatal(err)
			}
			obs.w.Flush()
			alerts = obs.n
		}
		reportRun(b, data.Events, alerts)
	})
	// The same in-process run in a fresh process (a cold heap, as the
	// plugin process has): the fair baseline for "plugin".
	b.Run("in-process-fresh", func(b *testing.B) {
		exe, err := os.Executable()
		if err != nil {
			b.Fatal(err)
		}
		benchProcess(b, data.Events, func() *exec.Cmd {
			cmd := exec.Command(exe)
			cmd.Env = append(os.Environ(), envInProcess+"="+string(raw))
			return cmd
		})
	})
	b.Run("plugin", func(b *testing.B) {
		var alerts, progress int
		for b.Loop() {
			c, err := plugin.Launch(ctx, pluginPath, plugin.Options{Logger: quiet})
			if err != nil {
				b.Fatal(err)
			}
			st := &ndjsonStream{w: bufio.NewWriterSize(io.Discard, 256<<10)}
			if _, err := c.Run(ctx, plugin.RunRequest{Settings: raw}, st); err != nil {
				c.Close()
				b.Fatal(err)
			}
			st.w.Flush()
			c.Close()
			alerts, progress = st.n, st.progress
		}
		reportRun(b, data.Events, alerts)
		b.ReportMetric(float64(progress), "progress-msgs")
	})
	// The plugin process as `edgewatch serve` keeps it: launched once, one
	// Run per scheduled window. Compare with "in-process" (a warm process
	// too): the difference is the gRPC boundary alone.
	b.Run("plugin-reused", func(b *testing.B) {
		c, err := plugin.Launch(ctx, pluginPath, plugin.Options{Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		var alerts int
		for b.Loop() {
			st := &ndjsonStream{w: bufio.NewWriterSize(io.Discard, 256<<10)}
			if _, err := c.Run(ctx, plugin.RunRequest{Settings: raw}, st); err != nil {
				b.Fatal(err)
			}
			st.w.Flush()
			alerts = st.n
		}
		reportRun(b, data.Events, alerts)
	})
	// The host waits for its plugin, so the plugin's CPU time is included
	// in the host's children and hence in cpu-ms.
	b.Run("cli", func(b *testing.B) {
		benchProcess(b, data.Events, func() *exec.Cmd {
			return exec.Command(hostPath, "run", "--device-info", data.DeviceInfoPath, "--network-events",
				data.NetworkEventsPath, "--feed", data.FeedPath, "--out", os.DevNull, "--log-level", "error")
		})
	})
}

// reportRun reports events/s (events per iteration) and the alerts of
// the last iteration.
func reportRun(b *testing.B, events, alerts int) {
	reportEventRate(b, events)
	b.ReportMetric(float64(alerts), "alerts")
}

// reportEventRate reports events/s, for events read per iteration.
func reportEventRate(b *testing.B, events int) {
	b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// benchProcess runs a fresh process from newCmd per iteration, each over
// events events, and reports events/s, its CPU time (cpu-ms) and the
// largest peak RSS (peak-rss-MB).
func benchProcess(b *testing.B, events int, newCmd func() *exec.Cmd) {
	b.Helper()
	var cpu time.Duration
	var rss int64
	for b.Loop() {
		cmd := newCmd()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%v\n%s", err, out)
		}
		cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		rss = max(rss, procstat.ChildPeakRSS(cmd.ProcessState))
	}
	reportEventRate(b, events)
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms")
	b.ReportMetric(float64(rss)/(1<<20), "peak-rss-MB")
}

// BenchmarkPluginStartup: start the real plugin, handshake (AutoMTLS),
// Describe, and shut it down. launch-ms is start-up + handshake + Describe
// alone.
func BenchmarkPluginStartup(b *testing.B) {
	path := filepath.Join(binaries(b), "edgewatch-defender-ti")
	quiet := slog.New(slog.DiscardHandler)
	var launch float64
	for b.Loop() {
		c, err := plugin.Launch(context.Background(), path, plugin.Options{Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		launch += float64(c.StartupTime().Microseconds()) / 1000
		c.Close()
	}
	b.ReportMetric(launch/float64(b.N), "launch-ms")
}
