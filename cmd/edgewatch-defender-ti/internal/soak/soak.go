//go:build linux

package soak

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/faults"
	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/incremental"
	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/stack"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/connectors/opensearch"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// Bounds and defaults.
const (
	DefaultDuration = 5 * time.Minute
	MaxDuration     = 10 * time.Minute
	minDuration     = time.Minute
)

// Options configure a soak. Zero fields take the defaults.
type Options struct {
	// URLs of the cluster's nodes, on 127.0.0.1 only (the soak stops and
	// kills nodes).
	URLs []string
	// Duration bounds the whole soak (default 5m, at most 10m): events and
	// faults stop CatchUp before its end, which is left for serve to catch
	// up in.
	Duration time.Duration
	// CatchUp is the end of Duration reserved for catching up (default a
	// quarter of Duration, at least 75s).
	CatchUp time.Duration
	// Seed drives the data and the fault schedule; 0 picks one from the
	// clock (printed, so that it can be given again).
	Seed uint64
	// BinDir holds edgewatch and edgewatch-defender-ti (make build).
	BinDir string
	// Work holds the NDJSON files, serve's configuration and logs; "" is
	// a fresh temporary directory, removed after a clean soak.
	Work string
	// Nodes stops and starts the cluster's nodes.
	Nodes faults.Nodes
	// Interval is serve's schedule (default 5s).
	Interval time.Duration
	// Batch events are added every BatchEvery (defaults 150 and 2s).
	Batch      int
	BatchEvery time.Duration
	// FaultMin..FaultMax is the gap between two faults (defaults 8s..20s).
	FaultMin, FaultMax time.Duration
	// Keep leaves the soak's indices, alerts and state in the cluster.
	Keep bool
	// Out gets the progress lines and the report.
	Out io.Writer
}

// overlap is serve's re-scan before the checkpoint: it covers events that
// became searchable late (the driver's indexing stalls while a node is
// down; Report.MaxLagS must stay well under it).
const overlap = time.Minute

// Fault kinds, as counted in Report.Faults.
const (
	FaultKillPlugin = "kill-plugin"      // SIGKILL of the plugin process serve runs
	FaultKillHost   = "kill-host"        // SIGKILL of serve, then a new serve
	FaultNodeStop   = "node-stop"        // SIGTERM of a cluster node, then start-node
	FaultNodeKill   = "node-kill"        // SIGKILL of a cluster node, then start-node
	FaultRaceStart  = "race-second"      // a second serve over the same detection
	FaultRaceTerm   = "race-second-term" // … stopped with SIGTERM
	FaultRaceKill   = "race-second-kill" // … killed with SIGKILL
)

// Report is what a soak did and found.
type Report struct {
	Seed       uint64         `json:"seed"`
	Detection  string         `json:"detection"`
	RuleID     string         `json:"rule_id"`
	Work       string         `json:"work"`
	WallS      float64        `json:"wall_s"`
	Events     int            `json:"events"`
	Batches    int            `json:"batches"`
	MaxLagS    float64        `json:"max_index_lag_s"` // longest time from a batch's generation to its durable indexing
	Faults     map[string]int `json:"faults"`
	FaultLog   []string       `json:"fault_log"`
	CaughtUp   bool           `json:"caught_up"`
	CatchUpS   float64        `json:"catch_up_s"`
	Orphans    int            `json:"orphan_plugins"` // plugins that outlived their killed host
	Serve      map[string]int `json:"serve_log"`      // counts of telling serve log lines
	Diff       faults.Diff    `json:"alerts"`
	Reference  int            `json:"reference_alerts"`
	Incomplete string         `json:"incomplete,omitempty"` // why the soak could not finish
}

// OK reports a soak that caught up with 0 lost, 0 duplicate, 0 extra.
func (r *Report) OK() bool { return r.Incomplete == "" && r.CaughtUp && r.Diff.OK() && r.Orphans == 0 }

