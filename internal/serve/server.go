package serve

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/edgewatch/edgewatch/plugin/wire"
)

// ErrUnknownDetection: a trigger named a detection that is not configured.
var ErrUnknownDetection = errors.New("unknown detection")

// ErrStopping: the server is shutting down and starts no new run.
var ErrStopping = errors.New("server is shutting down")

// Options are the server's collaborators.
type Options struct {
	// Runner runs detections (required).
	Runner Runner
	// FeedRunner runs feed refreshes (optional; nil disables feeds).
	FeedRunner FeedRunner
	// Plugin reports the plugin supervisor's state in /healthz (optional).
	Plugin func() PluginStatus
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Holder identifies this instance in leases (default a fresh
	// wire.NewHolderID()).
	Holder string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Version is shown by /healthz.
	Version string
	// Validate, when set, checks a reloaded configuration beyond parsing
	// (the plugin validates each detection's settings); a failure keeps
	// the configuration in force.
	Validate func(ctx context.Context, cfg *Config) error
	// SkipInitialRun leaves the first scheduled run to the first tick
	// instead of running every detection at start-up.
	SkipInitialRun bool
	// Tick makes a schedule's ticker: its channel and its stop function
	// (default time.NewTicker). Tests drive the schedule with their own.
	Tick func(every time.Duration) (<-chan time.Time, func())
}

// Server is a running `edgewatch serve`.
type Server struct {
	opts    Options
	log     *slog.Logger
	now     func() time.Time
	metrics *metrics
	started time.Time

	mu       sync.Mutex
	cfg      *Config
	dets     map[string]*detState
	feeds    map[string]*feedState
	runs     map[string]*run
	runOrder []string
	stopping bool

	// runCtx is the parent of every run: cancelled on shutdown.
	runCtx    context.Context
	cancelRun context.CancelFunc
	runWG     sync.WaitGroup
	schedWG   sync.WaitGroup
}

// detState is one configured detection.
type detState struct {
	name string
	cfg  Detection
	stop context.CancelFunc // stops its ticker
	// sem serialises the detection's incremental runs; bfSem its
	// backfills, which run beside them (under their own lease plugin-side).
	sem, bfSem chan struct{}
	pending    map[string]*run // queued or running, by window key
	// last is the last finished incremental run, lastBackfill the last
	// finished backfill.
	last, lastBackfill *run
	// checkpoint is what the last incremental run reported: the one
	// source of the lag that /healthz and /metrics both compute, at the
	// moment they are asked, with the server's clock.
	checkpoint time.Time
	// since is when serve began expecting an external trigger (start-up
	// or the reload that configured it); lastTrigger the last webhook call
	// without a window.
	since, lastTrigger time.Time
	// retro is the retro-hunt of this detection a feed refresh is running.
	retro *BackfillHealth
}

// run is one run of a detection: an incremental run, or a backfill when
// Window is set.
type run struct {
	ID        string          `json:"run_id"`
	Detection string          `json:"detection"`
	Trigger   string          `json:"trigger"`
	Window    *wire.Window    `json:"window,omitempty"`
	State     string          `json:"state"` // queued, running, done
	Queued    time.Time       `json:"queued"`
	Started   time.Time       `json:"started,omitzero"`
	Finished  time.Time       `json:"finished,omitzero"`
	Progress  *WindowProgress `json:"progress,omitempty"`
	Result    *RunResult      `json:"result,omitempty"`
	Error     string          `json:"error,omitempty"`
	key       string
	done      chan struct{}
}

// WindowProgress counts the windows of a run, a backfill or a retro-hunt.
type WindowProgress struct {
	Done  int64 `json:"windows_done"`
	Total int64 `json:"windows_total"`
}

// maxRuns is how many finished runs /v1/runs/{id} remembers.
const maxRuns = 512

// New builds a server for cfg. Call Start (or Run) to begin scheduling.
func New(cfg *Config, opts Options) (*Server, error) {
	if opts.Runner == nil {
		return nil, errors.New("serve: Options.Runner is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Holder == "" {
		opts.Holder = wire.NewHolderID()
	}
	if opts.Tick == nil {
		opts.Tick = func(every time.Duration) (<-chan time.Time, func()) {
			t := time.NewTicker(every)
			return t.C, t.Stop
		}
	}
	s := &Server{opts: opts, log: opts.Logger, now: opts.Now, metrics: newMetrics(), cfg: cfg,
		dets: map[string]*detState{}, feeds: map[string]*feedState{}, runs: map[string]*run{}}
	s.metrics.reg.MustRegister(newStateCollector(s))
	s.runCtx, s.cancelRun = context.WithCancel(context.Background())
	s.started = s.now()
	return s, nil
}

// Config is the configuration in force.
func (s *Server) Config() *Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg
}

// Start starts the schedules of the configuration in force.
func (s *Server) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.applyLocked(s.cfg, !s.opts.SkipInitialRun)
}

