package engine

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/edgewatch/edgewatch/connectors"
	"github.com/edgewatch/edgewatch/correlation"
)

// Progress is one progress report of a run, sent often enough to drive a
// progress bar and at each stage change.
type Progress struct {
	Stage   string `json:"stage"`   // "indicators", "facing", "events", "write", "done"
	Done    int64  `json:"done"`    // rows (or bytes, see Unit) done in this stage
	Total   int64  `json:"total"`   // 0 when unknown
	Unit    string `json:"unit"`    // "rows" or "bytes"
	Message string `json:"message"` // optional human text
}

// Observer receives what a run produces, in order.
type Observer interface {
	Progress(p Progress)
	// Alerts receives alerts in batches (at most BatchSize each). An error
	// aborts the run.
	Alerts(ctx context.Context, batch []*correlation.Alert) error
}

// BatchSize is the largest alert batch handed to Observer.Alerts and to the
// alert writer.
const BatchSize = 500

// DefaultFacingLookback is how far back DeviceInfo rows count when Settings
// leaves FacingLookback at zero. Defender drops the internet-facing tag after
// 48 hours without traffic; 30 days keeps the seed's "latest known state".
const DefaultFacingLookback = 30 * 24 * time.Hour

// Default rule identity.
const (
	DefaultRuleID   = "edgewatch-defender-ti-inbound"
	DefaultRuleName = "Inbound connection from a threat-intel IP to an internet-facing port"
	RuleVersion     = "1"
)

