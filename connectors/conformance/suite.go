package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/connectors"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/correlation"
	"github.com/google/go-cmp/cmp"
)

// Loaded is what a Harness returns.
type Loaded struct {
	Source connectors.Source
	// Dropped names the "_case"s this store shape cannot hold (say, a
	// malformed AdditionalFields text where the profile keeps an object);
	// they are left out of the expectations.
	Dropped []string
	// TimePrecision is the precision the store keeps times at (Elastic's
	// ingest pipeline keeps milliseconds); 0 means exact. Expected times
	// are truncated to it.
	TimePrecision time.Duration
}

// Harness loads ds into one Source implementation. It registers its own
// cleanup with t.
type Harness func(t *testing.T, ds Dataset) Loaded

// planner is implemented by sources that report how their event step ran
// (cluster.Source).
type planner interface {
	LastEventPlan() cluster.EventPlan
}

// facingPlanner is implemented by sources that report how their facing
// step ran (cluster.Source).
type facingPlanner interface {
	LastFacingPlan() cluster.FacingPlan
}

// Run checks a Source implementation against the Standard dataset.
func Run(t *testing.T, h Harness) {
	t.Helper()
	ds, exp := Standard()
	l := h(t, ds)
	if l.Source == nil {
		t.Fatal("harness returned no Source")
	}
	exp = exp.without(ds, l.Dropped)
	r := &runner{t: t, src: l.Source, exp: exp, prec: l.TimePrecision}
	ctx := context.Background()

	var facing *correlation.FacingSet
	t.Run("facing set", func(t *testing.T) { facing = r.facing(ctx, t) })
	if facing == nil {
		t.Fatal("facing step failed; the event checks need it")
	}
	t.Run("events in window", func(t *testing.T) { r.window(ctx, t) })
	small, err := IndicatorSet(exp.Small)
	if err != nil {
		t.Fatal(err)
	}
	large, err := IndicatorSet(exp.Large)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("unfiltered read through the matcher", func(t *testing.T) {
		got := r.matches(ctx, t, connectors.EventQuery{From: exp.From, To: exp.To}, facing, small)
		r.sameIDs(t, "matches", exp.Matches, got)
	})
	for _, tc := range []struct {
		name     string
		set      *correlation.IndicatorSet
		strategy string
	}{
		{"push-down, few indicators", small, cluster.StrategyIndicatorsFirst},
		{"push-down, more indicators than window remotes", large, cluster.StrategyEventsFirst},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := r.matches(ctx, t, connectors.EventQuery{From: exp.From, To: exp.To, Facing: facing, Indicators: tc.set}, facing, tc.set)
			r.sameIDs(t, "matches", exp.Matches, got)
			if p, ok := r.src.(planner); ok {
				plan := p.LastEventPlan()
				t.Logf("event plan: %+v", plan)
				if plan.Strategy != tc.strategy {
					t.Errorf("strategy = %q, want %q (distinct remotes %d, indicators %d)",
						plan.Strategy, tc.strategy, plan.DistinctRemotes, plan.Indicators)
				}
			}
		})
	}
	// A Source that prepares its event step before the facing set is known
	// must read the same events with the preparation as without it.
	if prep, ok := r.src.(connectors.EventPreparer); ok {
		for _, tc := range []struct {
			name string
			set  *correlation.IndicatorSet
		}{{"prepared push-down, few indicators", small}, {"prepared push-down, more indicators than window remotes", large}} {
			t.Run(tc.name, func(t *testing.T) {
				stop := prep.PrepareEvents(ctx, connectors.EventQuery{From: exp.From, To: exp.To, Indicators: tc.set})
				defer stop()
				got := r.matches(ctx, t, connectors.EventQuery{From: exp.From, To: exp.To, Facing: facing, Indicators: tc.set}, facing, tc.set)
				r.sameIDs(t, "matches", exp.Matches, got)
				if p, ok := r.src.(planner); ok {
					t.Logf("event plan: %+v", p.LastEventPlan())
				}
			})
		}
	}
	t.Run("decoded fields", func(t *testing.T) { r.fields(ctx, t, facing, small) })
	t.Run("empty facing set reads nothing", func(t *testing.T) {
		var empty correlation.FacingBuilder
		n := 0
		_, err := r.src.NetworkEvents(ctx, connectors.EventQuery{From: exp.From, To: exp.To, Facing: empty.Build(), Indicators: small},
			func(*correlation.NetworkEvent) error { n++; return nil })
		if err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%d events passed with an empty facing set", n)
		}
	})
	t.Run("callback error stops the read", func(t *testing.T) {
		stop := errors.New("stop here")
		n := 0
		_, err := r.src.NetworkEvents(ctx, connectors.EventQuery{From: exp.From, To: exp.To},
			func(*correlation.NetworkEvent) error { n++; return stop })
		if !errors.Is(err, stop) {
			t.Errorf("err = %v, want the callback's error", err)
		}
		if n != 1 {
			t.Errorf("callback ran %d times after returning an error, want 1", n)
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := r.src.NetworkEvents(cctx, connectors.EventQuery{From: exp.From, To: exp.To},
			func(*correlation.NetworkEvent) error { return nil })
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
}

// without drops the expectations of cases the store cannot hold.
func (e Expect) without(ds Dataset, dropped []string) Expect {
	if len(dropped) == 0 {
		return e
	}
	drop := map[string]bool{}
	for _, c := range dropped {
		drop[c] = true
	}
	ids := map[string]bool{}
	for _, r := range ds.NetworkEvents {
		if drop[r.Case()] {
			ids[fmt.Sprint(r["ReportId"])] = true
		}
	}
	keep := func(in []string) []string {
		var out []string
		for _, id := range in {
			if !ids[id] {
				out = append(out, id)
			}
		}
		return out
	}
	skips := func(in map[string][]string) map[string][]string {
		out := map[string][]string{}
		for reason, cases := range in {
			for _, c := range cases {
				if !drop[c] {
					out[reason] = append(out[reason], c)
				}
			}
		}
		return out
	}
	e.InWindow, e.Matches = keep(e.InWindow), keep(e.Matches)
	e.DeviceInfoSkips, e.EventSkips = skips(e.DeviceInfoSkips), skips(e.EventSkips)
	return e
}

type runner struct {
	t    *testing.T
	src  connectors.Source
	exp  Expect
	prec time.Duration
}

func (r *runner) trunc(t time.Time) time.Time {
	if r.prec > 0 {
		return t.Truncate(r.prec)
	}
	return t
}

func inWindow(t, from, to time.Time) bool {
	return (from.IsZero() || !t.Before(from)) && (to.IsZero() || t.Before(to))
}

func (r *runner) facing(ctx context.Context, t *testing.T) *correlation.FacingSet {
	var b correlation.FacingBuilder
	rep, err := r.src.DeviceInfo(ctx, connectors.FacingQuery{From: r.exp.FacingFrom, To: r.exp.To}, func(row *correlation.DeviceInfo) error {
		if !inWindow(row.Time, r.exp.FacingFrom, r.exp.To) {
			t.Errorf("DeviceInfo row at %s outside [%s, %s)", row.Time, r.exp.FacingFrom, r.exp.To)
		}
		b.Add(row)
		return nil
	})
	if err != nil {
		t.Fatalf("DeviceInfo: %v", err)
	}
	if p, ok := r.src.(facingPlanner); ok {
		t.Logf("facing plan: %+v", p.LastFacingPlan())
	}
	fs := b.Build()
	var got []string
	for fp := range fs.All() {
		got = append(got, fmt.Sprintf("%s:%d@%s", fp.DeviceID, fp.Port, r.trunc(fp.Row.Time).Format(time.RFC3339Nano)))
	}
	var want []string
	for _, w := range r.exp.Facing {
		head, tsText, _ := strings.Cut(w, "@")
		want = append(want, head+"@"+r.trunc(ts(tsText)).Format(time.RFC3339Nano))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("facing pairs (-want +got):\n%s", diff)
	}
	r.checkSkips(t, "DeviceInfo", rep, r.exp.DeviceInfoSkips)
	return fs
}

func (r *runner) checkSkips(t *testing.T, table string, rep connectors.Report, want map[string][]string) {
	t.Helper()
	got := map[string]int64{}
	for reason, n := range rep.Skipped {
		got[reason] = n
	}
	wantN := map[string]int64{}
	for reason, cases := range want {
		if len(cases) > 0 {
			wantN[reason] = int64(len(cases))
		}
	}
	if diff := cmp.Diff(wantN, got, cmpEmpty()); diff != "" {
		t.Errorf("%s skipped rows by reason (-want +got):\n%s", table, diff)
	}
	for reason, locs := range rep.Examples {
		for _, l := range locs {
			if l.Source == "" || (l.Line <= 0 && l.DocID == "") {
				t.Errorf("%s skip %q: location %+v names no file line or document", table, reason, l)
			}
		}
	}
}

func cmpEmpty() cmp.Option {
	return cmp.FilterValues(func(a, b map[string]int64) bool { return len(a) == 0 && len(b) == 0 }, cmp.Ignore())
}

func (r *runner) window(ctx context.Context, t *testing.T) {
	var inbound []string
	rep, err := r.src.NetworkEvents(ctx, connectors.EventQuery{From: r.exp.From, To: r.exp.To}, func(ev *correlation.NetworkEvent) error {
		if !inWindow(ev.Time, r.exp.From, r.exp.To) {
			t.Errorf("event %s at %s outside [%s, %s)", ev.ReportID, ev.Time.Format(time.RFC3339Nano), r.exp.From, r.exp.To)
		}
		if correlation.IsInboundAccepted(ev.ActionType) {
			inbound = append(inbound, ev.ReportID)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("NetworkEvents: %v", err)
	}
	r.sameIDs(t, "inbound events in the window", r.exp.InWindow, inbound)
	r.checkSkips(t, "DeviceNetworkEvents", rep, r.exp.EventSkips)
}

// matches reads q and puts every event through the matcher.
func (r *runner) matches(ctx context.Context, t *testing.T, q connectors.EventQuery, fs *correlation.FacingSet, ind *correlation.IndicatorSet) []string {
	t.Helper()
	m := correlation.NewMatcher(fs, ind, correlation.MatchOptions{})
	var got []string
	passed := 0
	_, err := r.src.NetworkEvents(ctx, q, func(ev *correlation.NetworkEvent) error {
		passed++
		if _, _, ok := m.Match(ev); ok {
			got = append(got, ev.ReportID)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("NetworkEvents: %v", err)
	}
	t.Logf("%d events passed, %d matched", passed, len(got))
	return got
}

func (r *runner) sameIDs(t *testing.T, what string, want, got []string) {
	t.Helper()
	w, g := slices.Clone(want), slices.Clone(got)
	sortIDs(w)
	sortIDs(g)
	if diff := cmp.Diff(w, g, cmpEmptySlices()); diff != "" {
		t.Errorf("%s by ReportId (-want +got):\n%s", what, diff)
	}
}

func cmpEmptySlices() cmp.Option {
	return cmp.FilterValues(func(a, b []string) bool { return len(a) == 0 && len(b) == 0 }, cmp.Ignore())
}

func sortIDs(ids []string) {
	sort.Slice(ids, func(i, j int) bool {
		a, errA := strconv.Atoi(ids[i])
		b, errB := strconv.Atoi(ids[j])
		if errA == nil && errB == nil {
			return a < b
		}
		return ids[i] < ids[j]
	})
}

// fields checks what the alert needs from two matched events.
func (r *runner) fields(ctx context.Context, t *testing.T, fs *correlation.FacingSet, ind *correlation.IndicatorSet) {
	type got struct {
		Device, Action, Remote string
		LocalPort              int
		Protocol, Process      string
		PID                    int64
		RawHasReport           bool
	}
	seen := map[string]got{}
	m := correlation.NewMatcher(fs, ind, correlation.MatchOptions{})
	_, err := r.src.NetworkEvents(ctx, connectors.EventQuery{From: r.exp.From, To: r.exp.To, Facing: fs, Indicators: ind}, func(ev *correlation.NetworkEvent) error {
		mt, _, ok := m.Match(ev)
		if !ok {
			return nil
		}
		var raw map[string]any
		rawOK := json.Unmarshal(ev.Raw, &raw) == nil && strings.Contains(string(ev.Raw), ev.ReportID)
		seen[ev.ReportID] = got{ev.DeviceID, ev.ActionType, mt.Remote.String(), ev.LocalPort,
			strings.ToLower(ev.Protocol), ev.Process.FileName, ev.Process.PID, rawOK}
		if !strings.EqualFold(ev.DeviceName, ev.DeviceID+".contoso.com") {
			t.Errorf("event %s: DeviceName %q", ev.ReportID, ev.DeviceName)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]got{
		"1001": {"dev-a", correlation.ActionInboundAccepted, tiA, 3389, "tcp", "svchost.exe", 884, true},
		"1002": {"dev-a", correlation.ActionInboundAccepted, tiB, 443, "tcp", "svchost.exe", 884, true},
		"1015": {"dev-c", correlation.ActionInboundAccepted, tiB, 8080, "tcp", "svchost.exe", 884, true},
	}
	for id, w := range want {
		if !slices.Contains(r.exp.Matches, id) {
			continue
		}
		if diff := cmp.Diff(w, seen[id]); diff != "" {
			t.Errorf("event %s (-want +got):\n%s", id, diff)
		}
	}
}
