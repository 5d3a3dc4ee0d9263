package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/edgewatch/edgewatch/connectors"
	"github.com/edgewatch/edgewatch/connectors/file"
	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/internal/gen"
	"github.com/edgewatch/edgewatch/internal/procstat"
)

// defaultBenchFeed is IPsum levels/1.txt: under $EDGEWATCH_IPSUM_DIR when
// set, else the repository's testdata/ipsum (relative: run from the
// repository root, as `make bench` does).
func defaultBenchFeed() string {
	dir := os.Getenv("EDGEWATCH_IPSUM_DIR")
	if dir == "" {
		dir = filepath.Join("testdata", "ipsum")
	}
	return filepath.Join(dir, "levels", "1.txt")
}

func isFile(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// generateInChild makes the bench generate its dataset in a child process
// (so generation does not count in the peak RSS); tests generate in-process.
var generateInChild = true

// benchResult is what one bench run prints.
type benchResult struct {
	Dataset       string  `json:"dataset"`
	Events        int64   `json:"events"`
	Bytes         int64   `json:"bytes"`
	GOMAXPROCS    int     `json:"gomaxprocs"`
	Indicators    int     `json:"indicators"`
	FacingPairs   int     `json:"facing_pairs"`
	Candidates    int64   `json:"candidates"`
	Skipped       int64   `json:"skipped"`
	Alerts        int     `json:"alerts"`
	UniqueAlerts  int     `json:"unique_alerts"`
	FeedSeconds   float64 `json:"feed_seconds"`   // parse the indicator feed
	FacingSeconds float64 `json:"facing_seconds"` // read DeviceInfo, build the facing set
	EventSeconds  float64 `json:"event_seconds"`  // read, match and alert the network events
	WallSeconds   float64 `json:"wall_seconds"`
	CPUSeconds    float64 `json:"cpu_seconds"` // user+system CPU of the detection (less sensitive to a busy machine)
	EventsPerSec  float64 `json:"events_per_sec"`
	MBPerSec      float64 `json:"mb_per_sec"`
	PeakRSSMB     float64 `json:"peak_rss_mb"` // VmHWM after the detection, before the baseline
	BaselineEPS   float64 `json:"baseline_events_per_sec,omitempty"`
	BaselineSecs  float64 `json:"baseline_seconds,omitempty"`
	BaselineCPU   float64 `json:"baseline_cpu_seconds,omitempty"`
	Ratio         float64 `json:"ratio_vs_baseline,omitempty"`     // events/s over baseline events/s (wall clock)
	CPURatio      float64 `json:"cpu_ratio_vs_baseline,omitempty"` // baseline CPU seconds over detection CPU seconds
	BaselineError int64   `json:"baseline_errors,omitempty"`
}

func benchMain(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("edgewatch-gen bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg gen.Config
	genFlags(fs, &cfg)
	// Bench defaults: 1M events over 5000 devices against IPsum level 1.
	fs.Lookup("events").DefValue = "1000000"
	cfg.Events = 1_000_000
	fs.Lookup("devices").DefValue = "5000"
	cfg.Devices = 5000
	dir := fs.String("dir", ".cache/bench", "where generated datasets are kept and reused")
	feed := fs.String("indicators", "", "indicator feed for the detection (default: --feed, else "+defaultBenchFeed()+" when present)")
	workers := fs.Int("workers", 0, "decoding goroutines (0 = GOMAXPROCS)")
	baseline := fs.Bool("baseline", true, "also decode the events file with encoding/json and report the ratio")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	compare := fs.Int("compare", 0, "also run N events in a child process and compare peak RSS (e.g. 4000000)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: edgewatch-gen bench [flags]\n\nGenerates (or reuses) a dataset under --dir, runs the file-mode detection\nin this process and reports events/s, peak RSS and the encoding/json baseline.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := applyShape(fs, &cfg); err != nil {
		return err
	}
	if cfg.FeedPath == "" {
		if def := defaultBenchFeed(); isFile(def) {
			cfg.FeedPath = def
		} else {
			fmt.Fprintf(stderr, "edgewatch-gen bench: %s not found (run from the repository root or set EDGEWATCH_IPSUM_DIR): the feed is generated\n", def)
		}
	}
	if *feed == "" {
		*feed = cfg.FeedPath
	}
	ds, err := ensureDataset(cfg, *dir, stderr)
	if err != nil {
		return err
	}
	if *feed == "" {
		*feed = ds.FeedPath
	}

	runtime.GC()
	cpu0 := cpuSeconds()
	res, err := detect(context.Background(), ds, *feed, *workers)
	if err != nil {
		return err
	}
	res.CPUSeconds = cpuSeconds() - cpu0
	res.PeakRSSMB = peakRSSMB()
	if *baseline {
		cpu1 := cpuSeconds()
		n, bad, secs, err := baselineDecode(ds.NetworkEventsPath)
		if err != nil {
			return fmt.Errorf("baseline: %w", err)
		}
		res.BaselineCPU = cpuSeconds() - cpu1
		if res.CPUSeconds > 0 {
			res.CPURatio = res.BaselineCPU / res.CPUSeconds
		}
		res.BaselineSecs = secs
		res.BaselineEPS = float64(n) / secs
		res.BaselineError = bad
		if res.BaselineEPS > 0 {
			res.Ratio = res.EventsPerSec / res.BaselineEPS
		}
	}
	var other *benchResult
	if *compare > 0 {
		if other, err = benchChild(args, *compare, stderr); err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if other != nil {
			return enc.Encode([]benchResult{res, *other})
		}
		return enc.Encode(res)
	}
	fmt.Fprintf(stdout, "dataset        %s (%.0f MB, %d events)\n", res.Dataset, float64(res.Bytes)/1e6, res.Events)
	fmt.Fprintf(stdout, "indicators     %d   facing pairs %d   GOMAXPROCS %d\n", res.Indicators, res.FacingPairs, res.GOMAXPROCS)
	fmt.Fprintf(stdout, "candidates     %d   skipped rows %d   alerts %d (%d distinct ids)\n", res.Candidates, res.Skipped, res.Alerts, res.UniqueAlerts)
	fmt.Fprintf(stdout, "wall           %.3f s (feed %.3f, facing %.3f, events %.3f)   cpu %.3f s\n", res.WallSeconds,
		res.FeedSeconds, res.FacingSeconds, res.EventSeconds, res.CPUSeconds)
	fmt.Fprintf(stdout, "throughput     %.0f events/s   %.0f MB/s\n", res.EventsPerSec, res.MBPerSec)
	fmt.Fprintf(stdout, "peak RSS       %.1f MB\n", res.PeakRSSMB)
	if *baseline {
		fmt.Fprintf(stdout, "baseline       encoding/json decode only: %.0f events/s (%.3f s, cpu %.3f s)\n", res.BaselineEPS, res.BaselineSecs, res.BaselineCPU)
		fmt.Fprintf(stdout, "ratio          %.1fx faster (wall), %.1fx less CPU\n", res.Ratio, res.CPURatio)
	}
	if other != nil {
		fmt.Fprintf(stdout, "compare        %d events: %.0f events/s, peak RSS %.1f MB (%d events: %.1f MB)\n",
			other.Events, other.EventsPerSec, other.PeakRSSMB, res.Events, res.PeakRSSMB)
	}
	return nil
}

// benchChild reruns the bench with n events in a child process (peak RSS
// is per process) and returns its result.
func benchChild(args []string, n int, stderr io.Writer) (*benchResult, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	child := []string{"bench"}
	skip := false
	for _, a := range args {
		if skip {
			skip = false
			continue
		}
		name := strings.TrimLeft(strings.SplitN(a, "=", 2)[0], "-")
		switch name {
		case "events", "compare", "json", "baseline":
			if !strings.Contains(a, "=") && name != "json" && name != "baseline" {
				skip = true // the value is the next argument
			}
			continue
		}
		child = append(child, a)
	}
	child = append(child, "--events", strconv.Itoa(n), "--json", "--baseline=false")
	cmd := exec.Command(self, child...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("bench --events %d: %w", n, err)
	}
	var r benchResult
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		return nil, fmt.Errorf("bench --events %d: %w", n, err)
	}
	return &r, nil
}

// ensureDataset generates the dataset for cfg under dir unless it is there
// already. Generation runs in a child process so its memory does not count
// in this process's peak RSS.
func ensureDataset(cfg gen.Config, dir string, stderr io.Writer) (gen.Result, error) {
	feedTag := "synthetic"
	if cfg.FeedPath != "" {
		feedTag = strings.TrimSuffix(filepath.Base(cfg.FeedPath), filepath.Ext(cfg.FeedPath))
	}
	name := fmt.Sprintf("%s-%s-e%d-d%d-s%d-f%s-b%d", cmpOr(cfg.Format, gen.FormatNDJSON), cmpOr(cfg.Columns, gen.ColumnsTypical),
		cfg.Events, cfg.Devices, cfg.Seed, feedTag, cfg.BadRows)
	if cfg.Gzip {
		name += "-gz"
	}
	for _, sh := range []struct {
		tag string
		v   float64
	}{{"fs", cfg.FacingShare}, {"is", cfg.InboundShare}, {"fh", cfg.FeedHitShare}} {
		if sh.v > 0 {
			name += "-" + sh.tag + strconv.FormatFloat(sh.v, 'g', -1, 64)
		}
	}
	out := filepath.Join(dir, name)
	marker := filepath.Join(out, "dataset.json")
	var res gen.Result
	if b, err := os.ReadFile(marker); err == nil && json.Unmarshal(b, &res) == nil {
		return res, nil
	}
	if !generateInChild {
		if res, err := gen.Generate(cfg, out); err != nil {
			return res, err
		}
		res, err := describe(cfg, out)
		if err != nil {
			return res, err
		}
		b, _ := json.MarshalIndent(res, "", "  ")
		return res, os.WriteFile(marker, b, 0o644)
	}
	self, err := os.Executable()
	if err != nil {
		return res, err
	}
	args := []string{
		"--devices", strconv.Itoa(cfg.Devices), "--events", strconv.Itoa(cfg.Events),
		"--device-info-rows", strconv.Itoa(cfg.DeviceInfoRows), "--seed", strconv.FormatUint(cfg.Seed, 10),
		"--format", cmpOr(cfg.Format, gen.FormatNDJSON), "--columns", cmpOr(cfg.Columns, gen.ColumnsTypical),
		"--bad-rows", strconv.Itoa(cfg.BadRows), "--out", out, "--quiet",
	}
	if cfg.FeedPath != "" {
		args = append(args, "--feed", cfg.FeedPath)
	}
	if cfg.Gzip {
		args = append(args, "--gzip")
	}
	for _, sh := range []struct {
		flag string
		v    float64
	}{{"--facing-share", cfg.FacingShare}, {"--inbound-share", cfg.InboundShare}, {"--feed-hit-share", cfg.FeedHitShare}} {
		if sh.v > 0 {
			args = append(args, sh.flag, strconv.FormatFloat(sh.v, 'g', -1, 64))
		}
	}
	fmt.Fprintf(stderr, "generating %s ...\n", out)
	cmd := exec.Command(self, args...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, stderr
	if err := cmd.Run(); err != nil {
		return res, fmt.Errorf("generate %s: %w", out, err)
	}
	// Re-run in-process for the Result (cheap: only paths and counts are
	// needed, so recompute them from the files instead of regenerating).
	res, err = describe(cfg, out)
	if err != nil {
		return res, err
	}
	b, _ := json.MarshalIndent(res, "", "  ")
	return res, os.WriteFile(marker, b, 0o644)
}

// describe rebuilds a Result from the files in out.
func describe(cfg gen.Config, out string) (gen.Result, error) {
	ext := ".ndjson"
	if cfg.Format == gen.FormatCSV {
		ext = ".csv"
	}
	if cfg.Gzip {
		ext += ".gz"
	}
	res := gen.Result{
		DeviceInfoPath:    filepath.Join(out, "device_info"+ext),
		NetworkEventsPath: filepath.Join(out, "network_events"+ext),
		FeedPath:          cfg.FeedPath,
		Events:            cfg.Events,
	}
	if res.FeedPath == "" {
		res.FeedPath = filepath.Join(out, "feed.txt")
	}
	st, err := os.Stat(res.NetworkEventsPath)
	if err != nil {
		return res, err
	}
	res.EventBytes = st.Size()
	return res, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// detect is the file-mode detection, as the engine runs it: indicators,
// facing set, pushed-down event read, match, alert documents.
func detect(ctx context.Context, ds gen.Result, feedPath string, workers int) (benchResult, error) {
	res := benchResult{Dataset: filepath.Dir(ds.NetworkEventsPath), Bytes: ds.EventBytes, GOMAXPROCS: runtime.GOMAXPROCS(0)}
	start := time.Now()

	set := correlation.NewIndicatorSet("ipsum")
	f, err := os.Open(feedPath)
	if err != nil {
		return res, err
	}
	_, err = correlation.ParseFeed(f, feedPath, correlation.FeedOptions{LevelHint: correlation.LevelFromFileName(feedPath)}, set)
	f.Close()
	if err != nil {
		return res, err
	}
	res.Indicators = set.Len()
	res.FeedSeconds = time.Since(start).Seconds()
	t1 := time.Now()

	src := file.New(file.Options{DeviceInfo: []string{ds.DeviceInfoPath}, NetworkEvents: []string{ds.NetworkEventsPath}, Workers: workers})
	var fb correlation.FacingBuilder
	if _, err := src.DeviceInfo(ctx, connectors.FacingQuery{}, func(di *correlation.DeviceInfo) error {
		fb.Add(di)
		return nil
	}); err != nil {
		return res, err
	}
	facing := fb.Build()
	res.FacingPairs = facing.Len()
	res.FacingSeconds = time.Since(t1).Seconds()
	t2 := time.Now()

	m := correlation.NewMatcher(facing, set, correlation.MatchOptions{})
	rule := correlation.DefaultRule()
	ids := map[string]struct{}{}
	var out []byte
	rep, err := src.NetworkEvents(ctx, connectors.EventQuery{Facing: facing, Indicators: set}, func(ev *correlation.NetworkEvent) error {
		match, _, ok := m.Match(ev)
		if !ok {
			return nil
		}
		a := correlation.NewAlert(ev, match, rule, start)
		out = append(a.AppendJSON(out[:0]), '\n')
		res.Alerts++
		ids[a.Event.ID] = struct{}{}
		return nil
	})
	if err != nil {
		return res, err
	}
	res.EventSeconds = time.Since(t2).Seconds()
	wall := time.Since(start).Seconds()
	res.Events = rep.Read
	res.Candidates = rep.Passed
	res.Skipped = rep.SkippedTotal()
	res.UniqueAlerts = len(ids)
	res.WallSeconds = wall
	res.EventsPerSec = float64(rep.Read) / wall
	res.MBPerSec = float64(res.Bytes) / 1e6 / wall
	return res, nil
}

// ahRow is the baseline's target: the Advanced Hunting network event
// columns the detection reads, decoded the plain way.
type ahRow struct {
	Timestamp                    string          `json:"Timestamp"`
	DeviceID                     string          `json:"DeviceId"`
	DeviceName                   string          `json:"DeviceName"`
	ActionType                   string          `json:"ActionType"`
	RemoteIP                     string          `json:"RemoteIP"`
	RemotePort                   json.RawMessage `json:"RemotePort"` // number or string
	LocalIP                      string          `json:"LocalIP"`
	LocalPort                    json.RawMessage `json:"LocalPort"`
	Protocol                     string          `json:"Protocol"`
	InitiatingProcessFileName    string          `json:"InitiatingProcessFileName"`
	InitiatingProcessFolderPath  string          `json:"InitiatingProcessFolderPath"`
	InitiatingProcessCommandLine string          `json:"InitiatingProcessCommandLine"`
	InitiatingProcessID          int64           `json:"InitiatingProcessId"`
	InitiatingProcessAccountName string          `json:"InitiatingProcessAccountName"`
	ReportID                     int64           `json:"ReportId"`
	AdditionalFields             json.RawMessage `json:"AdditionalFields"`
}

// baselineDecode decodes every line of an NDJSON file with encoding/json:
// what a straightforward reader costs before any matching.
func baselineDecode(path string) (rows, bad int64, secs float64, err error) {
	start := time.Now()
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(bufio.NewReaderSize(f, 1<<20))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var r ahRow
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			bad++
		}
		rows++
	}
	if err := sc.Err(); err != nil {
		return rows, bad, 0, err
	}
	return rows, bad, time.Since(start).Seconds(), nil
}

// cpuSeconds is the process's user+system CPU time so far.
func cpuSeconds() float64 { return procstat.CPU().Seconds() }

// peakRSSMB is the process's peak resident set, in MB (0 when unknown).
func peakRSSMB() float64 { return float64(procstat.PeakRSS()) / (1 << 20) }
