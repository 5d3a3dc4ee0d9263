package cluster

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/edgewatch/edgewatch/connectors"
	"github.com/edgewatch/edgewatch/connectors/internal/jsonscan"
	"github.com/edgewatch/edgewatch/correlation"
)

// The facing step reads, per (DeviceId, internet-facing port), the latest
// DeviceInfo row of the look-back. Over a large look-back most rows are
// older reports of a pair whose newer report is also there, so the step asks
// the cluster for the latest row per pair where the mapping lets it
// ("latest per pair"), and streams every row otherwise ("rows"). Both give
// the rows a correlation.FacingBuilder would keep from a full read (ties on
// time resolved by LaterRow), and both hand the facing step only those.
//
// Latest per pair splits the rows by port into groups: a term query per
// port value where the port is a field of its own (Sentinel's object,
// Elastic's flattened additional_fields, custom profiles), or, where
// AdditionalFields is an analysed text blob (Advanced Hunting, Streaming
// API), a phrase query per port token ("InternetFacingLocalPort 3389" is two
// adjacent tokens). The ports are listed first: a terms aggregation on a
// port field, or for text a few searches for rows that no known port's
// phrase matches yet. In each group one collapsed search on DeviceId, newest
// first, returns the latest row of every device. A row read that way is
// checked: it must decode to its group's device and port within the window;
// otherwise every row of that device in the group is read and folded. Ties
// (two rows of a device in a group with the same stored time) are ruled out
// by a cardinality of the group's times, or found per device and read in
// full. Text rows that mention the port key twice, and rows whose port text
// no phrase matches, are read as rows.

// Facing read modes (SourceConfig.FacingRead).
const (
	// FacingReadAuto reads the latest row per pair on the cluster when the
	// mapping allows it, and every row otherwise (the default).
	FacingReadAuto = "auto"
	// FacingReadRows streams every DeviceInfo row with facing data and keeps
	// the latest per pair in the client.
	FacingReadRows = "rows"
)

// Facing read plans (FacingPlan.Mode).
const (
	FacingModeLatest = "latest-per-pair"
	FacingModeRows   = "rows"
)

// FacingPlan records how the last DeviceInfo call ran.
type FacingPlan struct {
	Mode string `json:"mode"`
	// Groups: port groups read (latest per pair).
	Groups int `json:"groups"`
	// Hits: documents read (latest rows, tied and re-read rows, residual
	// rows); Pairs: (device, port) pairs kept.
	Hits  int64 `json:"hits"`
	Pairs int   `json:"pairs"`
	// TiedDevices: devices whose latest time is shared by several rows of a
	// group (all of them were read); Rechecked: devices whose latest row
	// did not decode to its group and were read in full; Residual: rows read
	// as rows in a latest-per-pair read.
	TiedDevices int      `json:"tied_devices"`
	Rechecked   int      `json:"rechecked"`
	Residual    int64    `json:"residual"`
	Requests    int      `json:"requests"`
	Notes       []string `json:"notes,omitempty"`
	MS          int64    `json:"ms"`
}

// Bounds of a latest-per-pair read; past them it reads rows instead.
const (
	maxPortGroups     = 256  // distinct port values or tokens
	maxUncoverable    = 2000 // text rows no port phrase matches
	maxDiscoverRounds = 32
	discoverPage      = 256
	// exactCardinality is the precision threshold under which the
	// cardinality aggregation counts exactly or less (linear counting over
	// hashes: a collision can only lower it), so "as many distinct times as
	// rows" proves the times distinct.
	exactCardinality = 40000
	// deviceCardinality is the per-device precision threshold of the tie
	// check.
	deviceCardinality = 200
	// recheckWholeGroup: past this many devices to re-read, a group is read
	// in full.
	recheckWholeGroup = 64
	// facingWorkers bounds the groups read at once.
	facingWorkers = 3
	// doubleMentionSlop lets the "port key twice" phrase span a whole
	// AdditionalFields text.
	doubleMentionSlop = 100000
)

// errGroupUnsupported: the cluster rejected a latest-per-pair request (a
// feature the mapping or the server lacks); the read falls back to rows.
var errGroupUnsupported = errors.New("latest per pair not available")