// Reload switches to cfg (already parsed and validated): removed detections
// stop being scheduled (a run in progress finishes), new ones start, changed
// ones take their new settings at their next run. The listen address and
// TLS files are read at start-up only.
func (s *Server) Reload(cfg *Config) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return
	}
	old := s.cfg
	if old.Listen != cfg.Listen || old.TLS != cfg.TLS {
		s.log.Warn("listen address and TLS changes take effect at the next restart", "listen", old.Listen)
	}
	s.cfg = cfg
	s.applyLocked(cfg, true)
	s.log.Info("configuration reloaded", "detections", len(cfg.Detections), "feeds", len(cfg.Feeds))
}

// applyLocked reconciles the running schedules with cfg. runNew runs each
// newly scheduled detection at once (a reload, or start-up unless
// SkipInitialRun); a detection whose schedule changed waits for its tick.
func (s *Server) applyLocked(cfg *Config, runNew bool) {
	want := map[string]Detection{}
	for _, d := range cfg.Detections {
		want[d.Name] = d
	}
	for name, ds := range s.dets {
		if _, ok := want[name]; !ok {
			ds.stop()
			delete(s.dets, name)
			s.log.Info("detection removed", "detection", name)
		}
	}
	for _, d := range cfg.Detections {
		ds, ok := s.dets[d.Name]
		if ok {
			changedSchedule := ds.cfg.EffectiveInterval() != d.EffectiveInterval() || ds.cfg.Manual != d.Manual
			if ds.cfg.Trigger != d.Trigger {
				ds.since = s.now()
			}
			ds.cfg = d
			if !changedSchedule {
				continue
			}
			ds.stop()
		} else {
			ds = &detState{name: d.Name, cfg: d, sem: make(chan struct{}, 1), bfSem: make(chan struct{}, 1),
				pending: map[string]*run{}, since: s.now()}
			s.dets[d.Name] = ds
			s.metrics.declare(d.Name)
		}
		ctx, cancel := context.WithCancel(s.runCtx)
		ds.stop = cancel
		if !d.Manual {
			s.schedWG.Add(1)
			go s.schedule(ctx, d.Name, d.EffectiveInterval(), runNew && !ok)
		}
	}
	s.applyFeedsLocked(cfg)
}

// schedule triggers detection every interval (a plain ticker: no jitter,
// so runs line up with the interval; missed ticks while a run is still
// going coalesce into it).
func (s *Server) schedule(ctx context.Context, name string, every time.Duration, now bool) {
	defer s.schedWG.Done()
	if now {
		s.trigger(name, nil, "startup")
	}
	tick, stop := s.opts.Tick(every)
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			s.trigger(name, nil, "schedule")
		}
	}
}

func (s *Server) trigger(name string, w *wire.Window, source string) {
	id, coalesced, err := s.Trigger(name, w, source)
	if err != nil {
		if !errors.Is(err, ErrStopping) {
			s.log.Warn("trigger failed", "detection", name, "err", err)
		}
		return
	}
	if coalesced {
		s.log.Debug("trigger coalesced into the run in progress", "detection", name, "run_id", id, "trigger", source)
	}
}

// Trigger starts a run of detection name and returns at once with its id.
// While an incremental run of that detection is queued or running, the
// trigger joins it: the same id comes back with coalesced == true.
//
// With a window w it starts a backfill instead: w must be at most the
// detection's max_backfill (a *wire.BackfillTooLongError otherwise, and
// nothing is queued). Backfills of a detection run one at a time on their
// own worker, beside its incremental runs, so that a long one never holds
// the schedule back; the same window queued twice is one backfill.
func (s *Server) Trigger(name string, w *wire.Window, source string) (runID string, coalesced bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return "", false, ErrStopping
	}
	ds, ok := s.dets[name]
	if !ok {
		return "", false, fmt.Errorf("%w: %q", ErrUnknownDetection, name)
	}
	key := "incremental"
	if w != nil {
		if err := ds.cfg.Incremental.CheckBackfill(*w); err != nil {
			return "", false, err
		}
		key = "backfill " + w.String()
	}
	if r, ok := ds.pending[key]; ok {
		return r.ID, true, nil
	}
	r := &run{ID: newRunID(), Detection: name, Trigger: source, Window: w, State: "queued", Queued: s.now().UTC(), key: key, done: make(chan struct{})}
	ds.pending[key] = r
	s.runs[r.ID] = r
	s.runOrder = append(s.runOrder, r.ID)
	s.pruneRunsLocked()
	s.runWG.Add(1)
	go s.execute(ds, r)
	return r.ID, false, nil
}