// Summary is what a run reports at its end. It is plain JSON.
type Summary struct {
	RunID    string    `json:"run_id"`
	Source   string    `json:"source"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Window   Window    `json:"window"`

	Indicators IndicatorSummary `json:"indicators"`
	DeviceInfo DeviceSummary    `json:"device_info"`
	Events     EventSummary     `json:"events"`
	Alerts     AlertSummary     `json:"alerts"`

	DurationMS int64  `json:"duration_ms"`
	Outcome    string `json:"outcome"` // "success" or "failed"
	Error      string `json:"error,omitempty"`
}

// Window is a run's time window; zero ends are unbounded.
type Window struct {
	From       time.Time `json:"from,omitzero"`
	To         time.Time `json:"to,omitzero"`
	FacingFrom time.Time `json:"facing_from,omitzero"`
}

// IndicatorSummary counts the indicator step.
type IndicatorSummary struct {
	Loaded   int                      `json:"loaded"`
	Addrs    int                      `json:"addresses"`
	Prefixes int                      `json:"ranges"`
	Dropped  map[string]int           `json:"dropped,omitempty"`
	Invalid  int                      `json:"invalid"`
	Feeds    []correlation.FeedReport `json:"feeds,omitempty"`
	From     string                   `json:"from"` // "files" or the lookup index
}

// DeviceSummary counts the facing step.
type DeviceSummary struct {
	Read     int64                             `json:"read"`
	Skipped  map[string]int64                  `json:"skipped,omitempty"`
	Examples map[string][]correlation.Location `json:"examples,omitempty"`
	// OtherTables and MissingColumns: connectors.Report's.
	OtherTables    map[string]int64    `json:"other_tables,omitempty"`
	MissingColumns map[string][]string `json:"missing_columns,omitempty"`
	NoPort         int                 `json:"rows_without_port"`
	FacingPorts    int                 `json:"facing_ports"`
	Devices        int                 `json:"devices"`
}

// EventSummary counts the event step.
type EventSummary struct {
	Read       int64                             `json:"read"`
	Candidates int64                             `json:"candidates"`
	Skipped    map[string]int64                  `json:"skipped,omitempty"`
	Examples   map[string][]correlation.Location `json:"examples,omitempty"`
	// OtherTables and MissingColumns: connectors.Report's.
	OtherTables    map[string]int64    `json:"other_tables,omitempty"`
	MissingColumns map[string][]string `json:"missing_columns,omitempty"`
	// Misses counts candidate rows the exact match refused, by reason.
	Misses map[string]int64 `json:"misses,omitempty"`
	// Duplicates counts rows that produced an already-seen finding id.
	Duplicates int64 `json:"duplicates"`
}

// AlertSummary counts the alerts.
type AlertSummary struct {
	Matched        int      `json:"matched"`
	Created        int      `json:"created"`
	AlreadyPresent int      `json:"already_present"`
	Failed         int      `json:"failed"`
	Failures       []string `json:"failures,omitempty"`
	Index          string   `json:"index,omitempty"`
}

// Backend is what a run reads from and writes to.
type Backend struct {
	Source connectors.Source
	// Writer stores alerts; nil means the observer is the only sink (file mode).
	Writer connectors.AlertWriter
	// Indicators loads the indicator set from the store (the lookup index);
	// nil means Settings.Feeds files.
	Indicators func(ctx context.Context) (*correlation.IndicatorSet, error)
	// RecordRun stores the run record; nil in file mode.
	RecordRun func(ctx context.Context, s *Summary) error
	// Close releases the backend.
	Close func() error
}

// BackendFactory opens the backend a Settings.Source names.
type BackendFactory func(ctx context.Context, s Settings, secrets map[string]string) (*Backend, error)

var (
	backendsMu sync.RWMutex
	backends   = map[string]BackendFactory{"file": openFileBackend}
)

// RegisterBackend makes a source kind available to Run.
func RegisterBackend(name string, f BackendFactory) {
	backendsMu.Lock()
	defer backendsMu.Unlock()
	backends[name] = f
}

// ErrConfig marks a run that failed on its configuration (ours to fix, not
// the store's).
var ErrConfig = errors.New("invalid configuration")

// Open opens the backend for s.
func Open(ctx context.Context, s Settings, secrets map[string]string) (*Backend, error) {
	name := s.Source
	if name == "" {
		name = "file"
	}
	backendsMu.RLock()
	f, ok := backends[name]
	backendsMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: unknown source %q (want file, opensearch or elasticsearch)", ErrConfig, name)
	}
	return f(ctx, s, secrets)
}

// Run executes one detection run described by s. secrets carries connector
// credentials ("password", "api_key"); they are never logged.
func Run(ctx context.Context, s Settings, secrets map[string]string, obs Observer) (*Summary, error) {
	be, err := Open(ctx, s, secrets)
	if err != nil {
		return nil, err
	}
	if be.Close != nil {
		defer be.Close()
	}
	return RunWith(ctx, s, be, obs, time.Now)
}

// RunWith executes one run against an open backend with an injected clock.
func RunWith(ctx context.Context, s Settings, be *Backend, obs Observer, now func() time.Time) (*Summary, error) {
	if obs == nil {
		obs = nopObserver{}
	}
	sum := &Summary{RunID: newRunID(), Source: s.Source, Started: now().UTC()}
	if sum.Source == "" {
		sum.Source = "file"
	}
	err := run(ctx, s, be, obs, now, sum)
	sum.Finished = now().UTC()
	sum.DurationMS = sum.Finished.Sub(sum.Started).Milliseconds()
	sum.Outcome = "success"
	if err != nil {
		sum.Outcome = "failed"
		sum.Error = err.Error()
	}
	if be.RecordRun != nil {
		// The run record is written even when the run failed, with a fresh
		// context when the run's own was cancelled.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		if rerr := be.RecordRun(rctx, sum); rerr != nil && err == nil {
			err = fmt.Errorf("record run: %w", rerr)
		}
		cancel()
	}
	obs.Progress(Progress{Stage: "done", Message: sum.Outcome})
	return sum, err
}

func run(ctx context.Context, s Settings, be *Backend, obs Observer, now func() time.Time, sum *Summary) error {
	opts, rule, err := matchOptions(s)
	if err != nil {
		return err
	}
	sum.Window.From, sum.Window.To = s.From, s.To
	lookback := time.Duration(s.FacingLookback)
	if lookback == 0 {
		lookback = DefaultFacingLookback
	}
	if !s.From.IsZero() {
		sum.Window.FacingFrom = s.From.Add(-lookback)
	}

	// 1 indicators
	obs.Progress(Progress{Stage: "indicators", Message: "loading indicators"})
	ind, err := loadIndicators(ctx, s, be, sum)
	if err != nil {
		return err
	}

	// 2 facing (a Source may start the event step's facing-free work now)
	if p, ok := be.Source.(connectors.EventPreparer); ok {
		stop := p.PrepareEvents(ctx, connectors.EventQuery{From: s.From, To: s.To, Indicators: ind})
		defer stop()
	}
	obs.Progress(Progress{Stage: "facing", Message: "reading DeviceInfo"})
	var fb correlation.FacingBuilder
	frep, err := be.Source.DeviceInfo(ctx, connectors.FacingQuery{
		From:     sum.Window.FacingFrom,
		To:       s.To,
		Progress: progressFunc(obs, "facing"),
	}, func(row *correlation.DeviceInfo) error {
		fb.Add(row)
		return nil
	})
	sum.DeviceInfo.Read = frep.Read
	sum.DeviceInfo.Skipped, sum.DeviceInfo.Examples = frep.Skipped, frep.Examples
	sum.DeviceInfo.OtherTables, sum.DeviceInfo.MissingColumns = frep.OtherTables, frep.MissingColumns
	if err != nil {
		return fmt.Errorf("read DeviceInfo: %w", err)
	}
	facing := fb.Build()
	sum.DeviceInfo.NoPort = fb.Ignored()
	sum.DeviceInfo.FacingPorts = facing.Len()
	sum.DeviceInfo.Devices = len(facing.Devices())

	// 3+4 events, correlate
	matcher := correlation.NewMatcher(facing, ind, opts)
	w := &writer{be: be, obs: obs, sum: sum}
	seen := map[string]struct{}{}
	misses := map[string]int64{}
	created := now().UTC()
	obs.Progress(Progress{Stage: "events", Message: "reading DeviceNetworkEvents"})
	erep, err := be.Source.NetworkEvents(ctx, connectors.EventQuery{
		From:       s.From,
		To:         s.To,
		Facing:     facing,
		Indicators: ind,
		Progress:   progressFunc(obs, "events"),
	}, func(ev *correlation.NetworkEvent) error {
		sum.Events.Candidates++
		m, reason, ok := matcher.Match(ev)
		if !ok {
			misses[reason]++
			return nil
		}
		a := correlation.NewAlert(ev, m, rule, created)
		// ev (and its Raw bytes) is only valid during this call.
		a.Defender.NetworkEvent = bytes.Clone(a.Defender.NetworkEvent)
		a.Edgewatch.RunID = sum.RunID
		if _, dup := seen[a.Event.ID]; dup {
			sum.Events.Duplicates++
			return nil
		}
		seen[a.Event.ID] = struct{}{}
		sum.Alerts.Matched++
		return w.add(ctx, a)
	})
	sum.Events.Read = erep.Read
	sum.Events.Skipped, sum.Events.Examples = erep.Skipped, erep.Examples
	sum.Events.OtherTables, sum.Events.MissingColumns = erep.OtherTables, erep.MissingColumns
	if len(misses) > 0 {
		sum.Events.Misses = misses
	}
	if err != nil {
		return fmt.Errorf("read DeviceNetworkEvents: %w", err)
	}

	// 5 write
	if err := w.flush(ctx); err != nil {
		return err
	}
	if sum.Alerts.Failed > 0 {
		return fmt.Errorf("%d of %d alerts could not be written", sum.Alerts.Failed, sum.Alerts.Matched)
	}
	return nil
}

// writer batches alerts to the store and the observer.
type writer struct {
	be    *Backend
	obs   Observer
	sum   *Summary
	batch []*correlation.Alert
}

func (w *writer) add(ctx context.Context, a *correlation.Alert) error {
	w.batch = append(w.batch, a)
	if len(w.batch) >= BatchSize {
		return w.flush(ctx)
	}
	return nil
}

func (w *writer) flush(ctx context.Context) error {
	if len(w.batch) == 0 {
		return nil
	}
	batch := w.batch
	w.batch = nil
	if w.be.Writer != nil {
		res, err := w.be.Writer.Write(ctx, batch)
		w.sum.Alerts.Created += res.Created
		w.sum.Alerts.AlreadyPresent += res.AlreadyPresent
		w.sum.Alerts.Failed += res.Failed
		if len(w.sum.Alerts.Failures) < 10 {
			w.sum.Alerts.Failures = append(w.sum.Alerts.Failures, res.Failures...)
		}
		if err != nil {
			return fmt.Errorf("write alerts: %w", err)
		}
	} else {
		w.sum.Alerts.Created += len(batch)
	}
	return w.obs.Alerts(ctx, batch)
}

func loadIndicators(ctx context.Context, s Settings, be *Backend, sum *Summary) (*correlation.IndicatorSet, error) {
	if be.Indicators != nil && (s.Cluster != nil && s.Cluster.IndicatorFeed != "") {
		ind, err := be.Indicators(ctx)
		if err != nil {
			return nil, fmt.Errorf("load indicators from %s: %w", s.Cluster.IndicatorFeed, err)
		}
		sum.Indicators.From = "edgewatch-indicators-" + s.Cluster.IndicatorFeed
		sum.Indicators.Loaded = ind.Len()
		sum.Indicators.Addrs, sum.Indicators.Prefixes = ind.AddrCount(), ind.PrefixCount()
		return ind, nil
	}
	if len(s.Feeds) == 0 {
		return nil, fmt.Errorf("%w: no indicator feed: give --feed FILE (an IPsum ipsum.txt or levels/N.txt, or a list of IPs/CIDRs)", ErrConfig)
	}
	ind, reps, err := LoadFeedFiles(ctx, s.Feeds, correlation.FeedOptions{
		Name: s.FeedName, MinLevel: s.MinLevel, KeepNonGlobal: s.KeepNonGlobal,
	})
	if err != nil {
		return nil, err
	}
	sum.Indicators.From = "files"
	sum.Indicators.Feeds = reps
	sum.Indicators.Loaded = ind.Len()
	sum.Indicators.Addrs, sum.Indicators.Prefixes = ind.AddrCount(), ind.PrefixCount()
	for _, r := range reps {
		sum.Indicators.Invalid += r.Invalid
		for k, v := range r.Dropped {
			if sum.Indicators.Dropped == nil {
				sum.Indicators.Dropped = map[string]int{}
			}
			sum.Indicators.Dropped[k] += v
		}
	}
	return ind, nil
}

func matchOptions(s Settings) (correlation.MatchOptions, correlation.Rule, error) {
	opts := correlation.MatchOptions{ExcludePorts: s.ExcludePorts}
	for _, p := range s.ExcludePorts {
		if p < 0 || p > 65535 {
			return opts, correlation.Rule{}, fmt.Errorf("%w: exclude port %d is not a port number", ErrConfig, p)
		}
	}
	for _, a := range s.Allow {
		p, err := parsePrefix(a)
		if err != nil {
			return opts, correlation.Rule{}, fmt.Errorf("%w: allow %q: %v", ErrConfig, a, err)
		}
		opts.Allow = append(opts.Allow, p)
	}
	if !s.From.IsZero() && !s.To.IsZero() && !s.From.Before(s.To) {
		return opts, correlation.Rule{}, fmt.Errorf("%w: window from %s is not before to %s", ErrConfig, s.From.Format(time.RFC3339), s.To.Format(time.RFC3339))
	}
	rule := correlation.Rule{
		ID:          s.RuleID,
		Name:        s.RuleName,
		Version:     RuleVersion,
		Description: "An internet-facing device accepted an inbound connection on one of its internet-facing ports from an address on a threat-intelligence list.",
		Reference:   "https://github.com/stamparm/ipsum",
	}
	if rule.ID == "" {
		rule.ID = DefaultRuleID
	}
	if rule.Name == "" {
		rule.Name = DefaultRuleName
	}
	return opts, rule, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("not an address or CIDR")
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func progressFunc(obs Observer, stage string) connectors.ProgressFunc {
	return func(done, total int64, unit string) {
		obs.Progress(Progress{Stage: stage, Done: done, Total: total, Unit: unit})
	}
}

func newRunID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

type nopObserver struct{}

func (nopObserver) Progress(Progress)                                  {}
func (nopObserver) Alerts(context.Context, []*correlation.Alert) error { return nil }
