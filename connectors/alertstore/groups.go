package alertstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/edgewatch/edgewatch/connectors"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/correlation"
)

// GroupBatch bounds the groups one aggregation and one bulk request handle.
const GroupBatch = 500

// maxGroupRounds bounds the optimistic-concurrency rounds of one batch; a
// group still contended after them fails the run (its evidence is stored, so
// the next run recounts it).
const maxGroupRounds = 12

// summaryFields are the parts of a grouped alert a writer compares to tell
// an unchanged group from one to rewrite.
var summaryFields = []string{"edgewatch.suppression.docs_count", "edgewatch.suppression.start",
	"edgewatch.suppression.end", "edgewatch.suppression.first_event_id", "event.severity"}

// GroupStore keeps a grouping detection's alerts in a cluster: every
// per-event finding is stored as evidence in the findings alias (Evidence,
// idempotent by finding id like any alert), and each group's alert in the
// alert alias is derived from the evidence and written with optimistic
// concurrency (Flush). The package documentation argues why the counts are
// exact.
type GroupStore struct {
	c        *cluster.Client
	spec     correlation.GroupSpec
	ruleID   string
	alerts   string // alert alias
	evidence *Writer
	touched  map[string]struct{}
	order    []string
	// rnd jitters the waits between contended rounds.
	rnd *rand.Rand
}

// NewGroupStore stores the groups of spec for rule ruleID: grouped alerts
// in alertAlias, evidence in findingsAlias.
func NewGroupStore(c *cluster.Client, spec correlation.GroupSpec, ruleID, alertAlias, findingsAlias string, opts Options) *GroupStore {
	evidence := NewWriter(c, findingsAlias, opts)
	evidence.mapping = true // the findings template maps @timestamp as date_nanos
	return &GroupStore{c: c, spec: spec, ruleID: ruleID, alerts: alertAlias,
		evidence: evidence, touched: map[string]struct{}{},
		rnd: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x9e3779b97f4a7c15))}
}

// AlertAlias and FindingsAlias name where the store writes.
func (g *GroupStore) AlertAlias() string    { return g.alerts }
func (g *GroupStore) FindingsAlias() string { return g.evidence.Name() }

// StartRun tells the store a new run begins (see Writer.StartRun).
func (g *GroupStore) StartRun() { g.evidence.StartRun() }

// Touched is the number of distinct groups the evidence written so far
// falls in.
func (g *GroupStore) Touched() int { return len(g.order) }

// Evidence stores per-event findings whose edgewatch.group_id is set, and
// remembers their groups for Flush. A finding already present (a rerun)
// still marks its group: a run that stored evidence and failed before its
// groups were written leaves them to be recounted by the next.
func (g *GroupStore) Evidence(ctx context.Context, findings []*correlation.Alert) (connectors.WriteResult, error) {
	for _, a := range findings {
		if a == nil || a.Edgewatch.GroupID == "" {
			continue
		}
		if _, ok := g.touched[a.Edgewatch.GroupID]; !ok {
			g.touched[a.Edgewatch.GroupID] = struct{}{}
			g.order = append(g.order, a.Edgewatch.GroupID)
		}
	}
	return g.evidence.Write(ctx, findings)
}

// GroupResult counts what Flush did to the touched groups.
type GroupResult struct {
	Touched   int
	Created   int
	Updated   int
	Unchanged int
	Failed    int
	// Conflicts counts writes another writer beat (each was retried).
	Conflicts int
	// Duplicates counts extra copies of a group's alert that were deleted
	// (two writers creating one group in two backing indices across a
	// rollover).
	Duplicates int
	Failures   []string
}

func (r *GroupResult) fail(msg string) {
	r.Failed++
	if len(r.Failures) < 10 {
		r.Failures = append(r.Failures, msg)
	}
}

// Flush writes the alert of every group touched since the last Flush, in
// batches of GroupBatch: read each group's alert (where it lives and its
// version), refresh the findings, aggregate the group's evidence, write the
// alert conditionally on that version (or create it), and repeat the
// groups whose write lost a race. emit receives the grouped alerts written
// (created or updated), batch by batch. created is the write time, runID
// the run writing.
func (g *GroupStore) Flush(ctx context.Context, created time.Time, runID string, emit func([]*correlation.Alert) error) (GroupResult, error) {
	res := GroupResult{Touched: len(g.order)}
	ids := g.order
	g.order, g.touched = nil, map[string]struct{}{}
	if len(ids) == 0 {
		return res, nil
	}
	alias, err := prepareAlias(ctx, g.c, g.alerts, g.evidence.opts.NoBootstrap)
	if err != nil {
		return res, err
	}
	for start := 0; start < len(ids); start += GroupBatch {
		batch := ids[start:min(start+GroupBatch, len(ids))]
		written, err := g.flushBatch(ctx, alias, batch, created, runID, &res)
		if err != nil {
			return res, err
		}
		if emit != nil && len(written) > 0 {
			if err := emit(written); err != nil {
				return res, err
			}
		}
	}
	if res.Failed > 0 {
		return res, fmt.Errorf("%d of %d grouped alerts could not be written", res.Failed, res.Touched)
	}
	return res, nil
}