func (s *Server) pruneRunsLocked() {
	for len(s.runOrder) > maxRuns {
		id := s.runOrder[0]
		if r := s.runs[id]; r != nil && r.State != "done" {
			break
		}
		s.runOrder = s.runOrder[1:]
		delete(s.runs, id)
	}
}

// execute waits for the detection's slot (its backfill slot for a
// backfill), then runs r. Shutdown cancels the wait and the run.
func (s *Server) execute(ds *detState, r *run) {
	defer s.runWG.Done()
	defer close(r.done)
	ctx := s.runCtx
	sem := ds.sem
	if r.Window != nil {
		sem = ds.bfSem
	}
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		s.finish(ds, r, RunResult{}, fmt.Errorf("not started: %w", ErrStopping), 0)
		return
	}
	defer func() { <-sem }()

	s.mu.Lock()
	r.State, r.Started = "running", s.now().UTC()
	cfg := ds.cfg
	s.mu.Unlock()
	if r.Window == nil {
		s.metrics.running.WithLabelValues(r.Detection).Set(1)
		defer s.metrics.running.WithLabelValues(r.Detection).Set(0)
	}

	log := s.log.With("detection", r.Detection, "run_id", r.ID, "trigger", r.Trigger)
	log.Info("run started", "window", windowAttr(r.Window))
	t0 := time.Now()
	res, err := s.opts.Runner.Run(ctx, RunRequest{RunID: r.ID, Detection: cfg, Window: r.Window, Holder: s.opts.Holder, Trigger: r.Trigger,
		Progress: func(p wire.Progress) { s.noteProgress(r, p) }})
	secs := time.Since(t0).Seconds()
	if errors.Is(err, ErrPluginCrashed) {
		s.metrics.errors.WithLabelValues(ErrKindPluginCrash).Inc()
	}
	s.finish(ds, r, res, err, secs)
	attrs := []any{"status", res.Status, "windows", len(res.Windows), "events", res.EventsScanned,
		"alerts_created", res.AlertsCreated, "already_present", res.AlreadyPresent,
		"checkpoint", res.CheckpointAfter, "lag_s", int64(res.LagSeconds), "duration_s", secs}
	switch {
	case err != nil:
		log.Error("run failed", append(attrs, "err", err)...)
	case res.Status == wire.StatusSkipped:
		log.Info("run skipped", append(attrs, "reason", res.Reason)...)
	default:
		log.Info("run finished", attrs...)
	}
}

func (s *Server) finish(ds *detState, r *run, res RunResult, err error, secs float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r.State, r.Finished = "done", s.now().UTC()
	if res.Status == "" {
		res.Status = wire.StatusFailed
	}
	r.Result = &res
	if err != nil {
		r.Error = err.Error()
	}
	if ds.pending[r.key] == r {
		delete(ds.pending, r.key)
	}
	if r.Window != nil {
		ds.lastBackfill = r
	} else {
		ds.last = r
		if !res.CheckpointAfter.IsZero() {
			ds.checkpoint = res.CheckpointAfter
		}
	}
	s.metrics.observe(r.Detection, res, err, secs)
}