func (o *Options) defaults() error {
	if o.Duration == 0 {
		o.Duration = DefaultDuration
	}
	if o.Duration < minDuration || o.Duration > MaxDuration {
		return fmt.Errorf("duration %v: want %v to %v", o.Duration, minDuration, MaxDuration)
	}
	if o.CatchUp == 0 {
		o.CatchUp = max(o.Duration/4, 75*time.Second)
	}
	if o.CatchUp >= o.Duration {
		return fmt.Errorf("catch-up %v leaves no time in %v", o.CatchUp, o.Duration)
	}
	if o.Seed == 0 {
		o.Seed = uint64(time.Now().UnixNano()%1_000_000_000) + 1
	}
	if o.Interval == 0 {
		o.Interval = 5 * time.Second
	}
	if o.Batch == 0 {
		o.Batch = 150
	}
	if o.BatchEvery == 0 {
		o.BatchEvery = 2 * time.Second
	}
	if o.FaultMin == 0 {
		o.FaultMin = 8 * time.Second
	}
	if o.FaultMax < o.FaultMin {
		o.FaultMax = max(20*time.Second, o.FaultMin)
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if len(o.URLs) == 0 {
		return errors.New("no cluster URL")
	}
	for _, u := range o.URLs {
		p, err := url.Parse(u)
		if err != nil {
			return fmt.Errorf("url %q: %v", u, err)
		}
		if h := p.Hostname(); h != "127.0.0.1" && h != "localhost" && h != "::1" {
			return fmt.Errorf("url %s: the soak stops and kills cluster nodes: it only runs against 127.0.0.1", u)
		}
	}
	for _, b := range []string{"edgewatch", "edgewatch-defender-ti"} {
		if _, err := os.Stat(filepath.Join(o.BinDir, b)); err != nil {
			return fmt.Errorf("%s: %w (make build)", b, err)
		}
	}
	return nil
}

// soak is one run's state.
type soak struct {
	o       Options
	c       *cluster.Client
	rng     *rand.Rand
	start   time.Time
	ds      faults.Dataset
	det     string
	ruleID  string
	diIdx   string
	evIdx   string
	config  string
	host    string
	addrs   [2]string
	rep     *Report
	logf    func(format string, args ...any)
	repMu   sync.Mutex // rep's counters (the driver and the faults update them)
	mu      sync.Mutex // the serve instances
	serveA  *instance
	serveB  *instance
	bUntil  time.Time
	bKill   bool // serve B ends with SIGKILL (else SIGTERM)
	serveNo int
}

// Run runs the soak and returns its report; the error is about the soak
// itself (setup, cluster unreachable), not about what it found (Report.OK).
func Run(ctx context.Context, o Options) (*Report, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	s := &soak{o: o, rng: rand.New(rand.NewPCG(o.Seed, 0x50a4)), start: time.Now()}
	s.logf = func(format string, args ...any) {
		fmt.Fprintf(o.Out, "soak %6.1fs  %s\n", time.Since(s.start).Seconds(), fmt.Sprintf(format, args...))
	}
	tag := fmt.Sprintf("soak-%d-%d", o.Seed, s.start.Unix()%100000)
	s.det, s.ruleID = tag, "edgewatch-"+tag
	s.diIdx, s.evIdx = tag+"-deviceinfo", tag+"-networkevents"
	s.rep = &Report{Seed: o.Seed, Detection: s.det, RuleID: s.ruleID, Faults: map[string]int{}, Serve: map[string]int{}}
	s.logf("seed %d (--seed %d repeats the data and the fault schedule); detection %s; budget %v (catch-up %v)",
		o.Seed, o.Seed, s.det, o.Duration, o.CatchUp)

	work := o.Work
	if work == "" {
		dir, err := os.MkdirTemp("", "edgewatch-soak-")
		if err != nil {
			return nil, err
		}
		work = dir
	}
	s.rep.Work = work
	s.ds = faults.Dataset{Dir: work, Seed: o.Seed, Devices: 80, FacingShare: 0.5, InboundShare: 0.5, FeedHitShare: 0.3}
	s.host = filepath.Join(o.BinDir, "edgewatch")

	c, err := opensearch.Connect(ctx, cluster.Config{URLs: o.URLs, Timeout: 30 * time.Second},
		cluster.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		return nil, err
	}
	s.c = c
	defer func() {
		s.rep.WallS = time.Since(s.start).Seconds()
	}()
	if err := s.setup(ctx); err != nil {
		s.stopAll()
		return s.rep, err
	}
	defer func() {
		s.stopAll()
		if !o.Keep {
			s.cleanup()
		}
		if o.Work == "" && s.rep.OK() && !o.Keep && os.RemoveAll(work) == nil {
			s.rep.Work += " (removed)"
		}
	}()

	phaseEnd := s.start.Add(o.Duration - o.CatchUp)
	driverErr := make(chan error, 1)
	lastEvent := make(chan time.Time, 1)
	go func() {
		last, err := s.drive(ctx, phaseEnd)
		lastEvent <- last
		driverErr <- err
	}()
	if err := s.faults(ctx, phaseEnd); err != nil {
		s.rep.Incomplete = err.Error()
	}
	last := <-lastEvent
	if err := <-driverErr; err != nil && s.rep.Incomplete == "" {
		s.rep.Incomplete = err.Error()
	}
	s.logf("faults and events stop: %d events in %d batches; catching up", s.rep.Events, s.rep.Batches)
	if lag := time.Duration(s.rep.MaxLagS * float64(time.Second)); lag > overlap/2 && s.rep.Incomplete == "" {
		s.rep.Incomplete = fmt.Sprintf("a batch took %v to index, too close to serve's overlap (%v) to blame a lost alert on edgewatch", lag.Round(time.Second), overlap)
	}
	if err := s.settle(ctx); err != nil && s.rep.Incomplete == "" {
		s.rep.Incomplete = err.Error()
	}
	s.catchUp(ctx, last, s.start.Add(o.Duration))
	s.stopAll()
	s.countServeLog()
	if err := s.compare(ctx); err != nil && s.rep.Incomplete == "" {
		s.rep.Incomplete = err.Error()
	}
	return s.rep, nil
}

// setup installs the stack, writes and indexes the fleet, writes serve's
// configuration and starts serve.
func (s *soak) setup(ctx context.Context) error {
	if err := faults.WaitHealth(ctx, s.c, "green", 3*time.Minute); err != nil {
		return err
	}
	out, err := runHost(ctx, s.host, "install", "--opensearch", s.o.URLs[0])
	if err != nil {
		return fmt.Errorf("edgewatch install: %w\n%s", err, out)
	}
	if err := faults.CreateIndex(ctx, s.c, s.diIdx, 3, 1, faults.DeviceInfoMapping); err != nil {
		return err
	}
	if err := faults.CreateIndex(ctx, s.c, s.evIdx, 3, 1, faults.NetworkEventsMapping); err != nil {
		return err
	}
	rows, err := s.ds.WriteFleet(s.start)
	if err != nil {
		return err
	}
	if err := faults.Index(ctx, s.c, s.diIdx, "di", rows, true); err != nil {
		return err
	}
	for i := range s.addrs {
		if s.addrs[i], err = freeAddr(); err != nil {
			return err
		}
	}
	if err := s.writeConfig(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.serveA, err = s.startServe("A")
	return err
}

func (s *soak) writeConfig() error {
	o := s.o
	cfg := map[string]any{
		"metrics":          true,
		"log":              map[string]any{"format": "json", "level": "info"},
		"shutdown_timeout": "10s",
		"defaults": map[string]any{
			"interval": o.Interval.String(), "overlap": overlap.String(), "delay": "5s", "max_window": "10m",
			"initial_lookback": "15m", "lease_ttl": "10s",
		},
		"detections": []any{map[string]any{
			"name": s.det,
			"settings": map[string]any{
				"source":  "opensearch",
				"rule_id": s.ruleID,
				"feeds":   []string{s.ds.Path(faults.FeedFile)},
				"cluster": map[string]any{
					"urls":                 o.URLs,
					"device_info_index":    s.diIdx,
					"network_events_index": s.evIdx,
					"profile":              cluster.ProfileAdvancedHunting,
				},
			},
		}},
	}
	b, err := yaml.Marshal(cfg)
	if err != nil {
		return err
	}
	s.config = filepath.Join(s.ds.Dir, "serve.yaml")
	return os.WriteFile(s.config, b, 0o644)
}

// startServe starts serve instance name ("A" or "B"); s.mu is held.
func (s *soak) startServe(name string) (*instance, error) {
	addr := s.addrs[0]
	if name == "B" {
		addr = s.addrs[1]
	}
	s.serveNo++
	return startServe(name, s.host, s.config, addr, filepath.Join(s.ds.Dir, "serve-"+name+".log"))
}

// drive adds a batch of events every BatchEvery until end: generated with
// timestamps over the last BatchEvery, indexed until durable, then
// appended to the NDJSON file. It returns the end of the last batch.
func (s *soak) drive(ctx context.Context, end time.Time) (time.Time, error) {
	var last time.Time
	tick := time.NewTicker(s.o.BatchEvery)
	defer tick.Stop()
	for n := 0; time.Now().Before(end); n++ {
		t := time.Now().UTC().Truncate(time.Millisecond)
		rows, err := s.ds.Events(t.Add(-s.o.BatchEvery), s.o.BatchEvery, s.o.Batch)
		if err != nil {
			return last, err
		}
		for attempt := 0; ; attempt++ {
			err := faults.Index(ctx, s.c, s.evIdx, fmt.Sprintf("b%d", n), rows, false)
			if err == nil {
				break
			}
			if ctx.Err() != nil || time.Since(t) > 2*time.Minute {
				return last, fmt.Errorf("driver: batch %d not indexed after %v: %w", n, time.Since(t).Round(time.Second), err)
			}
			if attempt == 0 {
				s.logf("driver: batch %d: %v; retrying", n, err)
			}
			time.Sleep(time.Second)
		}
		if err := s.ds.Append(rows); err != nil {
			return last, err
		}
		last = t
		s.repMu.Lock()
		s.rep.Events += len(rows)
		s.rep.Batches++
		s.rep.MaxLagS = max(s.rep.MaxLagS, time.Since(t).Seconds())
		s.repMu.Unlock()
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case <-tick.C:
		}
	}
	return last, nil
}

// faults injects a random fault every FaultMin..FaultMax until end.
func (s *soak) faults(ctx context.Context, end time.Time) error {
	kinds := []string{FaultKillPlugin, FaultKillHost, "node", FaultRaceStart}
	next := time.Now().Add(s.gap())
	for {
		now := time.Now()
		if now.After(end) || ctx.Err() != nil {
			return ctx.Err()
		}
		s.endRace(false)
		if now.Before(next) {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		var err error
		switch k := kinds[s.rng.IntN(len(kinds))]; k {
		case FaultKillPlugin:
			s.killPlugin()
		case FaultKillHost:
			err = s.killHost()
		case "node":
			err = s.restartNode(ctx)
		case FaultRaceStart:
			err = s.race()
		}
		if err != nil {
			return err
		}
		next = time.Now().Add(s.gap())
	}
}

func (s *soak) gap() time.Duration {
	return s.o.FaultMin + time.Duration(s.rng.Int64N(int64(s.o.FaultMax-s.o.FaultMin)+1))
}

func (s *soak) fault(kind, format string, args ...any) {
	s.repMu.Lock()
	s.rep.Faults[kind]++
	line := fmt.Sprintf("%6.1fs %s: %s", time.Since(s.start).Seconds(), kind, fmt.Sprintf(format, args...))
	s.rep.FaultLog = append(s.rep.FaultLog, line)
	s.repMu.Unlock()
	s.logf("fault %s: %s", kind, fmt.Sprintf(format, args...))
}

// killPlugin kills (-9) the plugin of a running serve instance; serve's
// supervisor starts a new one.
func (s *soak) killPlugin() {
	s.mu.Lock()
	live := []*instance{}
	for _, in := range []*instance{s.serveA, s.serveB} {
		if in != nil && in.alive() {
			live = append(live, in)
		}
	}
	s.mu.Unlock()
	if len(live) == 0 {
		return
	}
	in := live[s.rng.IntN(len(live))]
	pid, ok := pluginOf(in.pid())
	if !ok {
		s.logf("kill-plugin: serve %s runs no plugin right now (restarting it?)", in.name)
		return
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	s.fault(FaultKillPlugin, "plugin pid %d of serve %s", pid, in.name)
}

// killHost kills (-9) serve A and starts a new one; a plugin that
// outlives its host is an orphan (counted, then killed).
func (s *soak) killHost() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.serveA
	plugin, hasPlugin := pluginOf(in.pid())
	in.stop(syscall.SIGKILL, 10*time.Second)
	s.fault(FaultKillHost, "serve A pid %d (plugin %d)", in.pid(), plugin)
	if hasPlugin {
		deadline := time.Now().Add(5 * time.Second)
		for processAlive(plugin) && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if processAlive(plugin) {
			s.repMu.Lock()
			s.rep.Orphans++
			s.repMu.Unlock()
			s.logf("plugin %d outlived its killed host", plugin)
			_ = syscall.Kill(plugin, syscall.SIGKILL)
		}
	}
	var err error
	s.serveA, err = s.startServe("A")
	return err
}

// restartNode stops (SIGTERM) or kills (SIGKILL) a random node, starts it
// again and waits until it has joined. Events and runs go on meanwhile.
func (s *soak) restartNode(ctx context.Context) error {
	n := 1 + s.rng.IntN(s.o.Nodes.N)
	kill := s.rng.IntN(2) == 1
	kind := FaultNodeStop
	if kill {
		kind = FaultNodeKill
	}
	s.fault(kind, "node %d", n)
	if err := s.o.Nodes.Stop(ctx, n, kill); err != nil {
		return err
	}
	t0 := time.Now()
	if err := s.o.Nodes.Start(ctx, n); err != nil {
		return err
	}
	s.logf("node %d back after %v", n, time.Since(t0).Round(time.Second))
	return nil
}

// race starts serve B over the same detection for 10–25 s, after which
// endRace stops it (SIGTERM or SIGKILL, drawn now), whatever else runs.
func (s *soak) race() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.serveB != nil && s.serveB.alive() {
		return nil
	}
	life := 10*time.Second + time.Duration(s.rng.Int64N(int64(15*time.Second)))
	s.bKill = s.rng.IntN(2) == 1
	var err error
	if s.serveB, err = s.startServe("B"); err != nil {
		return err
	}
	s.bUntil = time.Now().Add(life)
	time.AfterFunc(life, func() { s.endRace(false) })
	s.fault(FaultRaceStart, "serve B pid %d for %v", s.serveB.pid(), life.Round(time.Second))
	return nil
}

// endRace stops serve B when its time is up (or now, with force).
func (s *soak) endRace(force bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.serveB
	if b == nil || !b.alive() || (!force && time.Now().Before(s.bUntil)) {
		return
	}
	if !force && s.bKill {
		b.stop(syscall.SIGKILL, 10*time.Second)
		s.fault(FaultRaceKill, "serve B pid %d", b.pid())
		return
	}
	b.stop(syscall.SIGTERM, 20*time.Second)
	if !force {
		s.fault(FaultRaceTerm, "serve B pid %d", b.pid())
	}
}

// settle ends the race, makes sure serve A runs and every node is in.
func (s *soak) settle(ctx context.Context) error {
	s.endRace(true)
	s.mu.Lock()
	var err error
	if !s.serveA.alive() {
		s.serveA, err = s.startServe("A")
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return faults.WaitHealth(ctx, s.c, "yellow", time.Minute)
}

// catchUp waits until the detection's checkpoint passes the last event
// (or deadline).
func (s *soak) catchUp(ctx context.Context, last, deadline time.Time) {
	t0 := time.Now()
	store := stack.NewStateStore(s.c, "")
	for {
		doc, found, err := incremental.ReadCheckpoint(ctx, store, s.det)
		if err == nil && found && doc.Checkpoint.After(last) {
			s.rep.CaughtUp, s.rep.CatchUpS = true, time.Since(t0).Seconds()
			s.logf("caught up in %v: checkpoint %s, last events at %s", time.Since(t0).Round(100*time.Millisecond),
				doc.Checkpoint.Format(time.RFC3339Nano), last.Format(time.RFC3339Nano))
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			s.logf("not caught up by the deadline: checkpoint %s (err %v), last events at %s",
				doc.Checkpoint.Format(time.RFC3339Nano), err, last.Format(time.RFC3339Nano))
			return
		}
		time.Sleep(time.Second)
	}
}

// stopAll stops every serve instance (SIGTERM).
func (s *soak) stopAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, in := range []*instance{s.serveA, s.serveB} {
		if in != nil {
			in.stop(syscall.SIGTERM, 20*time.Second)
		}
	}
}

// compare reads the alerts of the soak's rule and compares them with a
// file-mode run over the events the driver wrote.
func (s *soak) compare(ctx context.Context) error {
	want, _, err := faults.Reference(ctx, s.ds, s.ruleID)
	if err != nil {
		return err
	}
	got, err := faults.AlertCounts(ctx, s.c, "", s.ruleID)
	if err != nil {
		return err
	}
	s.rep.Reference = len(want)
	s.rep.Diff = faults.Compare(want, got)
	return nil
}

// countServeLog counts, in the serve logs (JSON lines), the runs by
// status, the alerts found already present (re-written after a fault),
// the plugin starts, and the windows that failed or lost their lease.
func (s *soak) countServeLog() {
	for _, name := range []string{"A", "B"} {
		f, err := os.Open(filepath.Join(s.ds.Dir, "serve-"+name+".log"))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			l := sc.Bytes()
			for _, k := range []string{"window failed", "lease lost"} {
				if bytes.Contains(l, []byte(k)) {
					s.rep.Serve[k]++
				}
			}
			var rec struct {
				Msg            string `json:"msg"`
				Status         string `json:"status"`
				AlreadyPresent int    `json:"already_present"`
			}
			if json.Unmarshal(l, &rec) != nil {
				continue
			}
			switch rec.Msg {
			case "run finished":
				s.rep.Serve["runs "+rec.Status]++
				s.rep.Serve["alerts already present"] += rec.AlreadyPresent
			case "run failed":
				s.rep.Serve["runs failed"]++
			case "run skipped":
				s.rep.Serve["runs skipped"]++
			case "plugin started":
				s.rep.Serve["plugin starts"]++
			case "plugin process exited":
				s.rep.Serve["plugin exits"]++
			}
		}
		f.Close()
	}
}

