package alertstore

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/edgewatch/edgewatch/connectors"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// Options tune a Writer.
type Options struct {
	// NoBootstrap refuses to create a missing alias (install creates it);
	// by default the first Write creates <alias>-000001 with the alias.
	NoBootstrap bool
	// Bulk tunes the bulk create requests.
	Bulk cluster.BulkOptions
}

// Writer stores alerts through a write alias with bulk create and the
// finding id (event.id) as _id, keeping the id guarantee across rollovers:
// before each batch is created, its ids are looked up across every backing
// index of the alias (one `ids` search, no _source), and those found are
// counted as already present instead of being written again. The write
// index dedupes the rest itself (create answers 409 for an id it holds).
//
// The first Write resolves the alias: a missing one is bootstrapped
// (unless Options.NoBootstrap), and a concrete index of that name (a
// single alert index from before rollover) is written directly as before,
// with a warning, until install migrates it. It then refreshes the alias's
// backing indices once, so that the lookups see every alert an earlier run
// wrote (see the package documentation for what this does and does not
// cover). The first Write of the Writer's life also asks the cluster
// whether the alias gets edgewatch's alert mapping
// (cluster.CheckAlertIndex, the rule install applies too) and logs a
// warning only when it does not. A Writer is safe for one run at a time.
type Writer struct {
	c     *cluster.Client
	alias string
	opts  Options

	prepared bool
	state    Alias
	// mapping: the alert mapping was checked (or is not to be: findings
	// are mapped as the findings template says).
	mapping bool

	// Lookups counts the id lookups (searches) made.
	Lookups int
}

var _ connectors.AlertWriter = (*Writer)(nil)

// NewWriter writes into alias.
func NewWriter(c *cluster.Client, alias string, opts Options) *Writer {
	return &Writer{c: c, alias: alias, opts: opts}
}

// Alias is the alias as the first Write found (or made) it.
func (w *Writer) Alias() Alias { return w.state }

// Name is the alias name alerts are written to.
func (w *Writer) Name() string { return w.alias }

// Prepare resolves (and if needed bootstraps) the alias and refreshes its
// backing indices; the first Write of a run calls it.
func (w *Writer) Prepare(ctx context.Context) error {
	if w.prepared {
		return nil
	}
	st, err := prepareAlias(ctx, w.c, w.alias, w.opts.NoBootstrap)
	if err != nil {
		return err
	}
	w.state, w.prepared = st, true
	if !w.mapping {
		w.mapping = true
		w.checkMapping(ctx)
	}
	return nil
}

// checkMapping warns when the alerts would be mapped dynamically.
func (w *Writer) checkMapping(ctx context.Context) {
	m, err := cluster.CheckAlertIndex(ctx, w.c, w.alias)
	switch {
	case err != nil: // unknown (e.g. no privilege to read mappings), not a problem
		w.c.Logger().Debug("could not check the alert mapping", "alias", w.alias, "err", err)
	case !m.OK():
		w.c.Logger().Warn("alerts would be mapped dynamically: the dashboards cannot use them; run edgewatch install (with --alert-index for an alias outside "+
			wire.AlertsPattern+"): "+m.String(), "alias", w.alias)
	}
}

// StartRun tells the Writer a new run begins (a Writer serves the windows of
// an incremental catch-up one after the other): its first Write resolves
// and refreshes the alias again, so that its lookups see what the previous
// run wrote even if the alias rolled over since.
func (w *Writer) StartRun() { w.prepared = false }

// prepareAlias resolves name, bootstraps it when missing and allowed, and
// refreshes it.
func prepareAlias(ctx context.Context, c *cluster.Client, name string, noBootstrap bool) (Alias, error) {
	a, err := Resolve(ctx, c, name)
	switch {
	case errors.Is(err, ErrMissing) && noBootstrap:
		return a, fmt.Errorf("alert alias %s does not exist: run `edgewatch install` for this detection", name)
	case errors.Is(err, ErrMissing):
		a, err = Bootstrap(ctx, c, name, nil)
		if err != nil {
			if errors.Is(err, cluster.ErrUnauthorized) {
				return a, fmt.Errorf("create the write alias %s: %w (run `edgewatch install` with an identity allowed to create indices, or grant create_index on %s-*)", name, err, name)
			}
			return a, fmt.Errorf("create the write alias %s: %w", name, err)
		}
	case err != nil:
		return a, err
	}
	if a.Concrete {
		c.Logger().Warn("alerts go to a single index, not a rollover alias: ids are only checked within it and retention would delete it whole; run `edgewatch install` to migrate it", "index", name)
	}
	if err := c.Refresh(ctx, name); err != nil {
		return a, fmt.Errorf("refresh %s: %w", name, err)
	}
	return a, nil
}