// facingAcc folds what a facing read decodes. It is safe for concurrent use.
type facingAcc struct {
	p        *Profile
	index    string
	from, to time.Time
	fn       func(*correlation.DeviceInfo) error
	log      *slog.Logger

	mu      sync.Mutex
	rep     connectors.Report
	latest  LatestRows
	seen    map[correlation.Location]struct{} // latest per pair: documents read
	skipped map[correlation.Location]struct{}
	hits    int64
}

func newFacingAcc(p *Profile, index string, q connectors.FacingQuery, fn func(*correlation.DeviceInfo) error, log *slog.Logger, dedupe bool) *facingAcc {
	a := &facingAcc{p: p, index: index, from: q.From, to: q.To, fn: fn, log: log, skipped: map[correlation.Location]struct{}{}}
	if dedupe {
		a.seen = map[correlation.Location]struct{}{}
	}
	return a
}

// hit decodes one hit and folds it. It returns the decoded row (a copy) when
// it decoded and lies in the window, else nil. Rows without a facing port
// go to fn at once (the facing step counts them).
func (a *facingAcc) hit(h *searchHit) (*correlation.DeviceInfo, error) {
	loc := correlation.Location{Source: orIndex(h.Index, a.index), DocID: h.ID}
	// Decoded outside the lock: the groups' pages decode in parallel.
	row := &correlation.DeviceInfo{}
	derr := a.p.DecodeDeviceInfo(h.Source, row)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.hits++
	first := true
	if a.seen != nil {
		if _, ok := a.seen[loc]; ok {
			first = false
		} else {
			a.seen[loc] = struct{}{}
		}
	}
	if first {
		a.rep.Read++
	}
	if derr != nil {
		var ot *OtherTableError
		if _, dup := a.skipped[loc]; !dup && !errors.As(derr, &ot) {
			a.skipped[loc] = struct{}{}
			reason := SkipBadDocument
			var de *decodeError
			if errors.As(derr, &de) {
				reason = de.Reason
			}
			a.rep.Skip(reason, loc)
		}
		return nil, nil
	}
	if !inWindow(row.Time, a.from, a.to) {
		return nil, nil
	}
	row.Loc = loc
	if a.latest.Add(row) {
		return row, nil
	}
	if first {
		a.rep.Passed++
		if err := a.fn(row); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// emit passes the kept rows to fn, oldest first.
func (a *facingAcc) emit() error {
	for _, r := range a.latest.Sorted() {
		a.rep.Passed++
		if err := a.fn(r); err != nil {
			return err
		}
	}
	return nil
}

// facingGroups is how a latest-per-pair read splits a DeviceInfo index.
type facingGroups struct {
	dev, time string // the keyword device field and the date field
	base      []any  // the facing filter
	exclude   []any  // rows read another way
	af        string // the AdditionalFields text field (text groups)
	port      string // the port field (term groups)
	portSrc   string // the port's _source path (term groups)
	double    any    // text: rows that mention the port key twice
}

// facingGroup is one port's rows.
type facingGroup struct {
	clause any
	port   int
	name   string
	weight int64 // how many rows it holds, or seemed to (largest read first)
}

func (g *facingGroups) query(extra ...any) jsonObj {
	f := append(slices.Clone(g.base), extra...)
	return boolQuery(f, g.exclude, nil)
}

// facingGroupsFor says whether the mapping allows a latest-per-pair read,
// and why not.
func facingGroupsFor(p *Profile, m *mappings, base []any) (*facingGroups, string) {
	tf := p.field(FieldTime)
	tp := m.plan(tf)
	if !tp.AllDate || len(tp.Fields) != 1 {
		return nil, tf + " is not one date field"
	}
	df := p.field(FieldDeviceID)
	dp := m.plan(df)
	if !dp.Pushable || len(dp.Fields) != 1 {
		return nil, df + " is not one keyword field"
	}
	g := &facingGroups{dev: dp.Fields[0], time: tp.Fields[0], base: base}
	pf := p.field(FieldFacingLocalPort)
	if pf == "" {
		pf = p.facingPortField()
	}
	if pf == "" {
		return nil, "no port field"
	}
	pk := m.kinds(pf)
	if pp := m.plan(pf); !pk[kindMissing] && !pk[kindOther] && pp.Pushable && len(pp.Fields) == 1 {
		g.port, g.portSrc = pp.Fields[0], pf
		return g, ""
	}
	if p.field(FieldFacingLocalPort) != "" {
		return nil, pf + " is not one keyword or number field"
	}
	af := p.field(FieldAdditionalFields)
	ak := m.kinds(af)
	if len(pk) == 1 && pk[kindMissing] && len(ak) == 1 && ak[kindText] {
		g.af = af
		return g, ""
	}
	return nil, "the port is neither a field of its own nor inside a text " + af + " in every index"
}

// facingRead is one DeviceInfo call.
type facingRead struct {
	s    *Source
	acc  *facingAcc
	plan *FacingPlan
	q    connectors.FacingQuery
	lim  queryLimits
	mu   sync.Mutex // plan counters, grouped
	// grouped: rows the port groups cover (their collapsed totals), for
	// the partition check of text groups.
	grouped int64
}

func (r *facingRead) count(requests int) {
	r.mu.Lock()
	r.plan.Requests += requests
	r.mu.Unlock()
}

// search runs one search; a 400 answer (the cluster cannot run it: a
// mapping or feature it lacks) becomes errGroupUnsupported.
func (r *facingRead) search(ctx context.Context, body jsonObj) (*searchResponse, error) {
	r.count(1)
	index := r.s.cfg.DeviceInfoIndex
	req := Request{Method: http.MethodPost, Path: "/" + index + "/_search", Body: JSON(body)}
	resp, err := r.s.client.Do(ctx, req)
	if err != nil {
		return nil, err
	}
	if resp.Status != http.StatusOK {
		err := StatusError("search "+index, req, resp.Status, resp.Body)
		if resp.Status == http.StatusBadRequest || tooManyClauses(resp.Body) {
			return nil, fmt.Errorf("%w: %w", errGroupUnsupported, err)
		}
		return nil, err
	}
	sr, err := parseSearchResponse(resp.Body)
	if err != nil {
		return nil, &Error{Op: "search " + index, Method: req.Method, Path: req.Path, Status: resp.Status,
			Reason: "cannot decode answer: " + err.Error(), Downstream: true}
	}
	if err := partialAnswer("search "+index, req, sr.TimedOut, sr.Shards); err != nil {
		return nil, err
	}
	return sr, nil
}

// tooManyClauses: the cluster refused a query for its size (OpenSearch
// answers 500 too_many_nested_clauses, with the reason in the root cause).
func tooManyClauses(body []byte) bool {
	return bytes.Contains(body, []byte("too_many_nested_clauses")) || bytes.Contains(body, []byte("too_many_clauses")) ||
		bytes.Contains(body, []byte("maxClauseCount"))
}

// aggs runs a size-0 search and returns its aggregations and total.
func (r *facingRead) aggs(ctx context.Context, body jsonObj) (map[string]json.RawMessage, int64, error) {
	sr, err := r.search(ctx, body)
	if err != nil {
		return nil, 0, err
	}
	var out map[string]json.RawMessage
	if len(sr.Aggs) > 0 {
		if err := json.Unmarshal(sr.Aggs, &out); err != nil {
			return nil, 0, fmt.Errorf("search %s: %w", r.s.cfg.DeviceInfoIndex, err)
		}
	}
	var total int64
	if sr.Hits.Total != nil {
		total = sr.Hits.Total.Value
	}
	return out, total, nil
}

// stream reads every row of query and folds it.
func (r *facingRead) stream(ctx context.Context, query any, residual bool) error {
	shardDoc, err := r.s.hasShardDoc(ctx)
	if err != nil {
		return err
	}
	var n int64
	var progress func(done, total int64)
	if !residual {
		progress = rowsProgress(r.q.Progress)
	}
	err = streamPIT(ctx, r.s.client, shardDoc, searchSpec{
		Index:      r.s.cfg.DeviceInfoIndex,
		Query:      query,
		Source:     r.s.deviceInfoSource(),
		PageSize:   r.s.cfg.PageSize,
		KeepAlive:  r.s.cfg.KeepAlive,
		Progress:   progress,
		CheapQuery: true,
	}, func(h *searchHit) error {
		n++
		_, err := r.acc.hit(h)
		return err
	})
	if residual {
		r.mu.Lock()
		r.plan.Residual += n
		r.mu.Unlock()
	}
	return err
}

// latest is the latest-per-pair read.
func (r *facingRead) latest(ctx context.Context, g *facingGroups) error {
	var groups []facingGroup
	var invalid []any // discovered values that are not ports
	var err error
	discovered := true
	if g.port != "" {
		groups, err = r.portValues(ctx, g)
		discovered = errors.Is(err, errGroupUnsupported)
		if discovered {
			// The field cannot be aggregated (OpenSearch's flat_object):
			// find its values by reading rows, as for text.
			r.plan.Notes = append(r.plan.Notes, "port values read from rows: "+err.Error())
			err = nil
		}
	}
	if discovered {
		groups, invalid, err = r.portTokens(ctx, g)
	}
	if err != nil {
		return err
	}
	r.plan.Groups = len(groups)
	// The largest groups first: they take longest.
	slices.SortStableFunc(groups, func(a, b facingGroup) int { return cmp.Compare(b.weight, a.weight) })
	tasks := make([]func(context.Context) error, 0, len(groups)+1)
	var covered int64 = -1
	if discovered {
		// The rows the groups must cover between them, and the rows that
		// mention the port key twice, read as rows.
		tasks = append(tasks, func(ctx context.Context) error {
			c, double, err := r.coverage(ctx, g, invalid)
			if err != nil {
				return err
			}
			r.mu.Lock()
			covered = c
			r.mu.Unlock()
			if double > 0 {
				return r.stream(ctx, boolQuery(append(slices.Clone(g.base), g.double), nil, nil), true)
			}
			return nil
		})
	}
	for _, grp := range groups {
		tasks = append(tasks, func(ctx context.Context) error { return r.group(ctx, g, grp) })
	}
	if err := runTasks(ctx, facingWorkers, tasks); err != nil {
		return err
	}
	if discovered && r.grouped != covered {
		// The discovered groups do not split the rows (an analyser that
		// is not the standard one, multi-valued ports, or rows indexed
		// during the read): read rows.
		return fmt.Errorf("%w: the port groups hold %d rows, the window %d", errGroupUnsupported, r.grouped, covered)
	}
	return nil
}

// runTasks runs tasks on at most workers goroutines, in order; the first
// error cancels the rest and is returned.
func runTasks(ctx context.Context, workers int, tasks []func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan func(context.Context) error)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range min(workers, max(len(tasks), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for task := range work {
				if err := task(ctx); err != nil {
					errs <- err
					cancel()
					return
				}
			}
		}()
	}
feed:
	for _, task := range tasks {
		select {
		case work <- task:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	close(errs)
	return <-errs
}

// coverage counts the rows the valid port groups must hold between them
// (the text rows not read another way, less those of port tokens that are
// not ports), and the rows that mention the port key twice.
func (r *facingRead) coverage(ctx context.Context, g *facingGroups, invalid []any) (covered, double int64, err error) {
	// Within the facing filter: the rows left to the groups, the double
	// mentions, and each token that is not a port.
	f := jsonObj{"groups": boolQuery(nil, g.exclude, nil)}
	if g.double != nil {
		f["double"] = g.double
	}
	for i, c := range invalid {
		f[strconv.Itoa(i)] = boolQuery([]any{c}, g.exclude, nil)
	}
	aggs, _, err := r.aggs(ctx, jsonObj{"size": 0, "track_total_hits": false,
		"query": boolQuery(g.base, nil, nil),
		"aggs":  jsonObj{"n": jsonObj{"filters": jsonObj{"filters": f}}},
	})
	if err != nil {
		return 0, 0, err
	}
	var n struct {
		Buckets map[string]struct {
			DocCount int64 `json:"doc_count"`
		} `json:"buckets"`
	}
	if err := json.Unmarshal(aggs["n"], &n); err != nil {
		return 0, 0, fmt.Errorf("count rows: %w", err)
	}
	covered = n.Buckets["groups"].DocCount
	for k, b := range n.Buckets {
		if k != "groups" && k != "double" {
			covered -= b.DocCount
		}
	}
	return covered, n.Buckets["double"].DocCount, nil
}

// compositeBucket is one bucket of a one-source composite aggregation
// (source "k"), with the sub-aggregation "n" a cardinality.
type compositeBucket struct {
	Key struct {
		K json.RawMessage `json:"k"`
	} `json:"key"`
	DocCount int64 `json:"doc_count"`
	N        struct {
		Value int64 `json:"value"`
	} `json:"n"`
}

// composite pages through the values of field under q (a composite
// aggregation with sub-aggregations subs, "n" if any) and calls fn for
// each bucket; fn returning false stops.
func (r *facingRead) composite(ctx context.Context, q jsonObj, field string, subs jsonObj, fn func(b *compositeBucket) bool) error {
	size := min(10000, max(r.lim.MaxBuckets-1, 1))
	var after json.RawMessage
	for {
		comp := jsonObj{"size": size, "sources": []any{jsonObj{"k": jsonObj{"terms": jsonObj{"field": field}}}}}
		if after != nil {
			comp["after"] = after
		}
		agg := jsonObj{"composite": comp}
		if subs != nil {
			agg["aggs"] = subs
		}
		aggs, _, err := r.aggs(ctx, jsonObj{"size": 0, "track_total_hits": false, "query": q, "aggs": jsonObj{"c": agg}})
		if err != nil {
			return err
		}
		var c struct {
			AfterKey json.RawMessage   `json:"after_key"`
			Buckets  []compositeBucket `json:"buckets"`
		}
		if err := json.Unmarshal(aggs["c"], &c); err != nil {
			return fmt.Errorf("list %s: %w", field, err)
		}
		for i := range c.Buckets {
			if !fn(&c.Buckets[i]) {
				return nil
			}
		}
		if len(c.Buckets) < size || c.AfterKey == nil {
			return nil
		}
		after = c.AfterKey
	}
}

// portValues lists the port field's values.
func (r *facingRead) portValues(ctx context.Context, g *facingGroups) ([]facingGroup, error) {
	var out []facingGroup
	err := r.composite(ctx, g.query(), g.port, nil, func(b *compositeBucket) bool {
		var v any
		if json.Unmarshal(b.Key.K, &v) != nil {
			return true
		}
		port, ok := correlation.ParsePort(strings.TrimSpace(rawText(b.Key.K)))
		if !ok {
			return true // no row of this group can decode to a port: never a pair
		}
		out = append(out, facingGroup{clause: jsonObj{"term": jsonObj{g.port: v}}, port: port, name: string(b.Key.K), weight: b.DocCount})
		return len(out) <= maxPortGroups
	})
	if err == nil && len(out) > maxPortGroups {
		err = fmt.Errorf("%w: more than %d port values", errGroupUnsupported, maxPortGroups)
	}
	return out, err
}

// portPhrase is the phrase of a port token in the text blob.
func portPhrase(af, token string) jsonObj {
	return jsonObj{"match_phrase": jsonObj{af: jsonObj{"query": correlation.KeyFacingLocalPort + " " + token}}}
}

// portTokens finds the port values by reading rows: it reads rows that no
// known value's clause matches, learns their values, and repeats until
// none is left. Rows that teach nothing new (no port, or a value whose
// clause does not match them) are folded as they are and kept out of the
// groups. It returns the groups and the clauses of values that are not
// ports (no row of theirs can be a pair: they are not read).
//
// For text, a value is the port's text in AdditionalFields and its clause
// the phrase "InternetFacingLocalPort <value>"; rows that mention the key
// twice are left to a read of their own. For a port field, the clause is a
// term query on the value as stored.
func (r *facingRead) portTokens(ctx context.Context, g *facingGroups) ([]facingGroup, []any, error) {
	clause := func(tok string) any { return jsonObj{"term": jsonObj{g.port: tok}} }
	token := func(src json.RawMessage) string { return fieldToken(src, g.portSrc) }
	if g.af != "" {
		key := correlation.KeyFacingLocalPort
		g.double = jsonObj{"match_phrase": jsonObj{g.af: jsonObj{"query": key + " " + key, "slop": doubleMentionSlop}}}
		g.exclude = []any{g.double}
		clause = func(tok string) any { return portPhrase(g.af, tok) }
		token = func(src json.RawMessage) string { return portToken(r.acc.p, src) }
	}
	known := map[string]bool{}
	weight := map[string]int64{}
	var out []facingGroup
	var clauses, invalid []any
	uncovered := map[string][]string{} // index -> ids
	nUncovered := 0
	for round := 0; ; round++ {
		if round == maxDiscoverRounds {
			return nil, nil, fmt.Errorf("%w: port values not settled after %d searches", errGroupUnsupported, round)
		}
		mustNot := append(slices.Clone(g.exclude), clauses...)
		mustNot = append(mustNot, idsClauses(uncovered)...)
		sr, err := r.search(ctx, jsonObj{"size": discoverPage, "track_total_hits": false, "_source": r.s.deviceInfoSource(),
			"query": boolQuery(g.base, mustNot, nil)})
		if err != nil {
			return nil, nil, err
		}
		if len(sr.Hits.Hits) == 0 {
			break
		}
		// Values learned from this page: their rows here are not excluded
		// by this search, and their groups will read them.
		fresh := map[string]bool{}
		for i := range sr.Hits.Hits {
			h := &sr.Hits.Hits[i]
			tok := token(h.Source)
			if fresh[tok] {
				weight[tok]++
				continue
			}
			if tok != "" && !known[tok] {
				known[tok], fresh[tok] = true, true
				weight[tok]++
				c := clause(tok)
				clauses = append(clauses, c)
				if port, ok := correlation.ParsePort(strings.TrimSpace(tok)); ok {
					out = append(out, facingGroup{clause: c, port: port, name: tok})
				} else {
					invalid = append(invalid, c)
				}
				continue // read again with its group
			}
			if _, err := r.acc.hit(h); err != nil {
				return nil, nil, err
			}
			idx := orIndex(h.Index, r.s.cfg.DeviceInfoIndex)
			uncovered[idx] = append(uncovered[idx], h.ID)
			nUncovered++
		}
		if len(known) > maxPortGroups || nUncovered > maxUncoverable {
			return nil, nil, fmt.Errorf("%w: %d port values, %d rows without one", errGroupUnsupported, len(known), nUncovered)
		}
	}
	g.exclude = append(g.exclude, idsClauses(uncovered)...)
	r.mu.Lock()
	r.plan.Residual += int64(nUncovered)
	r.mu.Unlock()
	for i := range out {
		out[i].weight = weight[out[i].name] // the share of the first page: a size estimate
	}
	return out, invalid, nil
}

// fieldToken is a row's port field value as stored ("" when absent or not
// a scalar).
func fieldToken(src json.RawMessage, path string) string {
	d, err := newDocView(src)
	if err != nil {
		return ""
	}
	v, ok := d.get(path)
	if !ok {
		return ""
	}
	return rawText(v)
}

// idsClauses matches the given documents (ids per index).
func idsClauses(byIndex map[string][]string) []any {
	var out []any
	idx := make([]string, 0, len(byIndex))
	for k := range byIndex {
		idx = append(idx, k)
	}
	slices.Sort(idx)
	for _, k := range idx {
		out = append(out, boolQuery([]any{jsonObj{"term": jsonObj{"_index": k}}, jsonObj{"ids": jsonObj{"values": byIndex[k]}}}, nil, nil))
	}
	return out
}

// portToken is the text of a row's InternetFacingLocalPort value as it
// stands in AdditionalFields ("3389", "03389", "3389.0"), trimmed; "" when
// the row has none.
func portToken(p *Profile, src json.RawMessage) string {
	d, err := newDocView(src)
	if err != nil {
		return ""
	}
	v, ok := d.get(p.field(FieldAdditionalFields))
	if !ok {
		return ""
	}
	b := bytes.TrimSpace(v)
	for i := 0; i < 3 && len(b) > 0 && b[0] == '"'; i++ {
		var s string
		if json.Unmarshal(b, &s) != nil {
			return ""
		}
		b = bytes.TrimSpace([]byte(s))
	}
	var raw struct {
		Port json.RawMessage `json:"InternetFacingLocalPort"`
	}
	if json.Unmarshal(b, &raw) != nil || len(raw.Port) == 0 {
		return ""
	}
	if isNull(raw.Port) {
		return "null" // as the analyser sees it: never a port
	}
	tok := strings.TrimSpace(rawText(raw.Port))
	if !plainToken(tok) {
		return "" // the analyser would split or drop it: no phrase of its own
	}
	return tok
}

// plainToken: letters and digits, with single dots inside ("3389", "3389.0",
// "null"): one token for the standard analyser.
func plainToken(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c == '.' && s[i-1] != '.':
		default:
			return false
		}
	}
	return true
}

// winner is the latest row of one device in a group, as collapsed.
type winner struct {
	key  string // the device field's value
	sort string // the sort value (nanoseconds since the epoch)
	hit  int    // index in the page
}

// group reads one port group and reports progress (rows read, no total).
func (r *facingRead) group(ctx context.Context, g *facingGroups, grp facingGroup) error {
	if err := r.readGroup(ctx, g, grp); err != nil {
		return err
	}
	if r.q.Progress != nil {
		r.acc.mu.Lock()
		read := r.acc.rep.Read
		r.acc.mu.Unlock()
		r.mu.Lock() // one report at a time
		r.q.Progress(read, 0, "rows")
		r.mu.Unlock()
	}
	return nil
}

// readGroup reads one port group.
func (r *facingRead) readGroup(ctx context.Context, g *facingGroups, grp facingGroup) error {
	q := g.query(grp.clause)
	size := r.s.cfg.PageSize
	sr, card, total, err := r.collapse(ctx, g, q, size, true)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.grouped += total
	r.mu.Unlock()
	if len(sr.Hits.Hits) < size {
		ties := total > exactCardinality || card < total
		return r.settle(ctx, g, grp, q, sr, ties, nil)
	}
	// More devices than a page: list them, collapse per chunk.
	devs, flagged, err := r.devices(ctx, g, q)
	if err != nil {
		return err
	}
	for start := 0; start < len(devs); start += size / 2 {
		chunk := devs[start:min(start+size/2, len(devs))]
		vals := make([]any, len(chunk))
		for i, d := range chunk {
			vals[i] = d
		}
		cq := g.query(grp.clause, jsonObj{"terms": jsonObj{g.dev: vals}})
		sr, _, _, err := r.collapse(ctx, g, cq, size, false)
		if err != nil {
			return err
		}
		if err := r.settle(ctx, g, grp, cq, sr, false, flagged); err != nil {
			return err
		}
	}
	return nil
}

// collapse runs the collapsed search: the latest row of every device of q,
// with (when count) the number of rows and of distinct times.
func (r *facingRead) collapse(ctx context.Context, g *facingGroups, q jsonObj, size int, count bool) (*searchResponse, int64, int64, error) {
	body := jsonObj{
		"size":             size,
		"query":            q,
		"collapse":         jsonObj{"field": g.dev},
		"sort":             []any{jsonObj{g.time: jsonObj{"order": "desc", "numeric_type": "date_nanos"}}},
		"_source":          r.s.deviceInfoSource(),
		"track_total_hits": count,
	}
	if count {
		body["aggs"] = jsonObj{"times": jsonObj{"cardinality": jsonObj{"field": g.time, "precision_threshold": exactCardinality}}}
	}
	sr, err := r.search(ctx, body)
	if err != nil {
		return nil, 0, 0, err
	}
	if !count {
		return sr, 0, 0, nil
	}
	var a struct {
		Times struct {
			Value int64 `json:"value"`
		} `json:"times"`
	}
	if err := json.Unmarshal(sr.Aggs, &a); err != nil {
		return nil, 0, 0, fmt.Errorf("search %s: %w", r.s.cfg.DeviceInfoIndex, err)
	}
	var total int64
	if sr.Hits.Total != nil {
		total = sr.Hits.Total.Value
	}
	return sr, a.Times.Value, total, nil
}

// devices lists the devices of q with, per device, whether two of its rows
// may share a time (fewer distinct times than rows).
func (r *facingRead) devices(ctx context.Context, g *facingGroups, q jsonObj) ([]string, map[string]bool, error) {
	var devs []string
	flagged := map[string]bool{}
	subs := jsonObj{"n": jsonObj{"cardinality": jsonObj{"field": g.time, "precision_threshold": deviceCardinality}}}
	err := r.composite(ctx, q, g.dev, subs, func(b *compositeBucket) bool {
		d := rawText(b.Key.K)
		devs = append(devs, d)
		if b.DocCount > deviceCardinality || b.N.Value < b.DocCount {
			flagged[d] = true
		}
		return true
	})
	return devs, flagged, err
}

// settle folds a collapsed page of group grp (query q): each device's latest
// row, all rows at its latest time where two rows may share it (every device
// when ties, the flagged ones otherwise), and every row of the devices whose
// latest row did not decode to (device, grp.port) within the window.
func (r *facingRead) settle(ctx context.Context, g *facingGroups, grp facingGroup, q jsonObj, sr *searchResponse, ties bool, flagged map[string]bool) error {
	var ws []winner
	for i := range sr.Hits.Hits {
		h := &sr.Hits.Hits[i]
		w := winner{key: collapseKey(h.Fields, g.dev), hit: i}
		if len(h.Sort) > 0 {
			w.sort = strings.Trim(string(h.Sort[0]), `"`)
		}
		ws = append(ws, w)
	}
	if ties && flagged == nil {
		// Some rows of the group share a time: find the devices.
		_, f, err := r.devices(ctx, g, q)
		if err != nil {
			return err
		}
		flagged = f
	}
	var recheck []string
	var tied []winner
	for _, w := range ws {
		if w.key == "" || w.sort == "" {
			// No device value (rows without DeviceId) or no time: decoded
			// for the count, never a pair.
			if _, err := r.acc.hit(&sr.Hits.Hits[w.hit]); err != nil {
				return err
			}
			continue
		}
		if flagged[w.key] {
			tied = append(tied, w)
			continue
		}
		row, err := r.acc.hit(&sr.Hits.Hits[w.hit])
		if err != nil {
			return err
		}
		if row == nil || row.DeviceID != w.key || row.Facing.LocalPort != grp.port {
			recheck = append(recheck, w.key)
		}
	}
	if len(tied) > 0 {
		bad, err := r.readTies(ctx, g, grp, q, tied)
		if err != nil {
			return err
		}
		recheck = append(recheck, bad...)
	}
	if len(recheck) == 0 {
		return nil
	}
	r.mu.Lock()
	r.plan.Rechecked += len(recheck)
	r.mu.Unlock()
	if len(recheck) > recheckWholeGroup {
		return r.stream(ctx, q, true)
	}
	vals := make([]any, len(recheck))
	for i, d := range recheck {
		vals[i] = d
	}
	return r.stream(ctx, boolQuery([]any{q, jsonObj{"terms": jsonObj{g.dev: vals}}}, nil, nil), true)
}

// readTies reads every row of q at each tied device's latest time and
// returns the devices none of whose rows there decoded to (device, port).
func (r *facingRead) readTies(ctx context.Context, g *facingGroups, grp facingGroup, q jsonObj, tied []winner) ([]string, error) {
	r.mu.Lock()
	r.plan.TiedDevices += len(tied)
	r.mu.Unlock()
	per := max(r.lim.MaxClauses/4-8, 1)
	good := map[string]bool{}
	var bad []string
	for start := 0; start < len(tied); start += per {
		chunk := tied[start:min(start+per, len(tied))]
		var should []any
		for _, w := range chunk {
			ns, err := strconv.ParseInt(w.sort, 10, 64)
			if err != nil {
				bad = append(bad, w.key)
				continue
			}
			at := time.Unix(0, ns).UTC().Format(nsLayout)
			should = append(should, boolQuery([]any{
				jsonObj{"term": jsonObj{g.dev: w.key}},
				jsonObj{"range": jsonObj{g.time: jsonObj{"gte": at, "lte": at, "format": "strict_date_optional_time_nanos"}}},
			}, nil, nil))
		}
		if len(should) == 0 {
			continue
		}
		sr, err := r.search(ctx, jsonObj{"size": 10000, "track_total_hits": false, "_source": r.s.deviceInfoSource(),
			"query": boolQuery([]any{q}, nil, should)})
		if err != nil {
			return nil, err
		}
		if len(sr.Hits.Hits) >= 10000 {
			for _, w := range chunk {
				bad = append(bad, w.key)
			}
			continue
		}
		for i := range sr.Hits.Hits {
			row, err := r.acc.hit(&sr.Hits.Hits[i])
			if err != nil {
				return nil, err
			}
			if row != nil && row.Facing.LocalPort == grp.port {
				good[row.DeviceID] = true
			}
		}
	}
	for _, w := range tied {
		if !good[w.key] && !slices.Contains(bad, w.key) {
			bad = append(bad, w.key)
		}
	}
	return bad, nil
}

const nsLayout = "2006-01-02T15:04:05.000000000Z"

// collapseKey is the collapse field's value in a hit's fields (its first
// value; "" when absent or not a scalar). It runs once per collapsed hit, so
// it scans rather than decodes; a key with escapes takes the decoder.
func collapseKey(fields json.RawMessage, field string) string {
	if len(fields) == 0 {
		return ""
	}
	it := jsonscan.NewObjIter(fields)
	for it.Next() {
		if it.KeyEsc {
			return collapseKeySlow(fields, field)
		}
		if string(it.Key) != field {
			continue
		}
		if it.Kind != jsonscan.KindArray {
			return ""
		}
		arr := jsonscan.NewArrIter(it.Val)
		if !arr.Next() {
			return ""
		}
		return rawText(arr.Val)
	}
	return ""
}

func collapseKeySlow(fields json.RawMessage, field string) string {
	var f map[string][]json.RawMessage
	if json.Unmarshal(fields, &f) != nil || len(f[field]) == 0 {
		return ""
	}
	return rawText(f[field][0])
}