// version is where a group's alert lives and its concurrency token.
type version struct {
	index       string
	seqNo, term int64
	summary     groupSummary
}

// groupSummary is what tells an unchanged group from one to rewrite.
type groupSummary struct {
	count    int64
	start    time.Time
	end      time.Time
	first    string
	severity int
}

func (s groupSummary) equal(o groupSummary) bool {
	return s.count == o.count && s.start.Equal(o.start) && s.end.Equal(o.end) && s.first == o.first && s.severity == o.severity
}

func (g *GroupStore) flushBatch(ctx context.Context, alias Alias, batch []string, created time.Time, runID string, res *GroupResult) ([]*correlation.Alert, error) {
	// 1 read: where each group's alert lives and its version (a search
	// sees what the last refresh published; anything newer shows up as a
	// conflict below and is re-read in real time).
	hits, err := lookupIDs(ctx, g.c, g.alerts, batch, true)
	if err != nil {
		return nil, fmt.Errorf("read grouped alerts from %s: %w", g.alerts, err)
	}
	versions, dups := versionsOf(hits)
	var written []*correlation.Alert
	pending := batch
	for round := 1; ; round++ {
		// 2 aggregate, after the reads: the evidence every other writer
		// stored before it read the versions we are about to write over.
		if err := g.c.Refresh(ctx, g.evidence.Name()); err != nil {
			return written, fmt.Errorf("refresh %s: %w", g.evidence.Name(), err)
		}
		// Counts first: evidence is only ever added, so a group whose
		// alert counts as many events (at the same severity) as its
		// evidence holds is unchanged; the first and last events are
		// aggregated for the others only.
		var counts map[string]groupAgg
		if len(versions) > 0 { // nothing to compare with otherwise
			if counts, err = g.aggregate(ctx, pending, false); err != nil {
				return written, err
			}
		}
		var changed []string
		for _, id := range pending {
			if counts == nil {
				changed = append(changed, id)
				continue
			}
			ga, ok := counts[id]
			if !ok {
				res.fail(id + ": no evidence found for the group in " + g.evidence.Name())
				continue
			}
			if v, exists := versions[id]; exists && v.summary.count == ga.st.DocsCount && v.summary.severity == ga.st.MaxSeverity {
				res.Unchanged++
				continue
			}
			changed = append(changed, id)
		}
		groups, err := g.aggregate(ctx, changed, true)
		if err != nil {
			return written, err
		}
		// 3 write, conditionally.
		docs, ops, err := g.plan(ctx, changed, groups, versions, dups, alias, created, runID, res)
		if err != nil {
			return written, err
		}
		if len(ops) == 0 {
			return written, nil
		}
		answers, err := g.bulk(ctx, ops)
		if err != nil {
			return written, err
		}
		var again []string
		for i, a := range answers {
			op := ops[i]
			switch {
			case a.Status >= 200 && a.Status < 300 && op.action == "delete":
				res.Duplicates++
			case a.Status == http.StatusNotFound && op.action == "delete":
				// another writer removed the copy already
			case a.Status >= 200 && a.Status < 300:
				if op.action == "create" {
					res.Created++
				} else {
					res.Updated++
				}
				written = append(written, docs[op.id])
			case a.Status == http.StatusConflict || cluster.RetryableStatus(a.Status):
				if a.Status == http.StatusConflict {
					res.Conflicts++
				}
				if op.action != "delete" {
					again = append(again, op.id)
					if a.Index != "" {
						versions[op.id] = version{index: a.Index} // re-read from where it is
					}
				}
			default:
				res.fail(fmt.Sprintf("%s: %d %s: %s", op.id, a.Status, a.errType(), a.errReason()))
			}
		}
		if len(again) == 0 {
			return written, nil
		}
		if round >= maxGroupRounds {
			for _, id := range again {
				res.fail(id + ": still contended after " + strconv.Itoa(round) + " rounds")
			}
			return written, nil
		}
		// Re-read the contended groups in real time from where they live.
		if err := g.reread(ctx, again, versions); err != nil {
			return written, err
		}
		dups = nil
		pending = again
		if err := sleep(ctx, time.Duration(g.rnd.Int64N(int64(20*time.Millisecond)<<min(round, 6)))); err != nil {
			return written, err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

// versionsOf reads the lookup hits: each group's alert in its oldest
// backing index, and the other copies a race left behind.
func versionsOf(hits []hit) (map[string]version, []hit) {
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].ID != hits[j].ID {
			return hits[i].ID < hits[j].ID
		}
		return Generation(hits[i].Index) < Generation(hits[j].Index) || (Generation(hits[i].Index) == Generation(hits[j].Index) && hits[i].Index < hits[j].Index)
	})
	out := map[string]version{}
	var dups []hit
	for _, h := range hits {
		if _, ok := out[h.ID]; ok {
			dups = append(dups, h)
			continue
		}
		out[h.ID] = versionOf(h)
	}
	return out, dups
}