// Write stores alerts: those whose id any backing index already holds are
// AlreadyPresent, the rest are created through the alias (a 409 there is
// AlreadyPresent too). It returns once every created alert is
// acknowledged; alerts that still fail after retries make the error a
// *cluster.BulkError.
func (w *Writer) Write(ctx context.Context, alerts []*correlation.Alert) (connectors.WriteResult, error) {
	var out connectors.WriteResult
	if err := w.Prepare(ctx); err != nil {
		return out, err
	}
	ids := make([]string, 0, len(alerts))
	for _, a := range alerts {
		if a != nil && a.Event.ID != "" {
			ids = append(ids, a.Event.ID)
		}
	}
	present := map[string]bool{}
	if !w.state.Concrete && len(ids) > 0 {
		hits, err := lookupIDs(ctx, w.c, w.alias, ids, false)
		if err != nil {
			return out, fmt.Errorf("look up alert ids in %s: %w", w.alias, err)
		}
		w.Lookups++
		for _, h := range hits {
			present[h.ID] = true
		}
	}
	bw := w.c.NewBulkWriter(w.alias, w.opts.Bulk)
	var src []byte // Add copies the document
	for _, a := range alerts {
		switch {
		case a == nil:
			continue
		case a.Event.ID == "":
			out.Failed++
			out.Failures = append(out.Failures, "alert without event.id")
			continue
		case present[a.Event.ID]:
			out.AlreadyPresent++
			delete(present, a.Event.ID) // a repeated id in the batch is written (and answered 409) once more
			continue
		}
		src = a.AppendJSON(src[:0])
		if err := bw.Add(ctx, cluster.Doc{ID: a.Event.ID, Source: src}); err != nil {
			res, _ := bw.Close(ctx)
			return merge(out, res), err
		}
	}
	res, err := bw.Close(ctx)
	return merge(out, res), err
}

func merge(out connectors.WriteResult, r cluster.BulkResult) connectors.WriteResult {
	out.Created += r.Created
	out.AlreadyPresent += r.AlreadyPresent
	out.Failed += r.Failed
	for _, f := range r.Failures {
		if len(out.Failures) >= 100 {
			break
		}
		out.Failures = append(out.Failures, f.String())
	}
	return out
}

// hit is one document an id lookup found.
type hit struct {
	Index       string         `json:"_index"`
	ID          string         `json:"_id"`
	SeqNo       *int64         `json:"_seq_no"`
	PrimaryTerm *int64         `json:"_primary_term"`
	Source      map[string]any `json:"_source"`
	Found       *bool          `json:"found"` // _mget only
}

// lookupIDs finds which of ids the indices behind target hold: one search
// with an ids query, without _source, or with the grouped alert's summary
// and the concurrency token when versions is set. Search sees what the
// last refresh made visible.
func lookupIDs(ctx context.Context, c *cluster.Client, target string, ids []string, versions bool) ([]hit, error) {
	body := map[string]any{
		"size":             len(ids) * 2, // room for an id held twice (a duplicate across backing indices)
		"query":            map[string]any{"ids": map[string]any{"values": ids}},
		"track_total_hits": false,
		"_source":          false,
	}
	q := url.Values{"filter_path": {"hits.hits._index,hits.hits._id"}, "ignore_unavailable": {"true"}}
	if versions {
		body["seq_no_primary_term"] = true
		body["_source"] = summaryFields
		q.Set("filter_path", "hits.hits._index,hits.hits._id,hits.hits._seq_no,hits.hits._primary_term,hits.hits._source")
	}
	req := cluster.Request{Method: http.MethodPost, Path: cluster.DocPath(target, "_search"), Query: q, Body: cluster.JSON(body)}
	var r struct {
		Hits struct {
			Hits []hit `json:"hits"`
		} `json:"hits"`
	}
	err := callRetried(ctx, c, "look up ids in "+target, req, &r)
	return r.Hits.Hits, err
}

// callRetried is c.Call for a read, tried again on retryable errors with
// the default policy.
func callRetried(ctx context.Context, c *cluster.Client, op string, req cluster.Request, out any) error {
	_, err := cluster.Retry(ctx, cluster.RetryPolicy{}, func() (struct{}, error) {
		return struct{}{}, c.Call(ctx, op, req, out)
	}, nil)
	return err
}