// cleanup deletes the soak's indices, alerts and state documents.
func (s *soak) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, idx := range []string{s.diIdx, s.evIdx} {
		_ = s.c.Call(ctx, "delete "+idx, cluster.Request{Method: http.MethodDelete, Path: cluster.DocPath(idx)}, nil)
	}
	q := map[string]any{"query": map[string]any{"term": map[string]any{"rule.id": s.ruleID}}}
	_ = s.c.Call(ctx, "delete soak alerts", cluster.Request{Method: http.MethodPost, Path: cluster.DocPath(faults.AlertsPattern, "_delete_by_query"),
		Query: url.Values{"refresh": {"true"}}, Body: cluster.JSON(q)}, nil)
	for _, id := range []string{incremental.CheckpointID(s.det), incremental.LeaseID(s.det)} {
		_ = s.c.Call(ctx, "delete "+id, cluster.Request{Method: http.MethodDelete, Path: cluster.DocPath(wire.StateIndex, "_doc", id)}, nil)
	}
	// The run records of every window.
	q = map[string]any{"query": map[string]any{"term": map[string]any{"detection": s.det}}}
	_ = s.c.Call(ctx, "delete soak run records", cluster.Request{Method: http.MethodPost, Path: cluster.DocPath(wire.StateIndex, "_delete_by_query"),
		Query: url.Values{"refresh": {"true"}}, Body: cluster.JSON(q)}, nil)
}

