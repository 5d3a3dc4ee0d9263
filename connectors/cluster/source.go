package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/edgewatch/edgewatch/connectors"
	"github.com/edgewatch/edgewatch/correlation"
)

// SourceConfig configures a cluster Source.
type SourceConfig struct {
	DeviceInfoIndex    string // index, alias, data stream or pattern
	NetworkEventsIndex string
	Profile            string            // advanced-hunting (default) | sentinel | streaming | elastic-m365 | custom
	ProfileFields      map[string]string // overrides: logical field -> document path (see NewProfile)
	PageSize           int               // hits per page (default DefaultPageSize)
	KeepAlive          time.Duration     // point-in-time keep-alive between pages (default DefaultKeepAlive)
	Logger             *slog.Logger      // default slog.Default()
	// FacingRead is how the facing step reads DeviceInfo: FacingReadAuto
	// ("" too: the latest row per pair on the cluster where the mapping
	// allows it) or FacingReadRows (every row).
	FacingRead string
	// FilterSource makes the facing step ask for only the DeviceInfo fields
	// it reads (_source includes). It saves transfer but costs the cluster
	// a parse and re-serialisation of every row: on OpenSearch 2.19, 8,000
	// Advanced Hunting rows came back in 0.17 s whole and 0.40 s filtered
	// (medians), AdditionalFields being most of a row anyway. Off by
	// default; worth it over slow links or with wide documents.
	FilterSource bool
}

// Strategies of the event step (EventPlan.Strategy).
const (
	// StrategyIndicatorsFirst: the indicators go to the cluster as terms
	// chunks under the cluster's limits.
	StrategyIndicatorsFirst = "indicators-first"
	// StrategyEventsFirst: the window's distinct remote addresses come back
	// (composite aggregation), are intersected with the indicators in Go,
	// and only the matching addresses go to the cluster.
	StrategyEventsFirst = "events-first"
	// StrategyNoIndicators: the query had no indicator set.
	StrategyNoIndicators = "no-indicator-filter"
	// StrategyNoRemotePushdown: RemoteIP is analysed text; remotes are
	// filtered client-side.
	StrategyNoRemotePushdown = "no-remote-pushdown"
	// StrategyEmpty: nothing can match (no facing pair, no indicator, or no
	// window remote is an indicator); no event was read.
	StrategyEmpty = "empty"
)

// EventPlan records how the last event step ran: the strategy, the measured
// counts it was chosen from, and what was pushed down.
type EventPlan struct {
	Strategy string `json:"strategy"`
	// BaseHits: inbound events of the window on facing devices and ports
	// (before the remote filter); -1 when not measured.
	BaseHits int64 `json:"base_hits"`
	// DistinctRemotes: the cardinality estimate of their remote addresses;
	// -1 when not measured (fewer base hits than would change the
	// strategy), a lower bound when measured on a subset (see Notes).
	DistinctRemotes int64 `json:"distinct_remotes"`
	Indicators      int   `json:"indicators"`
	// IndicatorTerms: terms the indicators-first query would send (IPv4
	// addresses count twice on string fields: a.b.c.d and ::ffff:a.b.c.d).
	IndicatorTerms int `json:"indicator_terms"`
	// RemoteTerms: matching remote addresses sent in the final query.
	RemoteTerms int `json:"remote_terms"`
	// Chunks: terms queries the indicator filter (indicators first) or the
	// remote filter (events first) was split into (index.max_terms_count).
	Chunks int `json:"chunks"`
	// RemotesListed: distinct remote addresses the listing returned (all
	// of the window's, events first; the matching ones, indicators first).
	RemotesListed   int64    `json:"remotes_listed"`
	MatchingRemotes int      `json:"matching_remotes"`
	CompositePages  int      `json:"composite_pages"`
	MaxTerms        int      `json:"max_terms"`
	Notes           []string `json:"notes,omitempty"`
	// Phase durations.
	MeasureMS int64 `json:"measure_ms"`
	ListMS    int64 `json:"list_ms"`
	FetchMS   int64 `json:"fetch_ms"`
}

// Source reads Defender rows from OpenSearch or Elasticsearch; it
// implements connectors.Source.
type Source struct {
	client  *Client
	cfg     SourceConfig
	profile *Profile
	log     *slog.Logger

	mu         sync.Mutex
	shardDoc   *bool                // the store sorts on _shard_doc
	maps       map[string]*mappings // per index
	lims       map[string]queryLimits
	lastPlan   EventPlan
	lastFacing FacingPlan
	prep       *preparation // the latest PrepareEvents
}