// noteProgress keeps a run's window count from the plugin's progress.
func (s *Server) noteProgress(r *run, p wire.Progress) {
	if p.Stage != wire.ProgressWindows {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r.Progress = &WindowProgress{Done: p.Done, Total: p.Total}
}

// noteExternalTrigger records a webhook call that triggered detection name
// (without a window): the age /healthz and edgewatch_trigger_age_seconds
// report for a detection with trigger: external.
func (s *Server) noteExternalTrigger(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ds, ok := s.dets[name]; ok {
		ds.lastTrigger = s.now()
	}
}

// Wait blocks until the run with id has finished (or ctx is done) and
// returns it.
func (s *Server) Wait(ctx context.Context, id string) (*RunView, error) {
	s.mu.Lock()
	r, ok := s.runs[id]
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("run %s: not found", id)
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	v, _ := s.RunView(id)
	return v, nil
}

// RunView is a copy of a run for callers and /v1/runs/{id}.
type RunView = run

// RunView returns a copy of the run with id.
func (s *Server) RunView(id string) (*RunView, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.runs[id]
	if !ok {
		return nil, false
	}
	c := *r
	return &c, true
}

// Shutdown stops scheduling, cancels the runs in progress (their current
// window is abandoned without advancing the checkpoint) and waits for them
// up to the configured shutdown timeout.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		return nil
	}
	s.stopping = true
	for _, ds := range s.dets {
		ds.stop()
	}
	for _, f := range s.feeds {
		f.stop()
	}
	s.mu.Unlock()
	s.cancelRun()
	done := make(chan struct{})
	go func() {
		s.schedWG.Wait()
		s.runWG.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("runs still in progress at shutdown: %w", ctx.Err())
	}
}

// Run serves HTTP on the configured address (listen overrides it when not
// empty), runs the schedules, and handles signals from sigs: SIGHUP reloads
// the configuration file (a bad file is logged and the old configuration
// kept), SIGTERM and SIGINT shut down gracefully. It returns when ctx is
// done or after a shutdown signal.
func (s *Server) Run(ctx context.Context, listen string, sigs <-chan os.Signal, getenv func(string) string) error {
	cfg := s.Config()
	if listen == "" {
		listen = cfg.Listen
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", listen, err)
	}
	return s.RunListener(ctx, ln, sigs, getenv)
}

// RunListener is Run on an open listener.
func (s *Server) RunListener(ctx context.Context, ln net.Listener, sigs <-chan os.Signal, getenv func(string) string) error {
	cfg := s.Config()
	hs := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() {
		var err error
		if cfg.TLS.Enabled() {
			err = hs.ServeTLS(ln, cfg.TLS.CertFile, cfg.TLS.KeyFile)
		} else {
			err = hs.Serve(ln)
		}
		if !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
		close(errc)
	}()
	scheme := "http"
	if cfg.TLS.Enabled() {
		scheme = "https"
	}
	s.log.Info("edgewatch serve listening", "addr", ln.Addr().String(), "scheme", scheme,
		"detections", len(cfg.Detections), "metrics", cfg.MetricsEnabled(), "holder", s.opts.Holder)
	s.Start()

	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err := <-errc:
			runErr = fmt.Errorf("http server: %w", err)
			break loop
		case sig := <-sigs:
			switch sig {
			case syscall.SIGHUP:
				s.ReloadFile(getenv)
			case syscall.SIGTERM, os.Interrupt:
				s.log.Info("shutting down", "signal", sig.String())
				break loop
			}
		}
	}
	timeout := s.Config().ShutdownTimeout.D()
	if timeout <= 0 {
		timeout = DefaultShutdownTimeout
	}
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := s.Shutdown(sctx); err != nil {
		s.log.Warn("shutdown", "err", err)
	}
	if err := hs.Shutdown(sctx); err != nil {
		s.log.Warn("http shutdown", "err", err)
	}
	s.log.Info("edgewatch serve stopped")
	return runErr
}

// ReloadFile re-reads the configuration file. A file that does not parse
// or validate is logged (with why) and counted, and the configuration in
// force stays. It reports whether the new configuration was applied.
func (s *Server) ReloadFile(getenv func(string) string) bool {
	path := s.Config().Path()
	if path == "" {
		s.log.Warn("reload requested but the configuration did not come from a file")
		return false
	}
	cfg, err := LoadConfig(path, getenv)
	if err == nil && s.opts.Validate != nil {
		ctx, cancel := context.WithTimeout(s.runCtx, time.Minute)
		err = s.opts.Validate(ctx, cfg)
		cancel()
	}
	if err != nil {
		s.metrics.errors.WithLabelValues(ErrKindConfigReload).Inc()
		s.log.Error("configuration reload failed; keeping the configuration in force", "path", path, "err", err)
		return false
	}
	s.Reload(cfg)
	return true
}

func windowAttr(w *wire.Window) string {
	if w == nil {
		return "from checkpoint"
	}
	return w.String()
}

func newRunID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
