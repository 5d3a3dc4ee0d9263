package benchcluster

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/edgewatch/edgewatch/connectors"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/internal/gen"
	"github.com/edgewatch/edgewatch/internal/procstat"
)

// Options configures a Run.
type Options struct {
	Client   *cluster.Client
	Events   int    // network events (default 2,000,000)
	Devices  int    // devices; DeviceInfo rows are 5 per device (default 4,000: 20,000 rows)
	FeedPath string // IPsum file (ipsum.txt: level 1 = every address); planted and loaded
	MinLevel int    // indicator level kept (default 1)
	Seed     uint64
	Rounds   int  // timed rounds (default 3)
	PageSize int  // search page size (default cluster.DefaultPageSize)
	BulkMB   int  // bulk request size in MB (default 8)
	Keep     bool // keep the indices for the next run
	// IndexPrefix names the indices (default "bench": bench-deviceinfo-…
	// and bench-networkevents-…); a shared cluster's users pick their own.
	IndexPrefix string
	// NaiveRounds is how many rounds also time the naive baseline
	// (default Rounds; at least 1: its matches are checked against
	// edgewatch's). The baseline takes ~10× longer and loads the store.
	NaiveRounds int
	// Trace prints each edgewatch round's requests (path, duration, sizes).
	Trace bool
	// NoPrepare runs the facing step and the event step one after the
	// other, without the event step's preparation (for comparison).
	NoPrepare bool
	// FacingRead is edgewatch's facing read (cluster.FacingReadAuto or
	// cluster.FacingReadRows, for comparison); the naive baseline always
	// reads rows.
	FacingRead string
	Log        io.Writer
}

// Result is what a Run measured. Durations are medians over the rounds.
type Result struct {
	Machine        string  `json:"machine"` // the CPU this ran on
	Flavor         string  `json:"flavor"`
	Version        string  `json:"version"`
	Events         int64   `json:"events"`
	DeviceInfoRows int64   `json:"device_info_rows"`
	Indicators     int     `json:"indicators"`
	LoadSeconds    float64 `json:"load_seconds"` // 0 when the indices were reused

	FacingPairs int   `json:"facing_pairs"`
	Candidates  int64 `json:"candidates"` // events edgewatch read after push-down
	Matches     int   `json:"matches"`
	FloorCount  int64 `json:"floor_count"` // the floor's _count
	NaiveRead   int64 `json:"naive_read"`  // inbound events the naive baseline read

	EdgewatchMS     float64 `json:"edgewatch_ms"`
	FacingMS        float64 `json:"facing_ms"` // of which the facing step
	FloorMS         float64 `json:"floor_ms"`
	NaiveMS         float64 `json:"naive_ms"`
	FloorRatio      float64 `json:"edgewatch_over_floor"` // target <= 2
	NaiveSpeedup    float64 `json:"naive_over_edgewatch"` // target >= 5
	EventFloorRatio float64 `json:"event_step_over_floor"`

	Plan         cluster.EventPlan  `json:"plan"`
	FacingPlan   cluster.FacingPlan `json:"facing_plan"`
	PeakRSSBytes int64              `json:"peak_rss_bytes"` // detection phase (edgewatch rounds)

	// CPU time of an edgewatch round (medians): the client's (this
	// process: decoding, matching) and the cluster nodes' (-1 unless every
	// node runs on this machine), and the nodes' for the floor's _count.
	ClientCPUMS      float64 `json:"client_cpu_ms"`
	ServerCPUMS      float64 `json:"server_cpu_ms"`
	FloorServerCPUMS float64 `json:"floor_server_cpu_ms"`
}

