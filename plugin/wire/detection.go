package wire

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"time"
)

// Defaults for Config fields left at zero.
const (
	DefaultOverlap         = 10 * time.Minute
	DefaultDelay           = time.Minute
	DefaultMaxWindow       = time.Hour
	DefaultInitialLookback = 24 * time.Hour
	DefaultLeaseTTL        = 2 * time.Minute
	DefaultRetroLookback   = 7 * 24 * time.Hour
	DefaultRetroMaxWindow  = 24 * time.Hour
	DefaultMaxBackfill     = 7 * 24 * time.Hour
)

// Config tunes incremental runs of one detection (a serve detection's
// inline keys). Zero fields take the defaults above (so an overlap or delay
// cannot be switched off with 0: use a tiny value such as "1s").
type Config struct {
	// Overlap is how far before the checkpoint a run starts again, so that
	// events indexed late (after the window that should have seen them ran)
	// are still found. Finding ids keep the re-scanned part duplicate-free.
	Overlap Duration `json:"overlap,omitempty" yaml:"overlap"`
	// Delay keeps the newest part of the timeline out of a run: a run ends
	// at now − Delay, leaving time for events still in flight to the index.
	Delay Duration `json:"delay,omitempty" yaml:"delay"`
	// MaxWindow bounds one window (one query pass). After downtime the
	// missed time is caught up in windows of at most this length, oldest
	// first, each committed on its own.
	MaxWindow Duration `json:"max_window,omitempty" yaml:"max_window"`
	// InitialLookback is what a detection's first run covers (it has no
	// checkpoint yet): [now − Delay − InitialLookback, now − Delay].
	InitialLookback Duration `json:"initial_lookback,omitempty" yaml:"initial_lookback"`
	// LeaseTTL is how long a lease lasts without renewal; the holder renews
	// it every TTL/3 while it runs. A crashed holder blocks the detection
	// for at most this long. Keep it well above the clock skew between hosts.
	LeaseTTL Duration `json:"lease_ttl,omitempty" yaml:"lease_ttl"`
	// MaxWindows caps the windows one call runs (0: no cap). The rest of a
	// catch-up is left for the next call, which starts from the checkpoint.
	MaxWindows int `json:"max_windows,omitempty" yaml:"max_windows"`
	// RetroLookback is the past a retro-hunt re-scans (default 7 days).
	RetroLookback Duration `json:"retro_lookback,omitempty" yaml:"retro_lookback"`
	// RetroMaxWindow bounds one retro-hunt window (default 24h). It can be
	// larger than MaxWindow: a retro-hunt queries for a handful of new
	// indicators and commits no checkpoint, so fewer, longer passes are
	// cheaper (the events are still streamed page by page).
	RetroMaxWindow Duration `json:"retro_max_window,omitempty" yaml:"retro_max_window"`
	// MaxBackfill bounds the span of one backfill: an explicit window (the
	// webhook's {"from", "to"}) and a retro-hunt's look-back. A longer
	// window is refused (CheckBackfill: serve answers 422 naming this key),
	// a RetroLookback over it is a configuration error. Default 7 days.
	MaxBackfill Duration `json:"max_backfill,omitempty" yaml:"max_backfill"`
}

// durations lists c's duration fields by key, for defaults, merges and checks.
func (c *Config) durations() []struct {
	key string
	d   *Duration
	def time.Duration
} {
	return []struct {
		key string
		d   *Duration
		def time.Duration
	}{
		{"overlap", &c.Overlap, DefaultOverlap}, {"delay", &c.Delay, DefaultDelay},
		{"max_window", &c.MaxWindow, DefaultMaxWindow}, {"initial_lookback", &c.InitialLookback, DefaultInitialLookback},
		{"lease_ttl", &c.LeaseTTL, DefaultLeaseTTL}, {"retro_lookback", &c.RetroLookback, DefaultRetroLookback},
		{"retro_max_window", &c.RetroMaxWindow, DefaultRetroMaxWindow},
		{"max_backfill", &c.MaxBackfill, DefaultMaxBackfill},
	}
}

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	for _, f := range c.durations() {
		if *f.d == 0 {
			*f.d = Duration(f.def)
		}
	}
	return c
}

// Merge returns c with its zero fields taken from def (serve's defaults
// section under a detection's own keys).
func (c Config) Merge(def Config) Config {
	defs := def.durations()
	for i, f := range c.durations() {
		if *f.d == 0 {
			*f.d = *defs[i].d
		}
	}
	if c.MaxWindows == 0 {
		c.MaxWindows = def.MaxWindows
	}
	return c
}

