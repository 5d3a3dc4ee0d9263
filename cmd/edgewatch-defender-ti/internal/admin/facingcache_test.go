package admin

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/connectors"
	"github.com/edgewatch/edgewatch/correlation"
)

// rowStore is a DeviceInfo table whose rows can be added at any time; it
// counts the rows each read returns.
type rowStore struct {
	mu    sync.Mutex
	rows  []correlation.DeviceInfo
	reads []connectors.FacingQuery
	fail  error
}

func (r *rowStore) add(t time.Time, dev string, port int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rows = append(r.rows, correlation.DeviceInfo{Time: t, DeviceID: dev, IsInternetFacing: true,
		Facing: correlation.InternetFacing{LocalPort: port}, Loc: correlation.Location{DocID: fmt.Sprintf("%s-%d-%d", dev, t.Unix(), port)}})
}

func (r *rowStore) DeviceInfo(_ context.Context, q connectors.FacingQuery, fn func(*correlation.DeviceInfo) error) (connectors.Report, error) {
	r.mu.Lock()
	rows := append([]correlation.DeviceInfo(nil), r.rows...)
	r.reads = append(r.reads, q)
	fail := r.fail
	r.mu.Unlock()
	if fail != nil {
		return connectors.Report{}, fail
	}
	var rep connectors.Report
	for i := range rows {
		if rows[i].Time.Before(q.From) || !rows[i].Time.Before(q.To) {
			continue
		}
		rep.Read++
		if err := fn(&rows[i]); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func (r *rowStore) NetworkEvents(context.Context, connectors.EventQuery, func(*correlation.NetworkEvent) error) (connectors.Report, error) {
	return connectors.Report{}, nil
}

func collectRows(t *testing.T, src connectors.Source, from, to time.Time) []string {
	t.Helper()
	var out []string
	rep, err := src.DeviceInfo(context.Background(), connectors.FacingQuery{From: from, To: to}, func(d *correlation.DeviceInfo) error {
		out = append(out, d.Loc.DocID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if int(rep.Read) != len(out) {
		t.Fatalf("Read %d, rows %d", rep.Read, len(out))
	}
	sort.Strings(out)
	return out
}

func TestFacingCache(t *testing.T) {
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	look := 30 * 24 * time.Hour
	now := base
	clock := func() time.Time { return now }

	st := &rowStore{}
	for i := range 40 { // a row every 18h over the month before
		st.add(base.Add(-look).Add(time.Duration(i)*18*time.Hour), fmt.Sprintf("dev%d", i%7), 443)
	}
	cache := &FacingCache{Now: clock}
	src := cache.Wrap("k", st)

	// Advancing windows: every answer equals a direct read.
	for step := range 12 {
		to := base.Add(time.Duration(step) * time.Hour)
		from := to.Add(-look)
		if step == 5 {
			st.add(to.Add(-30*time.Minute), "dev-new", 8443) // arrives on time
		}
		if step == 8 {
			st.add(to.Add(-4*time.Hour), "dev-verylate", 22) // 4h late: beyond the 1h overlap
			st.add(to.Add(-90*time.Minute), "dev-late-ok", 22)
		}
		got := collectRows(t, src, from, to)
		want := collectRows(t, st, from, to)
		if step == 8 || (step > 8 && now.Sub(base) < time.Hour) {
			// The 4h-late row is missed until the next full read.
			want = without(want, "dev-verylate-")
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("step %d: cached %v\ndirect %v", step, got, want)
		}
		now = now.Add(5 * time.Minute)
	}
	// After MaxAge a full read picks the late row up.
	now = base.Add(2 * time.Hour)
	to := base.Add(12 * time.Hour)
	if got, want := collectRows(t, src, to.Add(-look), to), collectRows(t, st, to.Add(-look), to); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after refresh: %v\nwant %v", got, want)
	}

	// Reads went to the store as one full read plus small deltas.
	st.mu.Lock()
	var full, delta int
	for _, q := range st.reads {
		if q.To.Sub(q.From) > 24*time.Hour {
			full++
		} else {
			delta++
		}
	}
	st.mu.Unlock()
	t.Logf("store reads: %d full (incl. the direct comparisons), %d deltas", full, delta)
	if delta < 10 {
		t.Fatalf("only %d delta reads: the cache did not serve the steady state", delta)
	}
}

func without(rows []string, prefix string) []string {
	var out []string
	for _, r := range rows {
		if len(r) < len(prefix) || r[:len(prefix)] != prefix {
			out = append(out, r)
		}
	}
	return out
}

func TestFacingCacheBypassAndErrors(t *testing.T) {
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	st := &rowStore{}
	for i := range 10 {
		st.add(base.Add(-time.Duration(i)*24*time.Hour), "dev", 443)
	}
	cache := &FacingCache{}
	src := cache.Wrap("k", st)
	collectRows(t, src, base.Add(-5*24*time.Hour), base)
	n := len(st.reads)
	// A backfill reaching further back goes to the store, in full.
	if got := collectRows(t, src, base.Add(-9*24*time.Hour), base.Add(-3*24*time.Hour)); len(got) != 6 || len(st.reads) != n+1 {
		t.Fatalf("backfill rows %v reads %d", got, len(st.reads)-n)
	}
	// A store error fails the read and empties the cache.
	st.fail = errors.New("cluster down")
	if _, err := src.DeviceInfo(context.Background(), connectors.FacingQuery{From: base.Add(-5 * 24 * time.Hour), To: base.Add(time.Hour)}, func(*correlation.DeviceInfo) error { return nil }); err == nil {
		t.Fatal("error swallowed")
	}
	st.fail = nil
	if got := collectRows(t, src, base.Add(-5*24*time.Hour), base.Add(time.Hour)); len(got) != 6 {
		t.Fatalf("after the error: %v", got)
	}
	// Too many rows: not cached, still answered.
	small := (&FacingCache{MaxRows: 3}).Wrap("k", st)
	if got := collectRows(t, small, base.Add(-9*24*time.Hour), base.Add(time.Hour)); len(got) != 10 {
		t.Fatalf("over MaxRows: %v", got)
	}
}