func (o *Options) defaults() error {
	if o.Client == nil {
		return errors.New("benchcluster: no cluster client")
	}
	if o.Events <= 0 {
		o.Events = 2_000_000
	}
	if o.Devices <= 0 {
		o.Devices = 4000
	}
	if o.MinLevel <= 0 {
		o.MinLevel = 1
	}
	if o.Rounds <= 0 {
		o.Rounds = 3
	}
	if o.PageSize <= 0 {
		o.PageSize = cluster.DefaultPageSize
	}
	if o.NaiveRounds <= 0 || o.NaiveRounds > o.Rounds {
		o.NaiveRounds = o.Rounds
	}
	if o.IndexPrefix == "" {
		o.IndexPrefix = "bench"
	}
	if o.BulkMB <= 0 {
		o.BulkMB = 8
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.FeedPath == "" {
		return errors.New("benchcluster: no feed file (an IPsum ipsum.txt)")
	}
	return nil
}

// Run loads the dataset and measures.
func Run(ctx context.Context, o Options) (*Result, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	c := o.Client
	res := &Result{Flavor: string(c.Flavor()), Version: c.Info().Version}
	logf := func(format string, args ...any) { fmt.Fprintf(o.Log, format+"\n", args...) }

	cfg := gen.Config{Devices: o.Devices, Events: o.Events, FeedPath: o.FeedPath, Seed: o.Seed}
	w, err := gen.NewWorld(cfg)
	if err != nil {
		return nil, err
	}
	tag := fmt.Sprintf("s%d-d%d-e%d", o.Seed, o.Devices, o.Events)
	diIndex, evIndex := o.IndexPrefix+"-deviceinfo-"+tag, o.IndexPrefix+"-networkevents-"+tag
	if !o.Keep {
		defer func() {
			for _, idx := range []string{diIndex, evIndex} {
				if err := deleteIndex(context.WithoutCancel(ctx), c, idx); err != nil {
					logf("delete %s: %v", idx, err)
				}
			}
		}()
	}

	start := time.Now()
	loadedDI, err := ensureLoaded(ctx, c, diIndex, DeviceInfoMapping, o, logf, func(out io.Writer) error {
		_, err := w.WriteDeviceInfo(out)
		return err
	})
	if err != nil {
		return nil, err
	}
	loadedEv, err := ensureLoaded(ctx, c, evIndex, NetworkEventsMapping, o, logf, func(out io.Writer) error {
		_, err := w.WriteNetworkEvents(out)
		return err
	})
	if err != nil {
		return nil, err
	}
	if loadedDI || loadedEv {
		res.LoadSeconds = time.Since(start).Seconds()
	}
	if res.DeviceInfoRows, err = count(ctx, c, diIndex, nil); err != nil {
		return nil, err
	}
	if res.Events, err = count(ctx, c, evIndex, nil); err != nil {
		return nil, err
	}
	logf("dataset: %d DeviceInfo rows, %d network events (load %.0f s)", res.DeviceInfoRows, res.Events, res.LoadSeconds)

	ind := correlation.NewIndicatorSet("ipsum")
	f, err := os.Open(o.FeedPath)
	if err != nil {
		return nil, err
	}
	_, err = correlation.ParseFeed(f, o.FeedPath, correlation.FeedOptions{Name: "ipsum", MinLevel: o.MinLevel}, ind)
	f.Close()
	if err != nil {
		return nil, err
	}
	res.Indicators = ind.Len()

	// Every round reads the same window, which a scheduled run never does:
	// no answer may come from the shard request cache (it would serve the
	// event step's size-0 measure from memory in rounds 2+).
	var doer cluster.Doer = noCacheDoer{c.Doer()}
	var tr *traceDoer
	if o.Trace {
		tr = &traceDoer{next: doer, t0: time.Now()}
		doer = tr
	}
	sc := c.WithDoer(doer)
	src, err := cluster.NewClientSource(sc, cluster.SourceConfig{
		DeviceInfoIndex: diIndex, NetworkEventsIndex: evIndex, Profile: cluster.ProfileAdvancedHunting,
		PageSize: o.PageSize, Logger: slog.New(slog.DiscardHandler), FacingRead: o.FacingRead,
	})
	if err != nil {
		return nil, err
	}
	// The naive baseline reads every DeviceInfo row, as a plain client
	// would (and as edgewatch did before it read the latest row per pair):
	// its facing set is an independent check of edgewatch's.
	naiveSrc, err := cluster.NewClientSource(sc, cluster.SourceConfig{
		DeviceInfoIndex: diIndex, NetworkEventsIndex: evIndex, Profile: cluster.ProfileAdvancedHunting,
		PageSize: o.PageSize, Logger: slog.New(slog.DiscardHandler), FacingRead: cluster.FacingReadRows,
	})
	if err != nil {
		return nil, err
	}
	span := 7 * 24 * time.Hour // gen's default span
	from := time.Date(2025, 11, 3, 0, 0, 0, 0, time.UTC)
	win := window{facingFrom: from.Add(-30 * 24 * time.Hour), from: from, to: from.Add(span)}

	// Warm-up (mapping, limits, caches), not timed.
	if _, _, err := detect(ctx, src, ind, win, !o.NoPrepare); err != nil {
		return nil, err
	}
	runtime.GC()
	debug.FreeOSMemory()
	// Where the peak cannot be reset, it would hold the dataset's
	// loading: it is reported as unknown (0).
	peakKnown := procstat.ResetPeakRSS()

	var ew, facing, floor, naive []time.Duration
	var clientCPU, serverCPU, floorCPU []time.Duration
	res.Machine = machineInfo()
	meter := newCPUMeter(ctx, c)
	var ewMatches, naiveMatches []string
	for round := range o.Rounds {
		if tr != nil {
			tr.reset()
		}
		cpu0 := meter.read()
		t0 := time.Now()
		d, facingDur, err := detect(ctx, src, ind, win, !o.NoPrepare)
		if err != nil {
			return nil, err
		}
		ew = append(ew, time.Since(t0))
		used := meter.read().since(cpu0)
		clientCPU, serverCPU = append(clientCPU, used.client), append(serverCPU, used.server)
		if tr != nil {
			tr.print(o.Log, fmt.Sprintf("edgewatch round %d", round+1))
		}
		facing = append(facing, facingDur)
		ewMatches = d.matches
		res.FacingPairs, res.Candidates, res.Plan, res.FacingPlan = d.pairs, d.candidates, src.LastEventPlan(), src.LastFacingPlan()
		if round == 0 && peakKnown {
			res.PeakRSSBytes = procstat.PeakRSS()
		}

		q, err := src.FloorQuery(ctx, connectors.EventQuery{From: win.from, To: win.to, Facing: d.facing, Indicators: ind})
		if err != nil {
			return nil, err
		}
		cpu0 = meter.read()
		t0 = time.Now()
		n, err := count(ctx, c, evIndex, q)
		if err != nil {
			return nil, err
		}
		floor = append(floor, time.Since(t0))
		floorCPU = append(floorCPU, meter.read().since(cpu0).server)
		res.FloorCount = n

		naiveDur := time.Duration(0)
		if round < o.NaiveRounds {
			t0 = time.Now()
			nv, err := naiveDetect(ctx, naiveSrc, ind, win)
			if err != nil {
				return nil, err
			}
			naiveDur = time.Since(t0)
			naive = append(naive, naiveDur)
			naiveMatches, res.NaiveRead = nv.matches, nv.candidates
			if a, b := facingText(d.facing), facingText(nv.facing); a != b {
				return res, fmt.Errorf("edgewatch's facing set (%d pairs) differs from the naive baseline's (%d pairs)", d.facing.Len(), nv.facing.Len())
			}
		}
		logf("round %d: edgewatch %v (facing %v, %s; CPU client %v, server %v), floor %v (server CPU %v), naive %v",
			round+1, ew[round].Round(time.Millisecond), facingDur.Round(time.Millisecond), res.Plan.Strategy,
			used.client.Round(time.Millisecond), cpuText(used.server),
			floor[round].Round(time.Millisecond), cpuText(floorCPU[round]), naiveDur.Round(time.Millisecond))
	}
	slices.Sort(ewMatches)
	slices.Sort(naiveMatches)
	if !slices.Equal(ewMatches, naiveMatches) {
		return res, fmt.Errorf("edgewatch found %d events, the naive baseline %d: they must agree", len(ewMatches), len(naiveMatches))
	}
	res.Matches = len(ewMatches)
	res.EdgewatchMS, res.FacingMS = ms(median(ew)), ms(median(facing))
	res.FloorMS, res.NaiveMS = ms(median(floor)), ms(median(naive))
	res.FloorRatio = res.EdgewatchMS / res.FloorMS
	res.NaiveSpeedup = res.NaiveMS / res.EdgewatchMS
	res.EventFloorRatio = (res.EdgewatchMS - res.FacingMS) / res.FloorMS
	res.ClientCPUMS, res.ServerCPUMS, res.FloorServerCPUMS = ms(median(clientCPU)), cpuMS(serverCPU), cpuMS(floorCPU)
	return res, nil
}

type window struct{ facingFrom, from, to time.Time }

type detection struct {
	facing     *correlation.FacingSet
	pairs      int
	candidates int64
	matches    []string
}

func facingStep(ctx context.Context, src *cluster.Source, win window) (*correlation.FacingSet, error) {
	var b correlation.FacingBuilder
	if _, err := src.DeviceInfo(ctx, connectors.FacingQuery{From: win.facingFrom, To: win.to}, func(r *correlation.DeviceInfo) error {
		b.Add(r)
		return nil
	}); err != nil {
		return nil, err
	}
	return b.Build(), nil
}

// detect is edgewatch's read path as the engine runs it: the event step's
// preparation (remote listing) alongside the facing step, then the
// pushed-down event step and the matcher.
func detect(ctx context.Context, src *cluster.Source, ind *correlation.IndicatorSet, win window, prepare bool) (detection, time.Duration, error) {
	t0 := time.Now()
	if prepare {
		stop := src.PrepareEvents(ctx, connectors.EventQuery{From: win.from, To: win.to, Indicators: ind})
		defer stop()
	}
	fs, err := facingStep(ctx, src, win)
	if err != nil {
		return detection{}, 0, err
	}
	facingDur := time.Since(t0)
	d := detection{facing: fs, pairs: fs.Len()}
	m := correlation.NewMatcher(fs, ind, correlation.MatchOptions{})
	rep, err := src.NetworkEvents(ctx, connectors.EventQuery{From: win.from, To: win.to, Facing: fs, Indicators: ind}, func(ev *correlation.NetworkEvent) error {
		if _, _, ok := m.Match(ev); ok {
			d.matches = append(d.matches, ev.Loc.DocID)
		}
		return nil
	})
	d.candidates = rep.Passed
	return d, facingDur, err
}

// naiveDetect streams every inbound event of the window and matches in Go.
func naiveDetect(ctx context.Context, src *cluster.Source, ind *correlation.IndicatorSet, win window) (detection, error) {
	fs, err := facingStep(ctx, src, win)
	if err != nil {
		return detection{}, err
	}
	d := detection{facing: fs, pairs: fs.Len()}
	m := correlation.NewMatcher(fs, ind, correlation.MatchOptions{})
	rep, err := src.NetworkEvents(ctx, connectors.EventQuery{From: win.from, To: win.to}, func(ev *correlation.NetworkEvent) error {
		if _, _, ok := m.Match(ev); ok {
			d.matches = append(d.matches, ev.Loc.DocID)
		}
		return nil
	})
	d.candidates = rep.Passed
	return d, err
}

// facingText renders a facing set with each pair's row identity, for
// comparing two reads.
func facingText(fs *correlation.FacingSet) string {
	var b strings.Builder
	for fp := range fs.All() {
		fmt.Fprintf(&b, "%s:%d@%s %s/%s %t\n", fp.DeviceID, fp.Port, fp.Row.Time.Format(time.RFC3339Nano), fp.Row.Loc.Source, fp.Row.Loc.DocID, fp.Row.IsInternetFacing)
	}
	return b.String()
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Index mappings: the columns the detection queries are typed as an
// operator who maps Defender data would type them; the rest stays in
// _source without being indexed (dynamic: false), which keeps the load
// short. The fault tests and the soak (internal/faults) index the same way.
var DeviceInfoMapping = map[string]any{
	"dynamic": false,
	"properties": map[string]any{
		"Timestamp":        map[string]any{"type": "date"},
		"DeviceId":         map[string]any{"type": "keyword"},
		"DeviceName":       map[string]any{"type": "keyword"},
		"IsInternetFacing": map[string]any{"type": "boolean"},
		"AdditionalFields": map[string]any{"type": "text"},
	},
}

var NetworkEventsMapping = map[string]any{
	"dynamic": false,
	"properties": map[string]any{
		"Timestamp":  map[string]any{"type": "date"},
		"DeviceId":   map[string]any{"type": "keyword"},
		"DeviceName": map[string]any{"type": "keyword"},
		"ActionType": map[string]any{"type": "keyword"},
		"RemoteIP":   map[string]any{"type": "ip", "ignore_malformed": true},
		"LocalIP":    map[string]any{"type": "ip", "ignore_malformed": true},
		"RemotePort": map[string]any{"type": "integer", "ignore_malformed": true},
		"LocalPort":  map[string]any{"type": "integer", "ignore_malformed": true},
		"ReportId":   map[string]any{"type": "long", "ignore_malformed": true},
	},
}

// ensureLoaded creates and fills index unless it already holds a complete
// load (marked in its _meta). It reports whether it loaded.
func ensureLoaded(ctx context.Context, c *cluster.Client, index string, mapping map[string]any, o Options,
	logf func(string, ...any), write func(io.Writer) error) (bool, error) {
	var meta map[string]struct {
		Mappings struct {
			Meta map[string]any `json:"_meta"`
		} `json:"mappings"`
	}
	err := c.Call(ctx, "read "+index, cluster.Request{Method: http.MethodGet, Path: "/" + index + "/_mapping"}, &meta)
	switch {
	case err == nil:
		if m, ok := meta[index]; ok && m.Mappings.Meta["edgewatch_bench_complete"] == true {
			logf("reusing %s", index)
			return false, nil
		}
		if err := deleteIndex(ctx, c, index); err != nil {
			return false, err
		}
	case !errors.Is(err, cluster.ErrNotFound):
		return false, err
	}
	body := map[string]any{
		"settings": map[string]any{"number_of_shards": 2, "number_of_replicas": 0, "refresh_interval": "-1"},
		"mappings": mapping,
	}
	if err := c.Call(ctx, "create "+index, cluster.Request{Method: http.MethodPut, Path: "/" + index, Body: cluster.JSON(body)}, nil); err != nil {
		return false, err
	}
	logf("loading %s", index)
	t0 := time.Now()
	n, err := bulkLoad(ctx, c, index, o.BulkMB<<20, write)
	if err != nil {
		return false, fmt.Errorf("load %s: %w", index, err)
	}
	logf("loaded %s: %d docs in %v", index, n, time.Since(t0).Round(time.Second))
	for _, req := range []cluster.Request{
		{Method: http.MethodPost, Path: "/" + index + "/_refresh"},
		// A freshly loaded index merges segments in the background for
		// minutes, which would land in the timings (and the floor's);
		// merged down, it is also what a past day's index looks like.
		{Method: http.MethodPost, Path: "/" + index + "/_forcemerge", Query: url.Values{"max_num_segments": {"1"}}},
		{Method: http.MethodPut, Path: "/" + index + "/_settings", Body: cluster.JSON(map[string]any{"index": map[string]any{"refresh_interval": "1s"}})},
		{Method: http.MethodPut, Path: "/" + index + "/_mapping", Body: cluster.JSON(map[string]any{"_meta": map[string]any{"edgewatch_bench_complete": true}})},
	} {
		if err := c.Call(ctx, "finish "+index, req, nil); err != nil {
			return false, err
		}
	}
	return true, nil
}

// bulkLoad streams NDJSON rows from write into index with _bulk requests of
// about maxBytes, two in flight.
func bulkLoad(ctx context.Context, c *cluster.Client, index string, maxBytes int, write func(io.Writer) error) (int64, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(write(pw)) }()
	defer pr.Close()

	batches := make(chan []byte, 2)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	var docs int64
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				n, err := sendBulk(ctx, c, index, b)
				mu.Lock()
				docs += n
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	sc := bufio.NewScanner(pr)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	var buf bytes.Buffer
	var readErr error
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		buf.WriteString("{\"index\":{}}\n")
		buf.Write(line)
		buf.WriteByte('\n')
		if buf.Len() >= maxBytes {
			batches <- bytes.Clone(buf.Bytes())
			buf.Reset()
		}
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed {
			break
		}
	}
	readErr = sc.Err()
	if buf.Len() > 0 && readErr == nil {
		batches <- bytes.Clone(buf.Bytes())
	}
	close(batches)
	wg.Wait()
	if firstErr != nil {
		return docs, firstErr
	}
	return docs, readErr
}

