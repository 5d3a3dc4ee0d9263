package cluster

import (
	"context"
	"time"

	"github.com/edgewatch/edgewatch/connectors"
	"github.com/edgewatch/edgewatch/correlation"
)

var _ connectors.EventPreparer = (*Source)(nil)

// prepareMaxRemotes bounds the remote addresses a preparation may hand to
// the fetch: its listing is not narrowed by the facing devices and ports,
// so on a wide window it can find far more indicator addresses than the
// facing step leaves. Above it, NetworkEvents lists again with the facing
// filter.
const prepareMaxRemotes = 20000

// preparation is an event step's listing run before the facing set is
// known (PrepareEvents).
type preparation struct {
	from, to time.Time
	ind      *correlation.IndicatorSet
	cancel   context.CancelFunc
	done     chan struct{}

	// Set before done closes.
	plan EventPlan
	ws   *matching // nil with StrategyEmpty
	ok   bool      // usable
}

// PrepareEvents starts, in the background, the part of the event step that
// does not need the facing set: it measures the window's inbound events and
// lists the remote addresses that are indicators, over every device and
// port (the same strategies as NetworkEvents). A NetworkEvents call with the
// same From, To and indicator set then waits for it and only fetches: the
// listing, the costliest search of the step, runs while the facing step
// reads DeviceInfo. The listing is a superset of what the facing filter
// would leave and the final query keeps the facing filter, so the events
// read are the same either way. q.Facing is ignored.
//
// stop cancels the preparation if it still runs and waits for it to end;
// call it once the event step is over (or failed).
func (s *Source) PrepareEvents(ctx context.Context, q connectors.EventQuery) (stop func()) {
	if q.Indicators == nil || q.Indicators.Len() == 0 {
		return func() {}
	}
	pctx, cancel := context.WithCancel(ctx)
	p := &preparation{from: q.From, to: q.To, ind: q.Indicators, cancel: cancel, done: make(chan struct{})}
	s.mu.Lock()
	s.prep = p
	s.mu.Unlock()
	// The indicator terms are built here, before the caller starts the
	// facing step: built alongside it they took three times as long (two
	// cores shared with the facing step's decoding and, on a single-host
	// install, with the cluster), and the listing they feed is the longest
	// path of the detection.
	index := s.cfg.NetworkEventsIndex
	var pre *indicatorFilter
	if m, lim, err := s.mappingOf(pctx, index); err == nil {
		pre = s.indicatorFilter(m, lim, q.Indicators)
	}
	go func() {
		defer close(p.done)
		p.run(pctx, s, q, pre)
	}()
	return func() {
		cancel()
		<-p.done
		s.mu.Lock()
		if s.prep == p {
			s.prep = nil
		}
		s.mu.Unlock()
	}
}

func (p *preparation) run(ctx context.Context, s *Source, q connectors.EventQuery, pre *indicatorFilter) {
	index := s.cfg.NetworkEventsIndex
	m, lim, err := s.mappingOf(ctx, index)
	if err != nil {
		s.log.Debug("cluster event step: preparation failed", "index", index, "err", err)
		return
	}
	p.plan = EventPlan{BaseHits: -1, DistinctRemotes: -1, MaxTerms: lim.MaxTerms, Indicators: q.Indicators.Len()}
	filter, arrs, _ := baseEventFilter(eventPlanInput{profile: s.profile, maps: m, lim: lim, from: q.From, to: q.To})
	ws, err := s.listMatching(ctx, index, m, lim, filter, arrs, q.Indicators, &p.plan, pre)
	switch {
	case err != nil:
		s.log.Debug("cluster event step: preparation failed", "index", index, "err", err)
		return
	case ws != nil && ws.noPushdown:
		return // nothing to prepare: the fetch filters remotes client-side
	case p.plan.MatchingRemotes > prepareMaxRemotes:
		s.log.Debug("cluster event step: preparation listed too many remotes", "index", index, "remotes", p.plan.MatchingRemotes)
		return
	}
	p.ws, p.ok = ws, true
}

// preparedFor returns the preparation for q's window and indicators, if any.
func (s *Source) preparedFor(q connectors.EventQuery) *preparation {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.prep
	if p == nil || p.ind != q.Indicators || !p.from.Equal(q.From) || !p.to.Equal(q.To) {
		return nil
	}
	return p
}

// wait waits for the preparation; ok is false when it failed, was
// cancelled or cannot be used.
func (p *preparation) wait(ctx context.Context) (*preparation, bool) {
	select {
	case <-p.done:
		return p, p.ok
	case <-ctx.Done():
		return p, false
	}
}

// planPrepared completes plan from a preparation: the listing's figures
// (measured over the window's inbound events on every device), and the
// final query with the facing filter.
func (s *Source) planPrepared(plan EventPlan, filter []any, arrs []arrClause, p *preparation) (EventPlan, jsonObj, error) {
	pp := p.plan
	pp.Notes = append(append(plan.Notes, pp.Notes...), "remotes listed over the whole window while the facing step ran")
	if p.ws == nil {
		return pp, nil, nil // StrategyEmpty: no inbound event or no indicator remote in the window
	}
	return pp, eventQuery(filter, arrs, p.ws.final, p.ws.skip), nil
}