func versionOf(h hit) version {
	v := version{index: h.Index}
	if h.SeqNo != nil && h.PrimaryTerm != nil {
		v.seqNo, v.term = *h.SeqNo, *h.PrimaryTerm
	}
	v.summary = summaryOf(h.Source)
	return v
}

// summaryOf reads a grouped alert's summary from its (filtered) _source.
func summaryOf(src map[string]any) groupSummary {
	var s groupSummary
	ew, _ := src["edgewatch"].(map[string]any)
	sup, _ := ew["suppression"].(map[string]any)
	if n, ok := sup["docs_count"].(float64); ok {
		s.count = int64(n)
	}
	if t, ok := sup["start"].(string); ok {
		s.start, _ = time.Parse(time.RFC3339Nano, t)
	}
	if t, ok := sup["end"].(string); ok {
		s.end, _ = time.Parse(time.RFC3339Nano, t)
	}
	s.first, _ = sup["first_event_id"].(string)
	ev, _ := src["event"].(map[string]any)
	if n, ok := ev["severity"].(float64); ok {
		s.severity = int(n)
	}
	return s
}

// reread fetches the versions of ids in real time (_mget reads the
// translog, not the last refresh) from the index each was last seen in;
// one not found there is absent (it will be created).
func (g *GroupStore) reread(ctx context.Context, ids []string, versions map[string]version) error {
	docs := make([]map[string]any, 0, len(ids))
	for _, id := range ids {
		ix := versions[id].index
		if ix == "" {
			delete(versions, id)
			continue
		}
		docs = append(docs, map[string]any{"_index": ix, "_id": id, "_source": summaryFields})
	}
	if len(docs) == 0 {
		return nil
	}
	req := cluster.Request{Method: http.MethodPost, Path: "/_mget", Body: cluster.JSON(map[string]any{"docs": docs})}
	var r struct {
		Docs []hit `json:"docs"`
	}
	if err := callRetried(ctx, g.c, "re-read grouped alerts", req, &r); err != nil {
		return fmt.Errorf("re-read grouped alerts: %w", err)
	}
	for _, h := range r.Docs {
		if h.Found == nil || !*h.Found {
			delete(versions, h.ID)
			continue
		}
		versions[h.ID] = versionOf(h)
	}
	return nil
}

// groupAgg is one group as its evidence says: the count, the highest
// severity, the first event's finding id and the first and last event
// times.
type groupAgg struct {
	st      correlation.GroupStats
	firstID string
}