// ErrInvalidConfig marks a Config, detection name or request that cannot be
// run.
var ErrInvalidConfig = errors.New("invalid incremental configuration")

// Validate reports the first problem with c (after defaults).
func (c Config) Validate() error {
	c = c.WithDefaults()
	for _, f := range c.durations() {
		if *f.d < 0 {
			return fmt.Errorf("%w: %s %s is negative", ErrInvalidConfig, f.key, *f.d)
		}
	}
	for _, f := range []struct {
		key string
		d   Duration
	}{{"max_window", c.MaxWindow}, {"retro_max_window", c.RetroMaxWindow}, {"lease_ttl", c.LeaseTTL}, {"max_backfill", c.MaxBackfill}} {
		if f.d.D() < time.Second {
			return fmt.Errorf("%w: %s %s is under 1s", ErrInvalidConfig, f.key, f.d)
		}
	}
	if c.MaxWindows < 0 {
		return fmt.Errorf("%w: max_windows %d is negative", ErrInvalidConfig, c.MaxWindows)
	}
	if c.RetroLookback > c.MaxBackfill {
		return fmt.Errorf("%w: retro_lookback %s is over max_backfill %s: a retro-hunt is a backfill; shorten retro_lookback or raise max_backfill",
			ErrInvalidConfig, c.RetroLookback.Human(), c.MaxBackfill.Human())
	}
	return nil
}

// CheckBackfill refuses an explicit window longer than MaxBackfill (after
// defaults) with a *BackfillTooLongError. serve checks a webhook's window
// with it before queueing anything, and the plugin again before running one.
func (c Config) CheckBackfill(w Window) error {
	c = c.WithDefaults()
	if w.Duration() > c.MaxBackfill.D() {
		return &BackfillTooLongError{Window: w, Limit: c.MaxBackfill, MaxWindow: c.MaxWindow}
	}
	return nil
}

// BackfillTooLongError is a backfill window over Config.MaxBackfill.
// errors.Is(err, ErrInvalidConfig) holds.
type BackfillTooLongError struct {
	Window    Window
	Limit     Duration // MaxBackfill
	MaxWindow Duration // the window size it would have been split into
}

// Windows is how many windows the request would have run.
func (e *BackfillTooLongError) Windows() int {
	if e.MaxWindow <= 0 {
		return 1
	}
	return int((e.Window.Duration() + e.MaxWindow.D() - 1) / e.MaxWindow.D())
}

func (e *BackfillTooLongError) Error() string {
	return fmt.Sprintf("window %s spans %s (%d windows of %s), over the backfill limit max_backfill %s: split it into requests of at most %s, or raise max_backfill for this detection (or under defaults) in the serve configuration and reload it (SIGHUP)",
		e.Window, Duration(e.Window.Duration()).Human(), e.Windows(), e.MaxWindow.Human(), e.Limit.Human(), e.Limit.Human())
}

// Is makes errors.Is(err, ErrInvalidConfig) true.
func (e *BackfillTooLongError) Is(target error) bool { return target == ErrInvalidConfig }

// MaxDetectionName is the longest detection name.
const MaxDetectionName = 64

var detectionNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// ValidateDetectionName is the one detection name rule, checked by the host
// (serve config, --detection, settings) and the plugin (install, every
// incremental operation): 1 to 64 lower-case letters, digits, '_' and '-',
// starting with a letter or a digit. A name becomes a URL path segment, a
// metric label, a state document id ("checkpoint-<name>"), a Watcher watch
// id and an OpenSearch Notifications channel id ("edgewatch-<name>"), whose
// config_id takes only letters, digits, '_' and '-': a '.' there makes
// install fail with a 400, so names may not hold one.
func ValidateDetectionName(name string) error {
	if len(name) > MaxDetectionName || !detectionNameRE.MatchString(name) {
		return nameError(name)
	}
	return nil
}

// nameError is a refused detection name; errors.Is(err, ErrInvalidConfig)
// holds, and the message stands alone after a flag or a config path.
type nameError string

func (e nameError) Error() string {
	return fmt.Sprintf("detection name %q: use 1 to %d lower-case letters, digits, '_' and '-', starting with a letter or digit (no '.', which OpenSearch Notifications channel ids refuse)",
		string(e), MaxDetectionName)
}

func (e nameError) Is(target error) bool { return target == ErrInvalidConfig }

