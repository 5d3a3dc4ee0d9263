package engine

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/edgewatch/edgewatch/connectors"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// Observer receives what a run produces, in order.
type Observer interface {
	Progress(p wire.Progress)
	// Alerts receives alerts in batches (at most BatchSize alerts and about
	// wire.AlertBatchBytes of documents each). An error aborts the run. The
	// observer may keep the batch: the engine never reuses it.
	Alerts(ctx context.Context, batch Batch) error
}

// Batch is a batch of alerts as a run hands them on: the alerts, and their
// ECS documents encoded once (correlation.Alert.AppendJSON) as NDJSON, line
// i being Alerts[i]'s document. The NDJSON is what every sink writes: the
// plugin sends it to the host as it is. An alert's raw record
// (Defender.NetworkEvent) is kept only when the backend has an alert
// writer; otherwise it is in the document alone.
type Batch struct {
	Alerts []*correlation.Alert
	NDJSON []byte
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

// Backend is what a run reads from and writes to.
type Backend struct {
	Source connectors.Source
	// Writer stores alerts; nil means the observer is the only sink (file
	// mode, or a cluster run with no_index).
	Writer connectors.AlertWriter
	// AlertIndex names where Writer writes (a cluster's write alias), for
	// the summary.
	AlertIndex string
	// Groups stores a grouping detection's findings and grouped alerts;
	// nil groups in memory (file mode, or a cluster run with no_index).
	Groups GroupStore
	// Indicators loads the indicator set from the store (the lookup index);
	// nil means Settings.Feeds files.
	Indicators func(ctx context.Context) (*correlation.IndicatorSet, error)
	// RecordRun stores the run's record (RunRecordOf); nil in file mode.
	RecordRun func(ctx context.Context, rec wire.RunRecord) error
	// Preflight, when set, runs before anything is read: the cluster
	// backend checks there that its credential may read the Defender
	// indices and write alerts (cluster.CheckPrivileges).
	Preflight func(ctx context.Context) error
	// Close releases the backend.
	Close func() error
}

// ErrConfig marks a run that failed on its configuration (the operator's
// to fix, not the store's): an input error (wire.ErrInput, exit 2).
var ErrConfig = wire.InputKind("invalid configuration")

// ErrEmptyFeed marks a run whose feeds or lookup index yield no indicator:
// it could not alert on anything (an input error, unless the settings
// allow it with allow_empty_feed).
var ErrEmptyFeed = wire.InputKind("no indicators")

// Open opens the backend the settings' source names: files (the default)
// or a cluster (ClusterBackend over Connect).
func Open(ctx context.Context, s wire.Settings, secrets map[string]string) (*Backend, error) {
	switch s.Source {
	case "", wire.SourceFile:
		return openFileBackend(s)
	case wire.SourceOpenSearch, wire.SourceElasticsearch:
		c, err := Connect(ctx, s, secrets)
		if err != nil {
			return nil, err
		}
		return ClusterBackend(c, s)
	}
	return nil, fmt.Errorf("%w: unknown source %q (want file, opensearch or elasticsearch)", ErrConfig, s.Source)
}

// Run executes one detection run described by s. secrets carries connector
// credentials ("password", "api_key"); they are never logged.
func Run(ctx context.Context, s wire.Settings, secrets map[string]string, obs Observer) (*wire.Summary, error) {
	be, err := Open(ctx, s, secrets)
	if err != nil {
		return nil, classify(err)
	}
	if be.Close != nil {
		defer be.Close()
	}
	return RunWith(ctx, s, be, obs, time.Now)
}

// RunWith executes one run against an open backend with an injected clock.
func RunWith(ctx context.Context, s wire.Settings, be *Backend, obs Observer, now func() time.Time) (*wire.Summary, error) {
	if obs == nil {
		obs = nopObserver{}
	}
	sum := &wire.Summary{RunID: newRunID(), Source: s.Source, Started: now().UTC()}
	if sum.Source == "" {
		sum.Source = "file"
	}
	err := classify(run(ctx, s, be, obs, now, sum))
	sum.Finished = now().UTC()
	sum.DurationMS = sum.Finished.Sub(sum.Started).Milliseconds()
	sum.Outcome = wire.StatusSuccess
	if err != nil {
		sum.Outcome = wire.StatusFailed
		sum.Error = err.Error()
	}
	if be.RecordRun != nil {
		// The run record is written even when the run failed, with a fresh
		// context when the run's own was cancelled.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		if rerr := be.RecordRun(rctx, RunRecordOf(s, sum)); rerr != nil && err == nil {
			err = fmt.Errorf("record run: %w", rerr)
		}
		cancel()
	}
	obs.Progress(wire.Progress{Stage: "done", Message: sum.Outcome})
	return sum, err
}