var _ connectors.Source = (*Source)(nil)

// NewSource returns a Source over doer. It talks to the cluster lazily: the
// first read of each index resolves its mapping and limits.
func NewSource(doer Doer, flavor Flavor, cfg SourceConfig) (*Source, error) {
	if doer == nil {
		return nil, errors.New("cluster source: nil Doer")
	}
	var opts []Option
	if cfg.Logger != nil {
		opts = append(opts, WithLogger(cfg.Logger))
	}
	return NewClientSource(NewClient(doer, ServerInfo{Flavor: flavor}, opts...), cfg)
}

// NewClientSource returns a Source over a connected client (what
// opensearch.Connect and elasticsearch.Connect return); the server version
// the client learned picks the point-in-time tiebreak without asking again.
func NewClientSource(c *Client, cfg SourceConfig) (*Source, error) {
	if c == nil {
		return nil, errors.New("cluster source: nil client")
	}
	if f := c.Flavor(); f != OpenSearch && f != Elasticsearch {
		return nil, fmt.Errorf("cluster source: unknown flavor %q", f)
	}
	for _, ix := range []struct{ name, v string }{{"device info index", cfg.DeviceInfoIndex}, {"network events index", cfg.NetworkEventsIndex}} {
		if ix.v == "" {
			return nil, fmt.Errorf("cluster source: %s not set", ix.name)
		}
		if strings.ContainsAny(ix.v, "/?#\\\" <>|") {
			return nil, fmt.Errorf("cluster source: %s %q: invalid character", ix.name, ix.v)
		}
	}
	p, err := NewProfile(cfg.Profile, cfg.ProfileFields)
	if err != nil {
		return nil, fmt.Errorf("cluster source: %w", err)
	}
	switch cfg.FacingRead {
	case "", FacingReadAuto, FacingReadRows:
	default:
		return nil, fmt.Errorf("cluster source: facing read %q (want %s or %s)", cfg.FacingRead, FacingReadAuto, FacingReadRows)
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = DefaultPageSize
	}
	if cfg.KeepAlive <= 0 {
		cfg.KeepAlive = DefaultKeepAlive
	}
	log := cfg.Logger
	if log == nil {
		log = c.Logger()
	}
	return &Source{
		client: c, cfg: cfg, profile: p, log: log,
		maps: map[string]*mappings{}, lims: map[string]queryLimits{},
	}, nil
}

// Profile is the resolved field profile.
func (s *Source) Profile() *Profile { return s.profile }

// LastEventPlan reports how the last NetworkEvents call ran.
func (s *Source) LastEventPlan() EventPlan {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.lastPlan
	p.Notes = slices.Clone(p.Notes)
	return p
}