// aggregate counts the evidence of ids in one search: a terms aggregation
// on edgewatch.group_id restricted to ids, with the highest severity and,
// with edges, the first and last events (top_hits of one hit sorted by
// @timestamp — a date_nanos in the findings template, whose sort value is
// the time in nanoseconds — then by finding id, without _source: the first
// event's alert is fetched only for the groups whose alert must be
// written).
func (g *GroupStore) aggregate(ctx context.Context, ids []string, edges bool) (map[string]groupAgg, error) {
	if len(ids) == 0 {
		return map[string]groupAgg{}, nil
	}
	edge := func(order string) map[string]any {
		return map[string]any{"top_hits": map[string]any{"size": 1, "_source": false,
			"sort": []any{map[string]any{"@timestamp": order}, map[string]any{"event.id": order}}}}
	}
	sub := map[string]any{"sev": map[string]any{"max": map[string]any{"field": "event.severity"}}}
	if edges {
		sub["first"], sub["last"] = edge("asc"), edge("desc")
	}
	body := map[string]any{
		"size":             0,
		"track_total_hits": false,
		"query":            map[string]any{"terms": map[string]any{"edgewatch.group_id": ids}},
		"aggs": map[string]any{"g": map[string]any{
			"terms": map[string]any{"field": "edgewatch.group_id", "size": len(ids)},
			"aggs":  sub,
		}},
	}
	req := cluster.Request{Method: http.MethodPost, Path: cluster.DocPath(g.evidence.Name(), "_search"),
		Query: url.Values{"filter_path": {"aggregations.g.buckets"}}, Body: cluster.JSON(body)}
	var r struct {
		Aggregations struct {
			G struct {
				Buckets []struct {
					Key      string `json:"key"`
					DocCount int64  `json:"doc_count"`
					Sev      struct {
						Value *float64 `json:"value"`
					} `json:"sev"`
					First topHits `json:"first"`
					Last  topHits `json:"last"`
				} `json:"buckets"`
			} `json:"g"`
		} `json:"aggregations"`
	}
	// The sort values stay raw: in nanoseconds they exceed a float64's
	// precision.
	if err := callRetried(ctx, g.c, "aggregate the evidence in "+g.evidence.Name(), req, &r); err != nil {
		return nil, err
	}
	out := make(map[string]groupAgg, len(r.Aggregations.G.Buckets))
	for _, b := range r.Aggregations.G.Buckets {
		ga := groupAgg{st: correlation.GroupStats{DocsCount: b.DocCount}}
		if b.Sev.Value != nil {
			ga.st.MaxSeverity = int(*b.Sev.Value)
		}
		if edges {
			var err1, err2 error
			ga.firstID, ga.st.Start, err1 = b.First.edge()
			_, ga.st.End, err2 = b.Last.edge()
			if err := errors.Join(err1, err2); err != nil {
				return nil, fmt.Errorf("group %s: %w", b.Key, err)
			}
		}
		out[b.Key] = ga
	}
	return out, nil
}

// minSortNanos is the smallest event time sort value taken as nanoseconds
// (1973-03-03): a millisecond value of any event of this century is far
// smaller.
const minSortNanos = 100_000_000_000_000_000

type topHits struct {
	Hits struct {
		Hits []struct {
			ID   string            `json:"_id"`
			Sort []json.RawMessage `json:"sort"`
		} `json:"hits"`
	} `json:"hits"`
}

// edge is the one hit of a first/last top_hits: its finding id and its
// time (the first sort value, in nanoseconds).
func (t topHits) edge() (string, time.Time, error) {
	if len(t.Hits.Hits) == 0 || len(t.Hits.Hits[0].Sort) == 0 {
		return "", time.Time{}, errors.New("no first or last event in the aggregation")
	}
	h := t.Hits.Hits[0]
	ns, err := strconv.ParseInt(string(h.Sort[0]), 10, 64)
	if err == nil && ns < minSortNanos {
		// A date field sorts in milliseconds: read as nanoseconds, the
		// events would seem to happen in January 1970.
		err = errors.New("not in nanoseconds")
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("event time sort value %q: %w (is @timestamp a date_nanos in the findings index? run edgewatch install for the detection)", h.Sort[0], err)
	}
	return h.ID, time.Unix(0, ns).UTC(), nil
}

