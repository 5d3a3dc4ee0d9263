package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/edgewatch/edgewatch/plugin"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// RunRequest is one run of a detection.
type RunRequest struct {
	// RunID is serve's id for this run (the webhook answers it).
	RunID string
	// Detection is the detection's configuration at trigger time.
	Detection Detection
	// Window, when set, runs exactly that window (a backfill); otherwise
	// the run goes from the detection's checkpoint.
	Window *wire.Window
	// Holder identifies this serve instance in the lease.
	Holder string
	// Trigger says what started the run: "schedule", "webhook", "startup".
	Trigger string
	// Progress, when set, receives the run's progress (wire.ProgressWindows
	// after each window).
	Progress func(wire.Progress)
}

// RunResult is what a run reports: the plugin's wire.Outcome.
type RunResult = wire.Outcome

// Runner runs one detection. serve's implementation calls the plugin
// process; tests use fakes. It takes the whole request, not just a name,
// so that a run uses the configuration current when it was triggered even
// if a reload happens meanwhile.
type Runner interface {
	Run(ctx context.Context, req RunRequest) (RunResult, error)
}

// PluginProcess is a running plugin as serve needs it. The host wraps
// plugin.Client; tests use fakes.
type PluginProcess interface {
	// Exec runs an Admin operation (plugin.Call calls it with typed args).
	plugin.Admin
	// Validate checks run settings; it returns the problems found (empty
	// when they are usable).
	Validate(ctx context.Context, settings json.RawMessage, secrets map[string]string) ([]string, error)
	// Exited reports whether the process has exited (crashed or killed).
	Exited() bool
	// Close stops the process.
	Close()
}

// PluginFactory starts a plugin process.
type PluginFactory func(ctx context.Context) (PluginProcess, error)

// SupervisorOptions tune restarts. Zero values take the defaults.
type SupervisorOptions struct {
	// InitialBackoff is the first wait before a restart (default 500ms);
	// it grows ×2 per consecutive failure up to MaxBackoff (default 1m)
	// and resets after a successful operation.
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	// StartRetryFor bounds how long one call keeps trying to start the
	// plugin before it fails (default 2m).
	StartRetryFor time.Duration
	Logger        *slog.Logger
	// OnEvent, when set, is told "start", "start_failed" and "crash".
	OnEvent func(event string)
}

// Supervisor keeps one plugin process for all detections: it starts it on
// first use, notices when it has exited (a crash, an OOM kill) and starts a
// new one with exponential backoff between consecutive failures, so that a
// crash-looping plugin is not restarted in a tight loop.
type Supervisor struct {
	factory PluginFactory
	opts    SupervisorOptions
	log     *slog.Logger

	mu       sync.Mutex
	cur      PluginProcess
	bo       *backoff.ExponentialBackOff
	failures int // consecutive start failures and crashes
	starts   int
	crashes  int
}

// NewSupervisor returns a supervisor that starts plugins with factory.
func NewSupervisor(factory PluginFactory, opts SupervisorOptions) *Supervisor {
	if opts.InitialBackoff <= 0 {
		opts.InitialBackoff = 500 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = time.Minute
	}
	if opts.StartRetryFor <= 0 {
		opts.StartRetryFor = 2 * time.Minute
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval, bo.MaxInterval, bo.Multiplier, bo.RandomizationFactor = opts.InitialBackoff, opts.MaxBackoff, 2, 0.2
	bo.Reset()
	return &Supervisor{factory: factory, opts: opts, log: log, bo: bo}
}

// keptBackOff is the supervisor's backoff seen by backoff.Retry, which
// resets its BackOff at every call: the supervisor resets it itself, only
// after a success, so waits keep growing across calls while it fails.
type keptBackOff struct{ b *backoff.ExponentialBackOff }

func (k keptBackOff) Reset()                     {}
func (k keptBackOff) NextBackOff() time.Duration { return k.b.NextBackOff() }

func (s *Supervisor) event(e string) {
	if s.opts.OnEvent != nil {
		s.opts.OnEvent(e)
	}
}

// get returns the live plugin, starting one when there is none.
func (s *Supervisor) get(ctx context.Context) (PluginProcess, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != nil {
		if !s.cur.Exited() {
			return s.cur, nil
		}
		s.dropLocked(s.cur)
	}
	first := true
	p, err := backoff.Retry(ctx, func() (PluginProcess, error) {
		if first && s.failures > 0 {
			// The previous process crashed or failed to start: wait
			// before the restart, growing with consecutive failures.
			d := s.bo.NextBackOff()
			s.log.Info("restarting plugin after backoff", "wait", d, "consecutive_failures", s.failures)
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, backoff.Permanent(ctx.Err())
			case <-t.C:
			}
		}
		first = false
		p, err := s.factory(ctx)
		if err != nil {
			s.failures++
			s.event("start_failed")
			s.log.Error("plugin start failed", "err", err, "consecutive_failures", s.failures)
			return nil, err
		}
		return p, nil
	}, backoff.WithBackOff(keptBackOff{s.bo}), backoff.WithMaxElapsedTime(s.opts.StartRetryFor))
	if err != nil {
		return nil, fmt.Errorf("start plugin: %w", err)
	}
	s.cur = p
	s.starts++
	s.event("start")
	return p, nil
}