// NewHolderID returns a lease holder id unique to this process and call:
// "<hostname>/<pid>/<random>". serve gives one per instance, so that a
// restarted plugin re-takes its own lease at once.
func NewHolderID() string {
	host, _ := os.Hostname()
	if host == "" {
		host = "unknown-host"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// Modes of an incremental call.
const (
	ModeIncremental = "incremental" // from the checkpoint, advancing it
	ModeWindow      = "window"      // an explicit window (backfill); the checkpoint stays
	ModeRetroHunt   = "retro_hunt"  // new indicators over the past
)

// Outcome is the answer of detection.run_incremental and
// detection.retro_hunt: how far the call got, window by window.
type Outcome struct {
	Detection string `json:"detection"`
	RunID     string `json:"run_id,omitempty"`
	Mode      string `json:"mode"`
	Status    string `json:"status"` // StatusSuccess, StatusFailed, StatusNoop, StatusSkipped
	// Reason explains a noop or skipped status.
	Reason string `json:"reason,omitempty"`
	Holder string `json:"holder,omitempty"`

	CheckpointBefore time.Time `json:"checkpoint_before,omitzero"`
	CheckpointAfter  time.Time `json:"checkpoint_after,omitzero"`
	// LagSeconds is now − CheckpointAfter at the end of the call (0 when
	// there is no checkpoint).
	LagSeconds float64 `json:"lag_seconds"`
	// CaughtUp is false when Config.MaxWindows left windows for later.
	CaughtUp bool `json:"caught_up"`
	// Remaining counts the planned windows not run (cap or failure).
	Remaining int `json:"remaining"`

	Windows        []WindowOutcome `json:"windows"`
	EventsScanned  int64           `json:"events_scanned"`
	AlertsCreated  int             `json:"alerts_created"`
	AlreadyPresent int             `json:"already_present"`

	Started    time.Time `json:"started"`
	Finished   time.Time `json:"finished"`
	DurationMS int64     `json:"duration_ms"`
	Error      string    `json:"error,omitempty"`
}

// WindowOutcome is one window of an Outcome.
type WindowOutcome struct {
	Window
	WindowStats
	Status     string `json:"status"` // StatusSuccess or StatusFailed
	Committed  bool   `json:"committed"`
	DurationMS int64  `json:"duration_ms"`
	Error      string `json:"error,omitempty"`
}

// WindowStats is what one window pass reports.
type WindowStats struct {
	RunID          string `json:"run_id,omitempty"` // the detection run's id
	EventsScanned  int64  `json:"events_scanned"`
	AlertsMatched  int    `json:"alerts_matched"`
	AlertsCreated  int    `json:"alerts_created"`
	AlreadyPresent int    `json:"already_present"`
}

// LastRun summarises one incremental call (or retro-hunt) as the
// checkpoint document keeps it.
type LastRun struct {
	RunID          string    `json:"run_id,omitempty"`
	Mode           string    `json:"mode"`    // ModeIncremental, ModeWindow, ModeRetroHunt
	Outcome        string    `json:"outcome"` // StatusSuccess, StatusFailed, StatusNoop
	Holder         string    `json:"holder,omitempty"`
	Started        time.Time `json:"started"`
	Finished       time.Time `json:"finished"`
	DurationMS     int64     `json:"duration_ms"`
	Windows        int       `json:"windows"`
	EventsScanned  int64     `json:"events_scanned"`
	AlertsCreated  int       `json:"alerts_created"`
	AlreadyPresent int       `json:"already_present"`
	Error          string    `json:"error,omitempty"`
}

// LeaseDoc is a detection's lease document in the state index.
type LeaseDoc struct {
	Type      string    `json:"type"` // StateTypeLease
	Detection string    `json:"detection"`
	Holder    string    `json:"holder"` // empty when released
	Acquired  time.Time `json:"acquired_at,omitzero"`
	Renewed   time.Time `json:"renewed_at,omitzero"`
	Expires   time.Time `json:"expires_at"`
}

// RetroDoc records a detection's last retro-hunt.
type RetroDoc struct {
	Type       string    `json:"type"` // StateTypeRetroHunt
	Detection  string    `json:"detection"`
	Updated    time.Time `json:"updated_at"`
	Indicators int       `json:"indicators"` // how many new indicators were hunted
	Window     Window    `json:"window"`
	LastRun    LastRun   `json:"last_run"`
}

// DetectionStatus is what `edgewatch status` shows for one detection.
type DetectionStatus struct {
	Detection  string    `json:"detection"`
	Checkpoint time.Time `json:"checkpoint,omitzero"`
	// LagSeconds is now − Checkpoint: how far behind real time the
	// detection's processed timeline is (it includes the configured delay).
	// Negative means the checkpoint is ahead of this host's clock.
	LagSeconds  float64   `json:"lag_seconds"`
	Never       bool      `json:"never_run,omitempty"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	LastRun     *LastRun  `json:"last_run,omitempty"`
	Lease       *LeaseDoc `json:"lease,omitempty"` // current holder, when live
	Retro       *RetroDoc `json:"retro_hunt,omitempty"`
	// Backfill is the detection's last (or running) backfill.
	Backfill *BackfillDoc `json:"backfill,omitempty"`
}

// BackfillDoc records a detection's backfill (an explicit window run under
// its own lease, which never moves the checkpoint): written when it starts,
// after each window, and when it ends.
type BackfillDoc struct {
	Type      string    `json:"type"` // StateTypeBackfill
	Detection string    `json:"detection"`
	RunID     string    `json:"run_id,omitempty"`
	Holder    string    `json:"holder,omitempty"`
	Window    Window    `json:"window"`
	State     string    `json:"state"` // BackfillRunning or BackfillDone
	Done      int       `json:"windows_done"`
	Total     int       `json:"windows_total"`
	Updated   time.Time `json:"updated_at"`
	// LastRun is the finished backfill's record (nil while it runs).
	LastRun *LastRun `json:"last_run,omitempty"`
}

// States of a BackfillDoc.
const (
	BackfillRunning = "running"
	BackfillDone    = "done"
)

// ProgressWindows is the Progress stage an incremental call, a backfill or
// a retro-hunt reports after each window: Done of Total windows, the
// detection in Message.
const ProgressWindows = "windows"

// RunIncrementalArgs are the args of OpRunIncremental.
type RunIncrementalArgs struct {
	Detection   string   `json:"detection"`
	RunID       string   `json:"run_id,omitempty"`
	Holder      string   `json:"holder,omitempty"`
	Settings    Settings `json:"settings"`
	Incremental Config   `json:"incremental"`
	// Window, when set, runs exactly that window (a backfill) and leaves
	// the checkpoint where it is.
	Window  *Window `json:"window,omitempty"`
	Trigger string  `json:"trigger,omitempty"`
}

// RetroHuntArgs are the args of OpRetroHunt: a detection, its settings,
// and the indicators to hunt for (addresses or CIDRs).
type RetroHuntArgs struct {
	Detection   string   `json:"detection"`
	RunID       string   `json:"run_id,omitempty"`
	Settings    Settings `json:"settings"`
	Incremental Config   `json:"incremental"`
	Indicators  []string `json:"indicators"`
	FeedName    string   `json:"feed_name,omitempty"`
}

// FeedRefreshArgs are the args of OpFeedRefresh: load the feed file
// atomically into the lookup index, then retro-hunt each detection with
// only the indicators the load added.
type FeedRefreshArgs struct {
	RunID string   `json:"run_id,omitempty"`
	Feed  FeedFile `json:"feed"`
	// Settings say where the feed is loaded (the first detection's).
	Settings   Settings             `json:"settings"`
	RetroHunt  bool                 `json:"retro_hunt"`
	Detections []FeedRetroDetection `json:"detections,omitempty"`
	// RetroOnFirstLoad also retro-hunts after a feed's first load, when
	// every indicator is "added" (off by default: the detection's own
	// initial look-back covers that case).
	RetroOnFirstLoad bool `json:"retro_on_first_load,omitempty"`
}

// FeedFile is a feed file the plugin reads.
type FeedFile struct {
	Name     string `json:"name,omitempty"`
	Path     string `json:"path"`
	MinLevel int    `json:"min_level,omitempty"`
}

// FeedRetroDetection is one detection a feed refresh retro-hunts.
type FeedRetroDetection struct {
	Name        string   `json:"name"`
	Settings    Settings `json:"settings"`
	Incremental Config   `json:"incremental"`
}

// FeedRefreshResult is the answer of OpFeedRefresh.
type FeedRefreshResult struct {
	Feed      string     `json:"feed"`
	Loaded    int        `json:"loaded"`
	Added     int        `json:"added"`
	Removed   int        `json:"removed"`
	FirstLoad bool       `json:"first_load"`
	Retro     []*Outcome `json:"retro_hunts,omitempty"`
	Note      string     `json:"note,omitempty"`
}

// DetectionStatusArgs are the args of OpDetectionStatus.
type DetectionStatusArgs struct {
	Settings Settings `json:"settings"`
	// Detections to show; empty lists every detection with a checkpoint.
	Detections []string `json:"detections,omitempty"`
}

// DetectionStatusResult is the answer of OpDetectionStatus.
type DetectionStatusResult struct {
	Now        time.Time         `json:"now"`
	Detections []DetectionStatus `json:"detections"`
}