// profilePaths are every document path the profile may query.
func (s *Source) profilePaths() []string {
	p := s.profile
	var out []string
	add := func(f string) {
		if f != "" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	for _, f := range p.Fields {
		add(f)
	}
	add(p.facingPortField())
	add(p.Table)
	for _, a := range p.Arrangements {
		add(a.RemoteIP)
		add(a.LocalIP)
		for _, f := range a.LocalPort {
			add(f)
		}
		for _, c := range []*Cond{a.When, a.Unless} {
			if c != nil {
				add(c.Field)
			}
		}
	}
	slices.Sort(out)
	return out
}

func (s *Source) mappingOf(ctx context.Context, index string) (*mappings, queryLimits, error) {
	s.mu.Lock()
	m, ok := s.maps[index]
	l := s.lims[index]
	s.mu.Unlock()
	if ok {
		return m, l, nil
	}
	m, err := loadMappings(ctx, s.client, index, s.profilePaths())
	if err != nil {
		return nil, l, err
	}
	l, err = loadLimits(ctx, s.client, index)
	if err != nil {
		return nil, l, err
	}
	s.mu.Lock()
	s.maps[index], s.lims[index] = m, l
	s.mu.Unlock()
	return m, l, nil
}

// hasShardDoc reports whether the store knows the _shard_doc tiebreak:
// Elasticsearch always (7.12+), OpenSearch from 3.3 (asked once).
func (s *Source) hasShardDoc(ctx context.Context) (bool, error) {
	if s.client.Flavor() == Elasticsearch {
		return true, nil
	}
	s.mu.Lock()
	if s.shardDoc != nil {
		defer s.mu.Unlock()
		return *s.shardDoc, nil
	}
	s.mu.Unlock()
	info := s.client.Info()
	if info.Version == "" {
		var err error
		if info, err = DetectServer(ctx, s.client.Doer()); err != nil {
			return false, err
		}
	}
	ok := info.Major > 3 || (info.Major == 3 && info.Minor >= 3)
	s.mu.Lock()
	s.shardDoc = &ok
	s.mu.Unlock()
	return ok, nil
}

// Refresh forgets the cached mappings (after a mapping change).
func (s *Source) Refresh() {
	s.mu.Lock()
	s.maps = map[string]*mappings{}
	s.lims = map[string]queryLimits{}
	s.mu.Unlock()
}

func inWindow(t, from, to time.Time) bool {
	return (from.IsZero() || !t.Before(from)) && (to.IsZero() || t.Before(to))
}

func rowsProgress(fn connectors.ProgressFunc) func(done, total int64) {
	if fn == nil {
		return nil
	}
	return func(done, total int64) { fn(done, total, "rows") }
}

func (s *Source) skip(rep *connectors.Report, index string, h *searchHit, err error) {
	var ot *OtherTableError
	if errors.As(err, &ot) {
		return // another table's row: not ours, not bad
	}
	reason := SkipBadDocument
	var de *decodeError
	if errors.As(err, &de) {
		reason = de.Reason
	}
	idx := h.Index
	if idx == "" {
		idx = index
	}
	rep.Skip(reason, correlation.Location{Source: idx, DocID: h.ID})
}

// DeviceInfo reads the DeviceInfo rows of q that carry internet-facing
// data and passes fn, per (DeviceId, port), the latest of them (LaterRow),
// oldest first, plus the rows it read that have no facing port. Where the
// mapping allows it, only the latest rows leave the cluster (see
// FacingPlan); otherwise every row is streamed and folded here. Skipped
// rows are those among the rows read that did not decode.
func (s *Source) DeviceInfo(ctx context.Context, q connectors.FacingQuery, fn func(*correlation.DeviceInfo) error) (connectors.Report, error) {
	start := time.Now()
	index := s.cfg.DeviceInfoIndex
	plan := FacingPlan{}
	defer func() {
		plan.MS = time.Since(start).Milliseconds()
		s.mu.Lock()
		s.lastFacing = plan
		s.mu.Unlock()
	}()
	m, lim, err := s.mappingOf(ctx, index)
	if err != nil {
		return connectors.Report{}, err
	}
	filter, notes := facingFilter(s.profile, m, q.From, q.To)
	plan.Notes = append(plan.Notes, notes...)
	for _, n := range notes {
		s.log.Debug("cluster facing step", "index", index, "note", n)
	}
	var r *facingRead
	newRead := func(dedupe bool) {
		r = &facingRead{s: s, plan: &plan, q: q, lim: lim,
			acc: newFacingAcc(s.profile, index, q, fn, s.log, dedupe)}
	}
	done := false
	if s.cfg.FacingRead != FacingReadRows {
		g, why := facingGroupsFor(s.profile, m, filter)
		if g == nil {
			plan.Notes = append(plan.Notes, "latest per pair not available: "+why)
		} else {
			newRead(true)
			plan.Mode = FacingModeLatest
			err := r.latest(ctx, g)
			switch {
			case err == nil:
				done = true
			case errors.Is(err, errGroupUnsupported):
				plan.Notes = append(plan.Notes, err.Error())
				s.log.Info("cluster facing step: reading rows", "index", index, "reason", err)
				plan = FacingPlan{Notes: plan.Notes, Requests: plan.Requests}
			default:
				return r.acc.rep, err
			}
		}
	}
	if !done {
		newRead(false)
		plan.Mode = FacingModeRows
		query := jsonObj{"match_all": jsonObj{}}
		if len(filter) > 0 {
			query = boolQuery(filter, nil, nil)
		}
		if err := r.stream(ctx, query, false); err != nil {
			return r.acc.rep, err
		}
	}
	err = r.acc.emit()
	plan.Hits, plan.Pairs = r.acc.hits, r.acc.latest.Len()
	s.log.Debug("cluster facing step", "index", index, "mode", plan.Mode, "groups", plan.Groups,
		"hits", plan.Hits, "pairs", plan.Pairs, "requests", plan.Requests)
	return r.acc.rep, err
}

// LastFacingPlan reports how the last DeviceInfo call ran.
func (s *Source) LastFacingPlan() FacingPlan {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.lastFacing
	p.Notes = slices.Clone(p.Notes)
	return p
}

func (s *Source) deviceInfoSource() any {
	if s.cfg.FilterSource {
		return jsonObj{"includes": s.profile.deviceInfoPaths()}
	}
	return true
}

func orIndex(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// NetworkEvents streams the candidate events of q. The filter is pushed
// down (see EventPlan for what ran); every searchHit carries its full row.
func (s *Source) NetworkEvents(ctx context.Context, q connectors.EventQuery, fn func(*correlation.NetworkEvent) error) (connectors.Report, error) {
	var rep connectors.Report
	index := s.cfg.NetworkEventsIndex
	m, lim, err := s.mappingOf(ctx, index)
	if err != nil {
		return rep, err
	}
	plan, query, err := s.planEvents(ctx, index, m, lim, q)
	defer func() {
		s.mu.Lock()
		s.lastPlan = plan
		s.mu.Unlock()
		s.log.Info("cluster event step", "index", index, "strategy", plan.Strategy,
			"base_hits", plan.BaseHits, "distinct_remotes", plan.DistinctRemotes,
			"indicators", plan.Indicators, "remote_terms", plan.RemoteTerms, "chunks", plan.Chunks,
			"matching_remotes", plan.MatchingRemotes, "read", rep.Read, "passed", rep.Passed)
	}()
	if err != nil || query == nil {
		return rep, err
	}
	shardDoc, err := s.hasShardDoc(ctx)
	if err != nil {
		return rep, err
	}
	start := time.Now()
	tp := m.plan(s.profile.field(FieldTime))
	var ev correlation.NetworkEvent
	err = streamPIT(ctx, s.client, shardDoc, searchSpec{
		Index:     index,
		Query:     query,
		Source:    s.profile.eventSourceFilter(),
		TimeField: s.profile.field(FieldTime),
		TimeSort:  tp.AllDate && len(tp.Fields) == 1,
		PageSize:  s.cfg.PageSize,
		KeepAlive: s.cfg.KeepAlive,
		Progress:  rowsProgress(q.Progress),
	}, func(h *searchHit) error {
		rep.Read++
		if err := s.profile.DecodeNetworkEvent(h.Source, &ev); err != nil {
			s.skip(&rep, index, h, err)
			return nil
		}
		if !inWindow(ev.Time, q.From, q.To) {
			return nil
		}
		ev.Loc = correlation.Location{Source: orIndex(h.Index, index), DocID: h.ID}
		rep.Passed++
		return fn(&ev)
	})
	plan.FetchMS = time.Since(start).Milliseconds()
	return rep, err
}

// planEvents picks the strategy and builds the final query; a nil query
// means nothing can match.
func (s *Source) planEvents(ctx context.Context, index string, m *mappings, lim queryLimits, q connectors.EventQuery) (EventPlan, jsonObj, error) {
	plan := EventPlan{BaseHits: -1, DistinctRemotes: -1, MaxTerms: lim.MaxTerms}
	if q.Indicators != nil {
		plan.Indicators = q.Indicators.Len()
	}
	if (q.Facing != nil && q.Facing.Len() == 0) || (q.Indicators != nil && q.Indicators.Len() == 0) {
		plan.Strategy = StrategyEmpty
		return plan, nil, nil
	}
	filter, arrs, notes := baseEventFilter(eventPlanInput{
		profile: s.profile, maps: m, lim: lim, from: q.From, to: q.To, facing: q.Facing,
	})
	plan.Notes = append(plan.Notes, notes...)
	if q.Indicators == nil {
		plan.Strategy = StrategyNoIndicators
		return plan, eventQuery(filter, arrs, nil, nil), nil
	}

	// Prepared while the facing step ran (PrepareEvents): only the fetch
	// is left.
	if pr := s.preparedFor(q); pr != nil {
		if res, ok := pr.wait(ctx); ok {
			return s.planPrepared(plan, filter, arrs, res)
		}
		if err := ctx.Err(); err != nil {
			return plan, nil, err
		}
	}
	ws, err := s.listMatching(ctx, index, m, lim, filter, arrs, q.Indicators, &plan, nil)
	switch {
	case err != nil || ws == nil:
		return plan, nil, err
	case ws.noPushdown:
		return plan, eventQuery(filter, arrs, nil, nil), nil
	}
	return plan, eventQuery(filter, arrs, ws.final, ws.skip), nil
}

// matching is what the remote listing found: per arrangement, the remote
// addresses that are indicators (as terms clauses), or skip when none is.
type matching struct {
	final []any
	skip  []bool
	// noPushdown: the remote address is analysed text somewhere; the
	// plan's strategy says so and final is nil.
	noPushdown bool
}

// listMatching measures the window under filter and lists the remote
// addresses that are indicators, filling plan. A nil result with a nil
// error means the plan is complete without a remote filter: StrategyEmpty
// (nothing can match) or StrategyNoRemotePushdown (the caller reads the
// base filter).
//
// The measure only picks the listing's strategy (both find the same
// addresses), so the indicators-first listing starts with it rather than
// after it, and is used when the measure picks it; otherwise it is
// cancelled and the events-first listing runs.
//
// pre, when not nil, holds the indicators-first terms built beforehand
// (indicatorFilter); otherwise they are built while the measure runs.
func (s *Source) listMatching(ctx context.Context, index string, m *mappings, lim queryLimits, filter []any, arrs []arrClause, ind *correlation.IndicatorSet, plan *EventPlan, pre *indicatorFilter) (*matching, error) {
	arrs2 := s.profile.Arrangements
	rplans := make([]fieldPlan, len(arrs2))
	for i, a := range arrs2 {
		rplans[i] = m.plan(a.RemoteIP)
		if !rplans[i].Pushable {
			plan.Strategy = StrategyNoRemotePushdown
			plan.Notes = append(plan.Notes, "remote address not pushed down: "+a.RemoteIP+" is analysed text")
			return &matching{noPushdown: true}, nil
		}
	}

	// Measure the window: base hits and distinct remotes per arrangement.
	type measured struct {
		base, distinct int64
		lower          bool
		ms             int64
		err            error
	}
	// Indicators first wins from this many distinct remotes on.
	need := (int64(plan.Indicators) + eventsFirstFactor - 1) / eventsFirstFactor
	mctx, cancelMeasure := context.WithCancel(ctx)
	defer cancelMeasure()
	measureCh := make(chan measured, 1)
	go func() {
		start := time.Now()
		base, distinct, lower, err := s.measure(mctx, index, filter, arrs, rplans, need)
		measureCh <- measured{base, distinct, lower, time.Since(start).Milliseconds(), err}
	}()

	// The indicators-first terms, while the measure runs.
	if pre == nil {
		pre = s.indicatorFilter(m, lim, ind)
	}
	remote, indFirstOK := pre.remote, pre.ok
	plan.IndicatorTerms = pre.terms
	plan.Notes = append(plan.Notes, pre.notes...)

	type listed struct {
		l   *listing
		ms  int64
		err error
	}
	list := func(ctx context.Context, strategy string) listed {
		start := time.Now()
		l, err := s.listRemoteSet(ctx, index, lim, filter, arrs, rplans, remote, ind, strategy, plan.IndicatorTerms)
		return listed{l, time.Since(start).Milliseconds(), err}
	}
	var early chan listed
	cancelEarly := func() {}
	defer func() {
		cancelEarly()
		if early != nil {
			<-early
		}
	}()
	if indFirstOK {
		ectx, cancel := context.WithCancel(ctx)
		early, cancelEarly = make(chan listed, 1), cancel
		go func() { early <- list(ectx, StrategyIndicatorsFirst) }()
	}

	mr := <-measureCh // the measure stops with ctx
	plan.MeasureMS = mr.ms
	if mr.err != nil {
		return nil, mr.err
	}
	base, distinct := mr.base, mr.distinct
	plan.BaseHits, plan.DistinctRemotes = base, distinct
	switch {
	case base == 0:
		plan.Strategy = StrategyEmpty
		return nil, nil
	case distinct < 0:
		plan.Notes = append(plan.Notes, fmt.Sprintf("distinct remotes not measured: %d base hits are fewer than the %d that would favour indicators first", base, need))
	case mr.lower:
		plan.Notes = append(plan.Notes, fmt.Sprintf("distinct remotes measured on a subset (at most %d events per shard): a lower bound", need))
	}

	// Both strategies list the matching remote addresses first (composite
	// aggregation, size 0: no fetch phase), then fetch the events of just
	// those addresses. Indicators first: the cluster intersects (the
	// indicator terms filter the listing). Events first: the window's
	// distinct remotes come back and Go intersects. Either way the final
	// query is small, however many indicators there are: a multi-shard
	// fetch phase re-parses the query, and every page re-sends it.
	plan.Strategy = StrategyEventsFirst
	if indFirstOK && distinct >= need {
		plan.Strategy = StrategyIndicatorsFirst
	}
	var r listed
	if plan.Strategy == StrategyIndicatorsFirst {
		r = <-early
		early = nil
	} else {
		cancelEarly()
		if early != nil {
			<-early
			early = nil
		}
		r = list(ctx, StrategyEventsFirst)
	}
	plan.ListMS = r.ms
	if r.l != nil {
		plan.Chunks += r.l.chunks
		plan.RemotesListed += r.l.listed
		plan.CompositePages += r.l.pages
		plan.MatchingRemotes += r.l.matching
		plan.RemoteTerms += r.l.matching
	}
	if r.err != nil {
		return nil, r.err
	}
	if plan.MatchingRemotes == 0 {
		plan.Notes = append(plan.Notes, plan.Strategy+": no remote address of the window is an indicator")
		plan.Strategy = StrategyEmpty
		return nil, nil
	}
	return r.l.ws, nil
}

// indicatorFilter is the indicators-first remote filter: every indicator
// as terms on each arrangement's remote address field.
type indicatorFilter struct {
	remote []any // per arrangement: the terms clause
	ok     bool  // every arrangement has one
	terms  int   // the most terms one arrangement sends
	notes  []string
}

// indicatorFilter builds the indicators-first terms. Arrangements whose
// remote field is analysed text get none (listMatching does not list
// them).
func (s *Source) indicatorFilter(m *mappings, lim queryLimits, ind *correlation.IndicatorSet) *indicatorFilter {
	arrs := s.profile.Arrangements
	f := &indicatorFilter{remote: make([]any, len(arrs)), ok: true}
	for i, a := range arrs {
		rp := m.plan(a.RemoteIP)
		if !rp.Pushable {
			f.ok = false
			continue
		}
		// Clause budget for CIDRs: leave room for the rest of the query.
		vals, _, ok := indicatorTerms(ind, rp, max(lim.MaxClauses/2-64, 0))
		if !ok {
			f.ok = false
			f.notes = append(f.notes, "indicator ranges cannot be pushed down on "+a.RemoteIP+": listing remotes instead")
			continue
		}
		f.terms = max(f.terms, len(vals))
		f.remote[i], _ = termsClauseStrings(a.RemoteIP, rp, vals, lim.MaxTerms)
	}
	return f
}

// listing is what one remote listing found, and its figures.
type listing struct {
	ws                      *matching
	chunks, pages, matching int
	listed                  int64
}

// listRemoteSet lists, per arrangement, the window's remote addresses that
// are indicators with strategy (remote holds the indicators-first terms).
func (s *Source) listRemoteSet(ctx context.Context, index string, lim queryLimits, filter []any, arrs []arrClause, rplans []fieldPlan, remote []any, ind *correlation.IndicatorSet, strategy string, indicatorTerms int) (*listing, error) {
	arrs2 := s.profile.Arrangements
	out := &listing{ws: &matching{skip: make([]bool, len(arrs2)), final: make([]any, len(arrs2))}}
	for i, a := range arrs2 {
		listQuery := arrangementQuery(filter, arrs[i])
		if strategy == StrategyIndicatorsFirst {
			listQuery = arrangementQuery(append(append([]any(nil), filter...), remote[i]), arrs[i])
			out.chunks += chunkCount(indicatorTerms, lim.MaxTerms) * max(len(rplans[i].Fields), 1)
		}
		var keep []any
		for _, f := range fieldsOr(rplans[i], a.RemoteIP) {
			listed, pages, err := s.listRemotes(ctx, index, listQuery, f, lim, func(v string) {
				addr, err := netip.ParseAddr(strings.TrimSpace(v))
				if err != nil {
					return
				}
				if ind.Contains(addr) {
					keep = append(keep, v)
				}
			})
			out.listed += listed
			out.pages += pages
			if err != nil {
				return out, err
			}
		}
		out.matching += len(keep)
		if len(keep) == 0 {
			out.ws.skip[i] = true
			continue
		}
		if strategy == StrategyEventsFirst {
			out.chunks += chunkCount(len(keep), lim.MaxTerms) * max(len(rplans[i].Fields), 1)
		}
		out.ws.final[i], _ = termsClause(a.RemoteIP, rplans[i], keep, lim.MaxTerms)
	}
	return out, nil
}

// eventsFirstFactor weighs a listed remote against an indicator term: the
// events-first listing costs a composite page (a pass over the window's
// inbound events) per 50,000 remotes and ships each one back, while the
// indicators-first listing costs one pass with every indicator as a term.
// Measured on OpenSearch 2.19 with 2M events: listing 100k distinct
// remotes (3 pages) took 1.0–2.1 s where the same listing filtered by 120k
// indicator terms took 0.4–1.0 s. Events first wins when the window has
// clearly fewer remotes than there are indicators.
const eventsFirstFactor = 4

func chunkCount(n, size int) int {
	if n == 0 {
		return 0
	}
	return (n + size - 1) / size
}

func fieldsOr(p fieldPlan, path string) []string {
	if len(p.Fields) == 0 {
		return []string{path}
	}
	return p.Fields
}

// measure counts the base hits and estimates the distinct remote addresses
// (cardinality aggregation per arrangement and remote field), only as far
// as the strategy choice needs: the choice turns on whether there are at
// least need distinct remotes. The count alone (a few milliseconds) settles
// it when there are fewer base hits than need (distinct is then -1: not
// measured). Otherwise the cardinality runs over at most need events per
// shard (terminate_after): a subset with need distinct remotes settles it
// too, for under a third of a full cardinality's cluster CPU on the
// benchmark (51 ms against 178 ms), and lower is true. Only a subset with fewer
// distinct remotes than that (remotes repeat a lot) costs the full pass.
func (s *Source) measure(ctx context.Context, index string, filter []any, arrs []arrClause, rplans []fieldPlan, need int64) (base, distinct int64, lower bool, err error) {
	var cr struct {
		Hits struct {
			Total struct {
				Value int64 `json:"value"`
			} `json:"total"`
		} `json:"hits"`
	}
	body, err := searchOnce(ctx, s.client, index, jsonObj{
		"size":             0,
		"track_total_hits": true,
		"query":            eventQuery(filter, arrs, nil, nil),
	})
	if err == nil {
		err = json.Unmarshal(body, &cr)
	}
	if err != nil {
		return 0, 0, false, fmt.Errorf("measure remotes: %w", err)
	}
	base = cr.Hits.Total.Value
	if base == 0 || base < need {
		return base, -1, false, nil
	}
	distinct, early, err := s.distinctRemotes(ctx, index, filter, arrs, rplans, need)
	if err == nil && early && distinct < need {
		distinct, early, err = s.distinctRemotes(ctx, index, filter, arrs, rplans, 0)
	}
	return base, distinct, early, err
}

// distinctRemotes estimates the window's distinct remote addresses over at
// most perShard events per shard (0: all of them); early says the cluster
// stopped before the end.
func (s *Source) distinctRemotes(ctx context.Context, index string, filter []any, arrs []arrClause, rplans []fieldPlan, perShard int64) (distinct int64, early bool, err error) {
	aggs := jsonObj{}
	for i, a := range arrs {
		sub := jsonObj{}
		for j, f := range fieldsOr(rplans[i], s.profile.Arrangements[i].RemoteIP) {
			sub[fmt.Sprintf("f%d", j)] = jsonObj{"cardinality": jsonObj{"field": f, "precision_threshold": 40000}}
		}
		aggs[fmt.Sprintf("a%d", i)] = jsonObj{
			"filter": boolQuery(a.filter, a.mustNot, nil),
			"aggs":   sub,
		}
	}
	req := jsonObj{
		"size":             0,
		"track_total_hits": false,
		"query":            eventQuery(filter, arrs, nil, nil),
		"aggs":             aggs,
	}
	if perShard > 0 {
		req["terminate_after"] = perShard
	}
	body, err := searchOnce(ctx, s.client, index, req)
	if err != nil {
		return 0, false, fmt.Errorf("measure remotes: %w", err)
	}
	var r struct {
		TerminatedEarly bool                                  `json:"terminated_early"`
		Aggregations    map[string]map[string]json.RawMessage `json:"aggregations"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return 0, false, fmt.Errorf("measure remotes: %w", err)
	}
	for _, a := range r.Aggregations {
		for k, v := range a {
			if !strings.HasPrefix(k, "f") {
				continue
			}
			var c struct {
				Value int64 `json:"value"`
			}
			if json.Unmarshal(v, &c) == nil {
				distinct += c.Value
			}
		}
	}
	return distinct, r.TerminatedEarly, nil
}

// compositePageSize bounds one page of the remote listing (and
// search.max_buckets, less one, bounds it further).
const compositePageSize = 50000

// listRemotes pages through the distinct values of field under query with a
// composite aggregation and calls fn for each.
func (s *Source) listRemotes(ctx context.Context, index string, query jsonObj, field string, lim queryLimits, fn func(string)) (listed int64, pages int, err error) {
	size := min(compositePageSize, max(lim.MaxBuckets-1, 1))
	var after json.RawMessage
	for {
		if err := ctx.Err(); err != nil {
			return listed, pages, err
		}
		comp := jsonObj{
			"size":    size,
			"sources": []any{jsonObj{"r": jsonObj{"terms": jsonObj{"field": field}}}},
		}
		if after != nil {
			comp["after"] = after
		}
		body, err := searchOnce(ctx, s.client, index, jsonObj{
			"size":             0,
			"track_total_hits": false,
			"query":            query,
			"aggs":             jsonObj{"remotes": jsonObj{"composite": comp}},
		})
		if err != nil {
			return listed, pages, fmt.Errorf("list remotes: %w", err)
		}
		pages++
		var r struct {
			Aggregations struct {
				Remotes struct {
					AfterKey json.RawMessage `json:"after_key"`
					Buckets  []struct {
						Key struct {
							R any `json:"r"`
						} `json:"key"`
					} `json:"buckets"`
				} `json:"remotes"`
			} `json:"aggregations"`
		}
		if err := json.Unmarshal(body, &r); err != nil {
			return listed, pages, fmt.Errorf("list remotes: %w", err)
		}
		for _, b := range r.Aggregations.Remotes.Buckets {
			if v, ok := b.Key.R.(string); ok {
				fn(v)
			}
		}
		listed += int64(len(r.Aggregations.Remotes.Buckets))
		if len(r.Aggregations.Remotes.Buckets) < size || r.Aggregations.Remotes.AfterKey == nil {
			return listed, pages, nil
		}
		after = r.Aggregations.Remotes.AfterKey
	}
}

// FloorQuery is the event step's filter written the plain way, with no
// measuring: action, window, facing devices and ports, and every indicator
// as terms (chunked under index.max_terms_count). A store-side _count with
// it is the floor a benchmark compares the detection with.
func (s *Source) FloorQuery(ctx context.Context, q connectors.EventQuery) (json.RawMessage, error) {
	index := s.cfg.NetworkEventsIndex
	m, lim, err := s.mappingOf(ctx, index)
	if err != nil {
		return nil, err
	}
	filter, arrs, _ := baseEventFilter(eventPlanInput{
		profile: s.profile, maps: m, lim: lim, from: q.From, to: q.To, facing: q.Facing,
	})
	var remote []any
	if q.Indicators != nil {
		remote = make([]any, len(arrs))
		for i, a := range s.profile.Arrangements {
			plan := m.plan(a.RemoteIP)
			vals, _, ok := indicatorTerms(q.Indicators, plan, q.Indicators.Len())
			if !ok {
				return nil, fmt.Errorf("floor query: the indicators cannot be written as terms on %s", a.RemoteIP)
			}
			if remote[i], ok = termsClauseStrings(a.RemoteIP, plan, vals, lim.MaxTerms); !ok {
				return nil, fmt.Errorf("floor query: %s is analysed text", a.RemoteIP)
			}
		}
	}
	return JSON(eventQuery(filter, arrs, remote, nil)), nil
}