// Print writes the report's summary.
func (r *Report) Print(w io.Writer) {
	kinds := slices.Sorted(maps.Keys(r.Faults))
	var fs []string
	total := 0
	for _, k := range kinds {
		fs = append(fs, fmt.Sprintf("%s %d", k, r.Faults[k]))
		if k != FaultRaceTerm && k != FaultRaceKill {
			total += r.Faults[k]
		}
	}
	fmt.Fprintf(w, "\nsoak report (seed %d, detection %s)\n", r.Seed, r.Detection)
	fmt.Fprintf(w, "  wall time      %.0f s (catch-up %.1f s, caught up: %v)\n", r.WallS, r.CatchUpS, r.CaughtUp)
	fmt.Fprintf(w, "  events         %d in %d batches (max index lag %.1f s)\n", r.Events, r.Batches, r.MaxLagS)
	fmt.Fprintf(w, "  alerts         %d stored, %d in the file-mode run\n", r.Diff.Stored, r.Reference)
	fmt.Fprintf(w, "  faults         %d: %s\n", total, strings.Join(fs, ", "))
	fmt.Fprintf(w, "  orphan plugins %d\n", r.Orphans)
	if len(r.Serve) > 0 {
		keys := slices.Sorted(maps.Keys(r.Serve))
		var ss []string
		for _, k := range keys {
			ss = append(ss, fmt.Sprintf("%q %d", k, r.Serve[k]))
		}
		fmt.Fprintf(w, "  serve log      %s\n", strings.Join(ss, ", "))
	}
	fmt.Fprintf(w, "  lost %d, duplicate %d, extra %d\n", r.Diff.Lost, r.Diff.Duplicate, r.Diff.Extra)
	if !r.Diff.OK() {
		fmt.Fprintf(w, "  %s\n", r.Diff)
	}
	if r.Incomplete != "" {
		fmt.Fprintf(w, "  incomplete: %s\n", r.Incomplete)
	}
	fmt.Fprintf(w, "  work dir       %s\n", r.Work)
	verdict := "PASS"
	if !r.OK() {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "soak: %s\n", verdict)
}

// WriteJSON writes the report as JSON.
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// freeAddr returns a 127.0.0.1 address with a free port.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
