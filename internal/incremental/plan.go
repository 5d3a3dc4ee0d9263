package incremental

import (
	"errors"
	"fmt"
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
)

// Config tunes incremental runs of one detection. Zero fields take the
// defaults above (so an overlap or delay cannot be switched off with 0: use
// a tiny value such as "1s").
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
}

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	def := func(d *Duration, v time.Duration) {
		if *d == 0 {
			*d = Duration(v)
		}
	}
	def(&c.Overlap, DefaultOverlap)
	def(&c.Delay, DefaultDelay)
	def(&c.MaxWindow, DefaultMaxWindow)
	def(&c.InitialLookback, DefaultInitialLookback)
	def(&c.LeaseTTL, DefaultLeaseTTL)
	def(&c.RetroLookback, DefaultRetroLookback)
	def(&c.RetroMaxWindow, DefaultRetroMaxWindow)
	return c
}

// ErrInvalidConfig marks a Config or request that cannot be run.
var ErrInvalidConfig = errors.New("invalid incremental configuration")

// Validate reports the first problem with c (after defaults).
func (c Config) Validate() error {
	c = c.WithDefaults()
	for _, f := range []struct {
		name string
		d    Duration
	}{
		{"overlap", c.Overlap}, {"delay", c.Delay}, {"max_window", c.MaxWindow},
		{"initial_lookback", c.InitialLookback}, {"lease_ttl", c.LeaseTTL}, {"retro_lookback", c.RetroLookback},
		{"retro_max_window", c.RetroMaxWindow},
	} {
		if f.d < 0 {
			return fmt.Errorf("%w: %s %s is negative", ErrInvalidConfig, f.name, f.d)
		}
	}
	if c.MaxWindow.D() < time.Second {
		return fmt.Errorf("%w: max_window %s is under 1s", ErrInvalidConfig, c.MaxWindow)
	}
	if c.RetroMaxWindow.D() < time.Second {
		return fmt.Errorf("%w: retro_max_window %s is under 1s", ErrInvalidConfig, c.RetroMaxWindow)
	}
	if c.LeaseTTL.D() < time.Second {
		return fmt.Errorf("%w: lease_ttl %s is under 1s", ErrInvalidConfig, c.LeaseTTL)
	}
	if c.MaxWindows < 0 {
		return fmt.Errorf("%w: max_windows %d is negative", ErrInvalidConfig, c.MaxWindows)
	}
	return nil
}

// Window is the half-open time range [From, To) of one detection pass.
type Window struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// String formats w as "from/to" in RFC 3339.
func (w Window) String() string {
	return w.From.UTC().Format(time.RFC3339) + "/" + w.To.UTC().Format(time.RFC3339)
}

// Duration is the window's length.
func (w Window) Duration() time.Duration { return w.To.Sub(w.From) }

// Plan returns the windows an incremental run at now covers, oldest first:
// [checkpoint − Overlap, now − Delay] (or [now − Delay − InitialLookback,
// now − Delay] when checkpoint is zero, i.e. the first run), split into
// windows of at most MaxWindow, and at most MaxWindows of them. The end is
// truncated to the second. When now − Delay is not after the checkpoint
// (nothing new, or this host's clock is behind the one that committed the
// checkpoint) Plan returns nil: the run is a no-op.
func Plan(now, checkpoint time.Time, c Config) []Window {
	c = c.WithDefaults()
	end := now.Add(-c.Delay.D()).Truncate(time.Second).UTC()
	var start time.Time
	if checkpoint.IsZero() {
		start = end.Add(-c.InitialLookback.D())
	} else {
		if !end.After(checkpoint) {
			return nil
		}
		start = checkpoint.Add(-c.Overlap.D()).UTC()
	}
	return split(start, end, c.MaxWindow.D(), c.MaxWindows)
}

// Split cuts [from, to) into windows of at most maxWindow, oldest first.
func Split(from, to time.Time, maxWindow time.Duration) []Window {
	if maxWindow <= 0 {
		maxWindow = DefaultMaxWindow
	}
	return split(from.UTC(), to.UTC(), maxWindow, 0)
}

func split(start, end time.Time, maxWindow time.Duration, limit int) []Window {
	var ws []Window
	for from := start; from.Before(end); {
		to := from.Add(maxWindow)
		if to.After(end) {
			to = end
		}
		ws = append(ws, Window{From: from, To: to})
		from = to
		if limit > 0 && len(ws) == limit {
			break
		}
	}
	return ws
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,99}$`)

// ValidateName checks a detection name: lower-case letters, digits, '.', '_'
// and '-', starting with a letter or digit, at most 100 characters. Names
// become document ids ("checkpoint-<name>") and URL path segments.
func ValidateName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("%w: detection name %q: use lower-case letters, digits, '.', '_' and '-' (at most 100)", ErrInvalidConfig, name)
	}
	return nil
}