// firstEvents fetches the findings of ids (first events of groups to
// write) in one search.
func (g *GroupStore) firstEvents(ctx context.Context, ids []string) (map[string]*correlation.Alert, error) {
	out := make(map[string]*correlation.Alert, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	body := map[string]any{"size": len(ids) * 2, "track_total_hits": false, "query": map[string]any{"ids": map[string]any{"values": ids}}}
	req := cluster.Request{Method: http.MethodPost, Path: cluster.DocPath(g.evidence.Name(), "_search"),
		Query: url.Values{"filter_path": {"hits.hits._id,hits.hits._source"}}, Body: cluster.JSON(body)}
	var r cluster.SearchHits[json.RawMessage]
	if err := callRetried(ctx, g.c, "read the first events in "+g.evidence.Name(), req, &r); err != nil {
		return nil, err
	}
	for _, h := range r.Hits.Hits {
		var a correlation.Alert
		if err := json.Unmarshal(h.Source, &a); err != nil {
			return nil, fmt.Errorf("finding %s: %w", h.ID, err)
		}
		out[h.ID] = &a
	}
	return out, nil
}

// groupOp is one action of a group bulk request.
type groupOp struct {
	action string // create, index, delete
	id     string
	index  string // target: the alias for create, the backing index otherwise
	seqNo  int64
	term   int64
	src    []byte
}

// plan turns the aggregated groups into bulk actions: create a group's
// alert that does not exist, overwrite one whose summary changed on the
// condition that it is still the version read, leave an unchanged one
// alone, and delete extra copies. Only the groups to write have their first
// event's finding fetched.
func (g *GroupStore) plan(ctx context.Context, ids []string, groups map[string]groupAgg, versions map[string]version, dups []hit, alias Alias,
	created time.Time, runID string, res *GroupResult) (map[string]*correlation.Alert, []groupOp, error) {
	var todo, firstIDs []string
	for _, id := range ids {
		ga, ok := groups[id]
		if !ok {
			res.fail(id + ": no evidence found for the group in " + g.evidence.Name())
			continue
		}
		v, exists := versions[id]
		// The grouped alert's severity is the group's highest, first
		// event's included.
		want := groupSummary{count: ga.st.DocsCount, start: ga.st.Start, end: ga.st.End, first: ga.firstID, severity: ga.st.MaxSeverity}
		if exists && v.summary.equal(want) {
			res.Unchanged++
			continue
		}
		todo = append(todo, id)
		firstIDs = append(firstIDs, ga.firstID)
	}
	firsts, err := g.firstEvents(ctx, firstIDs)
	if err != nil {
		return nil, nil, err
	}
	docs := map[string]*correlation.Alert{}
	var ops []groupOp
	for _, id := range todo {
		ga := groups[id]
		first := firsts[ga.firstID]
		if first == nil {
			res.fail(id + ": the first event's finding " + ga.firstID + " is not in " + g.evidence.Name())
			continue
		}
		a := g.spec.GroupedAlert(g.ruleID, first, ga.st, created, runID)
		if a.Event.ID != id {
			res.fail(fmt.Sprintf("%s: the evidence belongs to group %s (the detection's group-by changed?)", id, a.Event.ID))
			continue
		}
		if v, exists := versions[id]; exists {
			ops = append(ops, groupOp{action: "index", id: id, index: v.index, seqNo: v.seqNo, term: v.term, src: a.AppendJSON(nil)})
		} else {
			target := g.alerts
			if alias.Concrete {
				target = alias.Name
			}
			ops = append(ops, groupOp{action: "create", id: id, index: target, src: a.AppendJSON(nil)})
		}
		docs[id] = a
	}
	for _, d := range dups {
		op := groupOp{action: "delete", id: d.ID, index: d.Index}
		if d.SeqNo != nil && d.PrimaryTerm != nil {
			op.seqNo, op.term = *d.SeqNo, *d.PrimaryTerm
		}
		ops = append(ops, op)
	}
	return docs, ops, nil
}

// groupAnswer is one item of the group bulk's answer.
type groupAnswer struct {
	Index  string `json:"_index"`
	Status int    `json:"status"`
	Error  *struct {
		Type   string `json:"type"`
		Reason string `json:"reason"`
	} `json:"error"`
}

func (a groupAnswer) errType() string {
	if a.Error == nil {
		return ""
	}
	return a.Error.Type
}

func (a groupAnswer) errReason() string {
	if a.Error == nil {
		return http.StatusText(a.Status)
	}
	return a.Error.Reason
}

// bulk sends ops in one _bulk request (retried whole on 429/5xx) and
// returns one answer per op.
func (g *GroupStore) bulk(ctx context.Context, ops []groupOp) ([]groupAnswer, error) {
	var body []byte
	for _, op := range ops {
		meta := map[string]any{"_index": op.index, "_id": op.id}
		if op.action != "create" {
			meta["if_seq_no"], meta["if_primary_term"] = op.seqNo, op.term
		}
		body = append(body, cluster.JSON(map[string]any{op.action: meta})...)
		body = append(body, '\n')
		if op.action != "delete" {
			body = append(body, op.src...)
			body = append(body, '\n')
		}
	}
	req := cluster.Request{Method: http.MethodPost, Path: "/_bulk", NDJSON: true, Body: body,
		Query: url.Values{"filter_path": {"items.*._index,items.*.status,items.*.error.type,items.*.error.reason"}}}
	return cluster.Retry(ctx, cluster.RetryPolicy{}, func() ([]groupAnswer, error) {
		var r struct {
			Items []map[string]groupAnswer `json:"items"`
		}
		if err := g.c.Call(ctx, "write grouped alerts", req, &r); err != nil {
			return nil, err
		}
		if len(r.Items) != len(ops) {
			return nil, &cluster.Error{Op: "write grouped alerts", Method: req.Method, Path: req.Path, Status: 200, Downstream: true,
				Reason: fmt.Sprintf("answer has %d items for %d actions", len(r.Items), len(ops))}
		}
		out := make([]groupAnswer, len(ops))
		for i, m := range r.Items {
			for _, a := range m {
				out[i] = a
			}
		}
		return out, nil
	}, nil)
}