// dropLocked forgets p after it exited.
func (s *Supervisor) dropLocked(p PluginProcess) {
	if s.cur != p {
		return
	}
	s.cur = nil
	p.Close()
	s.failures++
	s.crashes++
	s.event("crash")
	s.log.Error("plugin process exited; it will be restarted", "consecutive_failures", s.failures)
}

// Exec runs op in the plugin, starting it first when needed. When the call
// fails because the process died, the process is dropped (the next call
// restarts it after the backoff) and the error is returned: the run is not
// retried, since a poison window could crash the plugin again and again.
func (s *Supervisor) Exec(ctx context.Context, op string, args json.RawMessage, secrets map[string]string, st plugin.Stream) (json.RawMessage, error) {
	p, err := s.get(ctx)
	if err != nil {
		return nil, err
	}
	res, err := p.Exec(ctx, op, args, secrets, st)
	if err != nil && p.Exited() {
		s.mu.Lock()
		s.dropLocked(p)
		s.mu.Unlock()
		return nil, fmt.Errorf("%w: %w", ErrPluginCrashed, err)
	}
	if err == nil {
		s.mu.Lock()
		s.failures = 0
		s.bo.Reset()
		s.mu.Unlock()
	}
	return res, err
}

// Validate checks every detection's settings with the plugin (starting it
// when needed). It is Options.Validate for a server over this supervisor.
func (s *Supervisor) Validate(ctx context.Context, cfg *Config) error {
	p, err := s.get(ctx)
	if err != nil {
		return err
	}
	var problems []string
	for _, d := range cfg.Detections {
		ps, err := p.Validate(ctx, d.SettingsJSON(), d.SecretValues())
		if err != nil {
			if p.Exited() {
				s.mu.Lock()
				s.dropLocked(p)
				s.mu.Unlock()
			}
			return fmt.Errorf("validate detection %s: %w", d.Name, err)
		}
		for _, pr := range ps {
			problems = append(problems, d.Name+": "+pr)
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrConfig, strings.Join(problems, "; "))
	}
	return nil
}

// ErrPluginCrashed marks an operation that failed because the plugin
// process exited.
var ErrPluginCrashed = errors.New("plugin process exited")

// PluginStatus is the supervisor's state for /healthz.
type PluginStatus struct {
	Running  bool `json:"running"`
	Starts   int  `json:"starts"`
	Crashes  int  `json:"crashes"`
	Failures int  `json:"consecutive_failures"`
}

// Status reports the supervisor's state.
func (s *Supervisor) Status() PluginStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return PluginStatus{Running: s.cur != nil && !s.cur.Exited(), Starts: s.starts, Crashes: s.crashes, Failures: s.failures}
}

// Close stops the plugin process.
func (s *Supervisor) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != nil {
		s.cur.Close()
		s.cur = nil
	}
}

// PluginRunner is the Runner (and FeedRunner) serve uses: each run is one
// wire.OpRunIncremental call in the supervised plugin, each feed refresh
// one wire.OpFeedRefresh.
type PluginRunner struct {
	Sup *Supervisor
	// Progress receives the operations' progress (nil discards it).
	Progress plugin.Stream
}

var _ plugin.Admin = (*Supervisor)(nil)

// Run implements Runner.
func (r PluginRunner) Run(ctx context.Context, req RunRequest) (RunResult, error) {
	out, err := plugin.Call(ctx, r.Sup, wire.OpRunIncremental, wire.RunIncrementalArgs{
		Detection: req.Detection.Name, RunID: req.RunID, Holder: req.Holder,
		Settings: req.Detection.RunSettings(), Incremental: req.Detection.Incremental, Window: req.Window,
		Trigger: req.Trigger,
	}, req.Detection.SecretValues(), teeProgress{r.Progress, req.Progress})
	if err != nil {
		return out, err
	}
	// The plugin answers a run that failed inside (a window error, a lost
	// lease) with the Outcome and no error, so that the host still learns
	// how far it got; that failure is returned here as the error.
	if out.Status == wire.StatusFailed {
		msg := out.Error
		if msg == "" {
			msg = "run failed"
		}
		return out, errors.New(msg)
	}
	return out, nil
}

// teeProgress passes an operation's progress to the runner's stream (the
// log) and to the caller's function.
type teeProgress struct {
	s  plugin.Stream
	fn func(wire.Progress)
}

func (t teeProgress) Progress(ctx context.Context, p plugin.Progress) error {
	if t.fn != nil {
		t.fn(p)
	}
	if t.s != nil {
		return t.s.Progress(ctx, p)
	}
	return nil
}

func (t teeProgress) Alerts(ctx context.Context, a plugin.AlertBatch) error {
	if t.s != nil {
		return t.s.Alerts(ctx, a)
	}
	return nil
}