func run(ctx context.Context, s wire.Settings, be *Backend, obs Observer, now func() time.Time, sum *wire.Summary) error {
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
	if be.Preflight != nil {
		if err := be.Preflight(ctx); err != nil {
			return err
		}
	}

	// 1+2 indicators and facing, at once: the DeviceInfo read needs no
	// indicator, so it runs while the feed is parsed (or the lookup index
	// read). A large DeviceInfo and a large feed then cost the longer of
	// the two, not their sum.
	steps, err := indicatorsAndFacing(ctx, s, be, obs, sum)
	if err != nil {
		return err
	}
	defer steps.stopPrepare()
	ind, facing := steps.ind, steps.set

	// 3+4 events, correlate
	matcher := correlation.NewMatcher(facing, ind, opts)
	created := now().UTC()
	if be.Writer != nil {
		sum.Alerts.Index = be.AlertIndex
	}
	w, err := newSink(s, rule, be, obs, sum, created)
	if err != nil {
		return err
	}
	seen := map[string]struct{}{}
	misses := map[string]int64{}
	obs.Progress(wire.Progress{Stage: "events", Message: "reading DeviceNetworkEvents"})
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
		a.Edgewatch.RunID = sum.RunID
		if _, dup := seen[a.Event.ID]; dup {
			sum.Events.Duplicates++
			return nil
		}
		seen[a.Event.ID] = struct{}{}
		sum.Alerts.Matched++
		// ev, and the raw record a points into, are valid only during this
		// call: the writer encodes a now.
		return w.add(ctx, a, ev.Loc)
	})
	sum.Events.Read = erep.Read
	sum.Events.Skipped, sum.Events.Examples = erep.Skipped, locations(erep.Examples)
	sum.Events.OtherTables, sum.Events.MissingColumns = erep.OtherTables, erep.MissingColumns
	if len(misses) > 0 {
		sum.Events.Misses = misses
	}
	w.report()
	if err != nil {
		return readError("DeviceNetworkEvents", "--network-events-index", err)
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

// writer encodes each alert once and hands the batches to the store and
// the observer.
type writer struct {
	be    *Backend
	obs   Observer
	sum   *wire.Summary
	batch Batch
	// size is the largest batch so far: the next batch's buffer starts at
	// that capacity.
	size int
	// skipped counts the alerts too large to write (shared by the writers
	// of a groupWriter).
	skipped *connectors.Report
	// grouped says the alerts are grouped alerts (one per group), not
	// per-event ones: their events were counted when they were matched.
	grouped bool
}

// newWriter writes alerts to be's store (if any) and obs, counting in sum.
func newWriter(be *Backend, obs Observer, sum *wire.Summary, skipped *connectors.Report) *writer {
	return &writer{be: be, obs: obs, sum: sum, skipped: skipped}
}

// add encodes a into the batch (its raw record is valid only during the
// engine's callback), or counts it as skipped with the event's location
// when its document would be larger than wire.MaxAlertBytes.
func (w *writer) add(ctx context.Context, a *correlation.Alert, loc correlation.Location) error {
	if len(a.Defender.NetworkEvent) > wire.MaxAlertBytes { // not worth encoding
		w.skip(loc)
		return nil
	}
	if w.batch.NDJSON == nil {
		w.batch.NDJSON = make([]byte, 0, max(w.size, 64<<10))
	}
	var ok bool
	if w.batch.NDJSON, ok = appendDocument(w.batch.NDJSON, a); !ok {
		w.skip(loc)
		return nil
	}
	if a.Defender.RawNotObject && !w.grouped {
		w.sum.Events.RawNotObject++
	}
	if w.be.Writer != nil {
		// The store's writer encodes the alert again, after the callback.
		a.Defender.NetworkEvent = bytes.Clone(a.Defender.NetworkEvent)
	} else {
		a.Defender.NetworkEvent = nil
	}
	w.batch.Alerts = append(w.batch.Alerts, a)
	if w.batch.full() {
		return w.flush(ctx)
	}
	return nil
}

// appendDocument appends a's document and its newline to buf; ok is false,
// and buf as it was, when the document is larger than wire.MaxAlertBytes.
func appendDocument(buf []byte, a *correlation.Alert) (_ []byte, ok bool) {
	start := len(buf)
	buf = a.AppendJSON(buf)
	if len(buf)-start > wire.MaxAlertBytes {
		return buf[:start], false
	}
	return append(buf, '\n'), true
}

// full: the batch has BatchSize alerts or about wire.AlertBatchBytes of
// documents, and is handed on.
func (b *Batch) full() bool {
	return len(b.Alerts) >= BatchSize || len(b.NDJSON) >= wire.AlertBatchBytes
}

func (w *writer) skip(loc correlation.Location) {
	w.skipped.Skip(wire.SkipAlertTooLarge, loc)
}

func (w *writer) flush(ctx context.Context) error {
	if len(w.batch.Alerts) == 0 {
		return nil
	}
	batch := w.batch
	w.batch = Batch{}
	return w.hand(ctx, batch)
}

// hand gives a full batch to the store (if any) and the observer.
func (w *writer) hand(ctx context.Context, batch Batch) error {
	w.size = max(w.size, cap(batch.NDJSON))
	if w.be.Writer != nil {
		res, err := w.be.Writer.Write(ctx, batch.Alerts)
		w.sum.Alerts.Created += res.Created
		w.sum.Alerts.AlreadyPresent += res.AlreadyPresent
		w.sum.Alerts.Failed += res.Failed
		if len(w.sum.Alerts.Failures) < 10 {
			w.sum.Alerts.Failures = append(w.sum.Alerts.Failures, res.Failures...)
		}
		if err != nil {
			return fmt.Errorf("write alerts: %w", err)
		}
	}
	return w.obs.Alerts(ctx, batch)
}

// report puts the skipped alerts in the summary.
func (w *writer) report() {
	if w.skipped.Skipped != nil {
		w.sum.Alerts.Skipped, w.sum.Alerts.Examples = w.skipped.Skipped, locations(w.skipped.Examples)
	}
}

// stepsOneTwo is what steps 1 and 2 give the event step.
type stepsOneTwo struct {
	ind *correlation.IndicatorSet
	set *correlation.FacingSet
	// stopPrepare ends the event step's preparation (connectors.EventPreparer).
	stopPrepare func()
}

// indicatorsAndFacing runs step 1 (the indicators) and step 2 (the
// DeviceInfo read) at once. The result is the one the steps give one after
// the other: an indicator error wins (the DeviceInfo read is cancelled and
// its counts are not reported), then a DeviceInfo error. Progress from the
// two goroutines reaches obs one call at a time. A Source that prepares the
// event step starts on it once the indicators are known; the caller stops
// that with stopPrepare.
func indicatorsAndFacing(ctx context.Context, s wire.Settings, be *Backend, obs Observer, sum *wire.Summary) (stepsOneTwo, error) {
	out := stepsOneTwo{stopPrepare: func() {}}
	lobs := &lockedObserver{Observer: obs}
	diCtx, cancelDI := context.WithCancel(ctx)
	defer cancelDI()
	var (
		fb   correlation.FacingBuilder
		frep connectors.Report
		ferr error
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if r := recover(); r != nil { // as the RPC would have, on this goroutine
				slog.Error("DeviceInfo read panic", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				ferr = fmt.Errorf("DeviceInfo read: panic: %v", r)
			}
		}()
		lobs.Progress(wire.Progress{Stage: "facing", Message: "reading DeviceInfo"})
		frep, ferr = be.Source.DeviceInfo(diCtx, connectors.FacingQuery{
			From:     sum.Window.FacingFrom,
			To:       s.To,
			Progress: progressFunc(lobs, "facing"),
		}, func(row *correlation.DeviceInfo) error {
			fb.Add(row)
			return nil
		})
	}()

	lobs.Progress(wire.Progress{Stage: "indicators", Message: "loading indicators"})
	ind, err := loadIndicators(ctx, s, be, sum)
	if err != nil {
		cancelDI()
		<-done
		return out, err
	}
	out.ind = ind
	// The event step's facing-free work (a Source may start it now).
	if p, ok := be.Source.(connectors.EventPreparer); ok {
		out.stopPrepare = p.PrepareEvents(ctx, connectors.EventQuery{From: s.From, To: s.To, Indicators: ind})
	}
	<-done
	sum.DeviceInfo.Read = frep.Read
	sum.DeviceInfo.Skipped, sum.DeviceInfo.Examples = frep.Skipped, locations(frep.Examples)
	sum.DeviceInfo.OtherTables, sum.DeviceInfo.MissingColumns = frep.OtherTables, frep.MissingColumns
	if ferr != nil {
		out.stopPrepare()
		return stepsOneTwo{stopPrepare: func() {}}, readError("DeviceInfo", "--device-info-index", ferr)
	}
	out.set = fb.Build()
	sum.DeviceInfo.NoPort = fb.Ignored()
	sum.DeviceInfo.FacingPorts = out.set.Len()
	sum.DeviceInfo.Devices = len(out.set.Devices())
	return out, nil
}

// lockedObserver passes on an Observer's calls one at a time, for the
// stretch of a run where two goroutines report progress.
type lockedObserver struct {
	mu sync.Mutex
	Observer
}

func (o *lockedObserver) Progress(p wire.Progress) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.Observer.Progress(p)
}

