package engine

import (
	"context"
	"fmt"
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

// alertSink is where the run's alerts go: add takes each new finding, flush
// ends the run's writing. writer (one alert per event) and groupWriter
// (one per group) are the two.
type alertSink interface {
	add(ctx context.Context, a *correlation.Alert) error
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
// groupWriter when s groups alerts — in memory in file mode, through the
// backend's GroupStore in a cluster.
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
	if !spec.Enabled() {
		return &writer{be: be, obs: obs, sum: sum}, nil
	}
	gw := &groupWriter{spec: spec, ruleID: rule.ID, be: be, obs: obs, sum: sum, created: created, retro: s.RetroHunt}
	sum.Groups = &wire.GroupSummary{By: spec.Fields, Window: wire.Duration(spec.Window)}
	switch {
	case be.Groups != nil:
		sum.Groups.Index, sum.Groups.EvidenceIndex = be.Groups.AlertAlias(), be.Groups.FindingsAlias()
		// The findings are written (and counted in sum.Alerts) as alerts
		// are without grouping, to the store's evidence; the observer gets
		// the grouped alerts only.
		gw.findings = &writer{be: &Backend{Writer: evidenceWriter{be.Groups}}, obs: nopObserver{}, sum: sum}
	case be.Writer != nil:
		return nil, fmt.Errorf("%w: this backend cannot store grouped alerts", ErrConfig)
	default:
		gw.mem = correlation.NewGrouper(spec, rule.ID)
	}
	return gw, nil
}

// groupWriter groups a run's alerts: in memory (file mode, exact within
// the run), or as evidence plus grouped alerts in the backend's GroupStore.
type groupWriter struct {
	spec    correlation.GroupSpec
	ruleID  string
	be      *Backend
	obs     Observer
	sum     *wire.Summary
	created time.Time
	// retro marks the findings of a retro-hunt (edgewatch.retro_hunt).
	retro    bool
	mem      *correlation.Grouper
	findings *writer
}

// evidenceWriter is a GroupStore's evidence as an AlertWriter.
type evidenceWriter struct{ g GroupStore }

func (e evidenceWriter) Write(ctx context.Context, alerts []*correlation.Alert) (connectors.WriteResult, error) {
	return e.g.Evidence(ctx, alerts)
}

func (w *groupWriter) add(ctx context.Context, a *correlation.Alert) error {
	a.Edgewatch.RetroHunt = a.Edgewatch.RetroHunt || w.retro
	if w.mem != nil {
		w.mem.Add(a)
		return nil
	}
	a.Edgewatch.GroupID = w.spec.ID(w.ruleID, w.spec.KeyOf(a))
	return w.findings.add(ctx, a)
}

func (w *groupWriter) flush(ctx context.Context) error {
	g := w.sum.Groups
	if w.mem != nil {
		alerts := w.mem.Alerts(w.created, w.sum.RunID)
		g.Touched, g.Created = len(alerts), len(alerts)
		for start := 0; start < len(alerts); start += BatchSize {
			if err := w.obs.Alerts(ctx, alerts[start:min(start+BatchSize, len(alerts))]); err != nil {
				return err
			}
		}
		return nil
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
		return w.obs.Alerts(ctx, batch)
	})
	g.Touched, g.Created, g.Updated, g.Unchanged, g.Failed = res.Touched, res.Created, res.Updated, res.Unchanged, res.Failed
	g.Conflicts, g.Failures = res.Conflicts, res.Failures
	if err != nil {
		return fmt.Errorf("write grouped alerts: %w", err)
	}
	return nil
}