func sendBulk(ctx context.Context, c *cluster.Client, index string, body []byte) (int64, error) {
	var r cluster.BulkAnswer
	req := cluster.Request{Method: http.MethodPost, Path: "/" + index + "/_bulk",
		Query: url.Values{"filter_path": {"errors,items.*.status,items.*.error"}}, Body: body, NDJSON: true}
	if err := c.Call(ctx, "bulk "+index, req, &r); err != nil {
		return 0, err
	}
	if err := r.Failed(); err != nil {
		return 0, err
	}
	return int64(len(r.Items)), nil
}

func count(ctx context.Context, c *cluster.Client, index string, query json.RawMessage) (int64, error) {
	req := cluster.Request{Method: http.MethodGet, Path: "/" + index + "/_count"}
	if query != nil {
		req.Method = http.MethodPost
		req.Body = append(append([]byte(`{"query":`), query...), '}')
	}
	var r struct {
		Count int64 `json:"count"`
	}
	err := c.Call(ctx, "count "+index, req, &r)
	return r.Count, err
}

func deleteIndex(ctx context.Context, c *cluster.Client, index string) error {
	err := c.Call(ctx, "delete "+index, cluster.Request{Method: http.MethodDelete, Path: "/" + index}, nil)
	if errors.Is(err, cluster.ErrNotFound) {
		return nil
	}
	return err
}