func loadIndicators(ctx context.Context, s wire.Settings, be *Backend, sum *wire.Summary) (*correlation.IndicatorSet, error) {
	if be.Indicators != nil && (s.Cluster != nil && s.Cluster.IndicatorFeed != "") {
		ind, err := be.Indicators(ctx)
		if errors.Is(err, ErrConfig) {
			return nil, err
		}
		if err != nil {
			return nil, fmt.Errorf("load indicators from %s: %w", s.Cluster.IndicatorFeed, err)
		}
		sum.Indicators.From = wire.FeedAlias(s.Cluster.IndicatorFeed)
		sum.Indicators.Loaded = ind.Len()
		sum.Indicators.Addrs, sum.Indicators.Prefixes = ind.AddrCount(), ind.PrefixCount()
		if ind.Len() == 0 && !s.AllowEmptyFeed {
			return nil, fmt.Errorf("%w: the lookup index %s holds no indicator, so the run could not alert on anything "+
				"(load a feed with edgewatch feed load, or set allow_empty_feed / --allow-empty-feed to run anyway)",
				ErrEmptyFeed, wire.FeedAlias(s.Cluster.IndicatorFeed))
		}
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
	sum.Indicators.Feeds = FeedReports(reps)
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
	if ind.Len() == 0 && !s.AllowEmptyFeed {
		return nil, emptyFeedError(reps)
	}
	return ind, nil
}

// emptyFeedError says why feed files yielded no indicator, file by file.
func emptyFeedError(reps []correlation.FeedReport) error {
	parts := make([]string, 0, len(reps))
	for _, r := range reps {
		why := fmt.Sprintf("%d lines", r.Lines)
		if r.Invalid > 0 {
			why += fmt.Sprintf(", %d invalid", r.Invalid)
			if len(r.InvalidLines) > 0 {
				why += fmt.Sprintf(" (first at line %d)", r.InvalidLines[0])
			}
		}
		if r.BelowLevel > 0 {
			why += fmt.Sprintf(", %d below the minimum level", r.BelowLevel)
		}
		if n := r.DroppedTotal(); n > 0 {
			why += fmt.Sprintf(", %d dropped as not global", n)
		}
		if r.Comments > 0 {
			why += fmt.Sprintf(", %d comments", r.Comments)
		}
		parts = append(parts, r.Source+": "+why)
	}
	return fmt.Errorf("%w: the feed yields no indicator, so the run could not alert on anything (%s); "+
		"check the feed file, or set allow_empty_feed / --allow-empty-feed to run anyway",
		ErrEmptyFeed, strings.Join(parts, "; "))
}

// classify marks a run's error as an input error (wire.ErrInput, exit 2)
// when the operator's input caused it: a bad setting (ErrConfig), a feed
// without indicators (ErrEmptyFeed), an input the connector could not read
// to its end (connectors.ErrInput: a truncated gzip, a CSV without a column
// the table needs), a file that cannot be opened or read (a path error),
// connection settings that cannot be used (cluster.ErrConfig), or an index,
// alias or lookup feed the cluster does not have (a 404 on the read path:
// cluster.ErrNotFound). Everything else stays a run failure: the cluster
// refused (credentials included) or could not be reached, a write failed.
func classify(err error) error {
	var pathErr *fs.PathError
	switch {
	case err == nil, errors.Is(err, wire.ErrInput):
		return err
	case errors.Is(err, connectors.ErrInput), errors.As(err, &pathErr),
		errors.Is(err, cluster.ErrConfig), errors.Is(err, cluster.ErrNotFound):
		return wire.AsInput(err)
	}
	return err
}

func matchOptions(s wire.Settings) (correlation.MatchOptions, correlation.Rule, error) {
	opts := correlation.MatchOptions{ExcludePorts: s.ExcludePorts}
	for _, p := range s.ExcludePorts {
		if p < 0 || p > 65535 {
			return opts, correlation.Rule{}, fmt.Errorf("%w: exclude port %d is not a port number", ErrConfig, p)
		}
	}
	for _, a := range s.Allow {
		p, err := correlation.ParsePrefix(a)
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

func progressFunc(obs Observer, stage string) connectors.ProgressFunc {
	return func(done, total int64, unit string) {
		obs.Progress(wire.Progress{Stage: stage, Done: done, Total: total, Unit: unit})
	}
}

func newRunID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// locations is a report's examples in their wire form.
func locations(m map[string][]correlation.Location) map[string][]wire.Location {
	if m == nil {
		return nil
	}
	out := make(map[string][]wire.Location, len(m))
	for reason, ls := range m {
		w := make([]wire.Location, len(ls))
		for i, l := range ls {
			w[i] = wire.Location(l)
		}
		out[reason] = w
	}
	return out
}

// FeedReports is reps in their wire form.
func FeedReports(reps []correlation.FeedReport) []wire.FeedReport {
	if reps == nil {
		return nil
	}
	out := make([]wire.FeedReport, len(reps))
	for i, r := range reps {
		out[i] = wire.FeedReport(r)
	}
	return out
}

type nopObserver struct{}

func (nopObserver) Progress(wire.Progress)              {}
func (nopObserver) Alerts(context.Context, Batch) error { return nil }
