package engine

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/edgewatch/edgewatch/connectors"
	"github.com/edgewatch/edgewatch/connectors/alertstore"
	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// GroupStore keeps a grouping detection's alerts in a store (cluster
// mode): the per-event findings as evidence, and one alert per group
// counted from it (alertstore.GroupStore).
type GroupStore interface {
	Evidence(ctx context.Context, findings []*correlation.Alert) (connectors.WriteResult, error)
	Flush(ctx context.Context, created time.Time, runID string, emit func([]*correlation.Alert) error) (alertstore.GroupResult, error)
	AlertAlias() string
	FindingsAlias() string
}

// runStarter is a store that wants to know when a run begins (a backend
// serves the windows of an incremental catch-up one after the other):
// alertstore.Writer and GroupStore refresh their aliases then.
type runStarter interface{ StartRun() }

// alertSink is where the run's alerts go: add takes each new finding (its
// raw record valid only during the call; loc is its event's location),
// report puts the alerts written nowhere in the summary, flush ends the
// run's writing. writer (one alert per event) and groupWriter (one per
// group) are the two.
type alertSink interface {
	add(ctx context.Context, a *correlation.Alert, loc correlation.Location) error
	report()
	flush(ctx context.Context) error
}

// groupSpec is the settings' grouping (the zero spec when they group
// nothing).
func groupSpec(s wire.Settings) (correlation.GroupSpec, error) {
	g, err := correlation.NewGroupSpec(s.GroupBy, time.Duration(s.GroupWindow))
	if err != nil {
		return g, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return g, nil
}

// newSink is the sink for a run with settings s: a writer, or a
// groupWriter when s groups alerts — through the backend's GroupStore in a
// cluster, in memory in file mode and in a cluster run with no_index.
func newSink(s wire.Settings, rule correlation.Rule, be *Backend, obs Observer, sum *wire.Summary, created time.Time) (alertSink, error) {
	spec, err := groupSpec(s)
	if err != nil {
		return nil, err
	}
	for _, w := range []any{be.Writer, be.Groups} {
		if r, ok := w.(runStarter); ok {
			r.StartRun()
		}
	}
	skipped := &connectors.Report{}
	if !spec.Enabled() {
		return newWriter(be, obs, sum, skipped), nil
	}
	gw := &groupWriter{spec: spec, ruleID: rule.ID, be: be, sum: sum, created: created, retro: s.RetroHunt, skipped: skipped}
	// The observer gets the grouped alerts only, encoded as any alert is.
	gw.out = newWriter(&Backend{}, obs, sum, skipped)
	gw.out.grouped = true
	sum.Groups = &wire.GroupSummary{By: spec.Fields, Window: wire.Duration(spec.Window)}
	switch {
	case be.Groups != nil:
		sum.Groups.Index, sum.Groups.EvidenceIndex = be.Groups.AlertAlias(), be.Groups.FindingsAlias()
		// The findings are written (and counted in sum.Alerts) as alerts
		// are without grouping, to the store's evidence.
		gw.findings = newWriter(&Backend{Writer: evidenceWriter{be.Groups}}, nopObserver{}, sum, skipped)
	case be.Writer != nil:
		return nil, fmt.Errorf("%w: this backend cannot store grouped alerts", ErrConfig)
	default:
		gw.mem = correlation.NewGrouper(spec, rule.ID)
	}
	return gw, nil
}

// groupWriter groups a run's alerts: in memory (exact within the run), or
// as evidence plus grouped alerts in the backend's GroupStore.
type groupWriter struct {
	spec    correlation.GroupSpec
	ruleID  string
	be      *Backend
	sum     *wire.Summary
	created time.Time
	// retro marks the findings of a retro-hunt (edgewatch.retro_hunt).
	retro bool
	mem   *correlation.Grouper
	// findings writes the per-event findings to the store's evidence.
	findings *writer
	// out encodes the grouped alerts for the observer.
	out     *writer
	skipped *connectors.Report
	scratch []byte
}

// evidenceWriter is a GroupStore's evidence as an AlertWriter.
type evidenceWriter struct{ g GroupStore }

func (e evidenceWriter) Write(ctx context.Context, alerts []*correlation.Alert) (connectors.WriteResult, error) {
	return e.g.Evidence(ctx, alerts)
}

func (w *groupWriter) add(ctx context.Context, a *correlation.Alert, loc correlation.Location) error {
	a.Edgewatch.RetroHunt = a.Edgewatch.RetroHunt || w.retro
	if w.mem == nil {
		a.Edgewatch.GroupID = w.spec.ID(w.ruleID, w.spec.KeyOf(a))
		return w.findings.add(ctx, a, loc)
	}
	// An event whose alert is too large to write counts in no group, as
	// in a cluster, where its finding is never stored.
	if w.tooLarge(a) {
		w.skipped.Skip(wire.SkipAlertTooLarge, loc)
		return nil
	}
	if a.Defender.RawNotObject {
		w.sum.Events.RawNotObject++
	}
	// The Grouper keeps a while it is its group's first event.
	a.Defender.NetworkEvent = bytes.Clone(a.Defender.NetworkEvent)
	w.mem.Add(a)
	return nil
}

// tooLarge reports whether a's document would be larger than
// wire.MaxAlertBytes; it encodes a only when its raw record is large
// enough for that to be possible.
func (w *groupWriter) tooLarge(a *correlation.Alert) bool {
	switch n := len(a.Defender.NetworkEvent); {
	case n > wire.MaxAlertBytes:
		return true
	case n < wire.MaxAlertBytes/4:
		return false
	}
	w.scratch = a.AppendJSON(w.scratch[:0])
	return len(w.scratch) > wire.MaxAlertBytes
}

func (w *groupWriter) report() {
	if w.skipped.Skipped != nil {
		w.sum.Alerts.Skipped, w.sum.Alerts.Examples = w.skipped.Skipped, locations(w.skipped.Examples)
	}
}

// emit hands grouped alerts to the observer and returns how many of them
// were too large to hand on.
func (w *groupWriter) emit(ctx context.Context, alerts []*correlation.Alert) (int, error) {
	before := w.skipped.SkippedTotal()
	for _, a := range alerts {
		if err := w.out.add(ctx, a, correlation.Location{}); err != nil {
			return int(w.skipped.SkippedTotal() - before), err
		}
	}
	return int(w.skipped.SkippedTotal() - before), nil
}

func (w *groupWriter) flush(ctx context.Context) error {
	defer w.report()
	g := w.sum.Groups
	if w.mem != nil {
		before := w.skipped.SkippedTotal()
		n, err := w.flushMem(ctx)
		// A grouped alert too large to write is counted in Alerts.Skipped.
		g.Touched, g.Created = n, n-int(w.skipped.SkippedTotal()-before)
		return err
	}
	if err := w.findings.flush(ctx); err != nil {
		return err
	}
	if w.sum.Alerts.Failed > 0 {
		// Groups are counted from the stored evidence: with findings
		// missing, the run fails before it writes counts it knows are
		// short (the next run recounts these groups).
		return nil
	}
	res, err := w.be.Groups.Flush(ctx, w.created, w.sum.RunID, func(batch []*correlation.Alert) error {
		_, err := w.emit(ctx, batch)
		return err
	})
	g.Touched, g.Created, g.Updated, g.Unchanged, g.Failed = res.Touched, res.Created, res.Updated, res.Unchanged, res.Failed
	g.Conflicts, g.Failures = res.Conflicts, res.Failures
	if err != nil {
		return fmt.Errorf("write grouped alerts: %w", err)
	}
	return w.out.flush(ctx)
}

// encodeWorkers encode a file run's grouped alerts at the end of the run.
const encodeWorkers = 2

// encodedChunk is up to BatchSize grouped alerts in the groups' order and,
// once done is closed, the batches they were encoded into (a document too
// large to write is left out and counted in tooLarge).
type encodedChunk struct {
	alerts   []*correlation.Alert
	batches  []Batch
	tooLarge int
	done     chan struct{}
}

// encode encodes c's alerts into batches cut as the writer cuts them (c
// holds at most BatchSize alerts).
func (c *encodedChunk) encode() {
	defer close(c.done)
	var b Batch
	for _, a := range c.alerts {
		if b.NDJSON == nil {
			b.NDJSON = make([]byte, 0, min(len(c.alerts)*3<<10, wire.AlertBatchBytes))
		}
		var ok bool
		if b.NDJSON, ok = appendDocument(b.NDJSON, a); !ok {
			c.tooLarge++
			continue
		}
		a.Defender.NetworkEvent = nil // in the document alone, as writer.add leaves it
		b.Alerts = append(b.Alerts, a)
		if b.full() {
			c.batches, b = append(c.batches, b), Batch{}
		}
	}
	if len(b.Alerts) > 0 {
		c.batches = append(c.batches, b)
	}
}

// flushMem hands the in-memory groups' alerts to the observer in the
// groups' order and returns how many there were. They are built one at a
// time (Grouper.Each, which lets go of each group as it goes), BatchSize
// at a time encoded on encodeWorkers goroutines into the batches the
// observer gets: at the end of a grouped file run, when every group is
// known, one core would otherwise encode every grouped alert while the
// other waits. Each chunk is encoded straight into its batches, so that
// this makes no more garbage than encoding one alert at a time.
func (w *groupWriter) flushMem(ctx context.Context) (int, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan *encodedChunk, encodeWorkers)
	order := make(chan *encodedChunk, encodeWorkers+1)
	var wg sync.WaitGroup
	for range encodeWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				c.encode()
			}
		}()
	}
	newChunk := func() *encodedChunk {
		return &encodedChunk{alerts: make([]*correlation.Alert, 0, BatchSize), done: make(chan struct{})}
	}
	send := func(c *encodedChunk) error {
		select { // order first: the observer gets the chunks in it
		case order <- c:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case work <- c:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	var eachErr error
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		defer close(order)
		defer close(work)
		cur := newChunk()
		eachErr = w.mem.Each(w.created, w.sum.RunID, func(a *correlation.Alert) error {
			if cur.alerts = append(cur.alerts, a); len(cur.alerts) < BatchSize {
				return nil
			}
			c := cur
			cur = newChunk()
			return send(c)
		})
		if eachErr == nil && len(cur.alerts) > 0 {
			eachErr = send(cur)
		}
	}()
	n := 0
	var err error
	for c := range order {
		if err != nil {
			continue // drained: the producer stops at the cancel
		}
		select {
		case <-c.done:
		case <-ctx.Done(): // a chunk in order whose send to work was cut short
			err = ctx.Err()
			continue
		}
		n += len(c.alerts)
		for range c.tooLarge {
			w.out.skip(correlation.Location{})
		}
		for _, b := range c.batches {
			if err = w.out.hand(ctx, b); err != nil {
				cancel()
				break
			}
		}
	}
	wg.Wait()
	<-produced
	if err == nil {
		err = eachErr
	}
	return n, err
}
