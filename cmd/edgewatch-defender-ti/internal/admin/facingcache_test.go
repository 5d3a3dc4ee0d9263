package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/incremental"
	"github.com/edgewatch/edgewatch/connectors"
	"github.com/edgewatch/edgewatch/connectors/conformance"
	"github.com/edgewatch/edgewatch/correlation"
)

// rowStore is a DeviceInfo table whose rows can be added at any time (as a
// cluster indexes them); it passes every row of a query and records the
// queries.
type rowStore struct {
	mu    sync.Mutex
	rows  []correlation.DeviceInfo
	reads []connectors.FacingQuery
	fail  error
}

func (r *rowStore) add(t time.Time, dev string, port int, facing bool, id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rows = append(r.rows, correlation.DeviceInfo{Time: t, DeviceID: dev, IsInternetFacing: facing,
		Facing: correlation.InternetFacing{LocalPort: port}, Loc: correlation.Location{Source: "di", DocID: id}})
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

func (r *rowStore) lastRead() connectors.FacingQuery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reads[len(r.reads)-1]
}

// oneShot is the facing set of every row of [from, to): what a read
// without state gives (ties: the later document id, as cluster.LaterRow).
func (r *rowStore) oneShot(from, to time.Time) []string {
	r.mu.Lock()
	rows := slices.Clone(r.rows)
	r.mu.Unlock()
	slices.SortFunc(rows, func(a, b correlation.DeviceInfo) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return cmpString(a.Loc.DocID, b.Loc.DocID)
	})
	var b correlation.FacingBuilder
	for i := range rows {
		if !rows[i].Time.Before(from) && rows[i].Time.Before(to) {
			b.Add(&rows[i])
		}
	}
	return facingIDs(b.Build())
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func facingIDs(fs *correlation.FacingSet) []string {
	var out []string
	for fp := range fs.All() {
		out = append(out, fmt.Sprintf("%s:%d %s", fp.DeviceID, fp.Port, fp.Row.Loc.DocID))
	}
	return out
}

// viaState runs src's facing step over [from, to) and builds the set.
func viaState(t *testing.T, src connectors.Source, from, to time.Time) ([]string, connectors.Report) {
	t.Helper()
	fs, rep := conformance.ReadFacing(t, src, from, to)
	return facingIDs(fs), rep
}

// sameAsOneShot checks src's facing set for the look-back ending at to
// against a read of every row.
func sameAsOneShot(t *testing.T, src connectors.Source, st *rowStore, to time.Time, what string) connectors.Report {
	t.Helper()
	got, rep := viaState(t, src, to.Add(-stLook), to)
	if want := st.oneShot(to.Add(-stLook), to); !slices.Equal(got, want) {
		t.Fatalf("%s: state %v\nwant %v", what, got, want)
	}
	return rep
}

var (
	stBase    = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	stLook    = 30 * 24 * time.Hour
	stOverlap = 10 * time.Minute
	stScope   = FacingScope{Source: "opensearch|http://x|di|advanced-hunting", Detection: "det", Overlap: stOverlap}
)

// seeded is a rowStore with seedRows, a state store and a Source over its
// state, after the first run (window ending at stBase).
func seeded(t *testing.T) (*rowStore, *incremental.MemStore, connectors.Source) {
	t.Helper()
	st := &rowStore{}
	seedRows(st)
	store := &incremental.MemStore{}
	src := (&FacingCache{}).Wrap(stScope, st, store)
	viaState(t, src, stBase.Add(-stLook), stBase)
	return st, store, src
}

// seedRows is a month of DeviceInfo before stBase: seven devices reporting
// port 443 every 18 hours, one of which stops facing, and a tie.
func seedRows(st *rowStore) {
	for i := range 40 {
		dev := fmt.Sprintf("dev%d", i%7)
		facing := !(dev == "dev3" && i > 30) // dev3 stops facing
		st.add(stBase.Add(-stLook).Add(time.Duration(i)*18*time.Hour), dev, 443, facing, fmt.Sprintf("r%02d", i))
	}
	at := stBase.Add(-2 * time.Hour)
	st.add(at, "dev-tie", 22, true, "tie-a")
	st.add(at, "dev-tie", 22, false, "tie-b") // the larger id wins: not facing
}

// Scheduled windows, five minutes apart, with rows arriving on time, late
// within the overlap and later than that: the state's set equals a full
// read's, except for the row that arrived later than the overlap (the
// documented limit), which Rebuild then picks up; each run after the first
// reads only [watermark − overlap, To).
func TestFacingStateFollowsWindows(t *testing.T) {
	st := &rowStore{}
	seedRows(st)
	store := &incremental.MemStore{}
	now := stBase
	cache := &FacingCache{Now: func() time.Time { return now }}
	src := cache.Wrap(stScope, st, store)
	var prevTo time.Time
	for step := range 14 {
		to := stBase.Add(time.Duration(step) * 5 * time.Minute)
		from := to.Add(-stLook)
		switch step {
		case 3:
			st.add(to.Add(-time.Minute), "dev-new", 8443, true, "new")
		case 5:
			st.add(to.Add(-8*time.Minute), "dev-late-ok", 3389, true, "late-ok") // within the overlap
			st.add(to.Add(-40*time.Minute), "dev-too-late", 3389, true, "too-late")
		case 7:
			st.add(to.Add(-time.Minute), "dev1", 443, false, "dev1-stops") // a port stops facing
			st.add(to.Add(-time.Minute), "dev-tie", 22, true, "tie-c")     // and one starts again
		}
		got, rep := viaState(t, src, from, to)
		want := st.oneShot(from, to)
		if step >= 5 {
			want = slices.DeleteFunc(want, func(s string) bool { return s == "dev-too-late:3389 too-late" })
		}
		if !slices.Equal(got, want) {
			t.Fatalf("step %d: state %v\nwant %v", step, got, want)
		}
		if step > 0 {
			if q := st.lastRead(); !q.From.Equal(prevTo.Add(-stOverlap)) || !q.To.Equal(to) {
				t.Errorf("step %d read [%s, %s), want [%s, %s)", step, q.From, q.To, prevTo.Add(-stOverlap), to)
			}
			if int(rep.Read) > 3 {
				t.Errorf("step %d read %d rows", step, rep.Read)
			}
		}
		prevTo = to
		now = now.Add(5 * time.Minute)
	}
	// Rebuild reads every row again: the very late row is in.
	rb := &FacingCache{Rebuild: time.Hour, Now: func() time.Time { return now.Add(2 * time.Hour) }}
	sameAsOneShot(t, rb.Wrap(stScope, st, store), st, prevTo.Add(5*time.Minute), "after a rebuild")
}

// A second process (or a restarted one) picks the state up from the store:
// the same set, reading only the rows since the watermark.
func TestFacingStateSharedThroughStore(t *testing.T) {
	st, store, _ := seeded(t)
	to := stBase
	for i := range 3 {
		to = to.Add(5 * time.Minute)
		st.add(to.Add(-time.Minute), fmt.Sprintf("dev-b%d", i), 443, true, fmt.Sprintf("b%d", i))
		b := (&FacingCache{}).Wrap(stScope, st, store) // a fresh process every time
		rep := sameAsOneShot(t, b, st, to, fmt.Sprintf("run %d", i))
		if q := st.lastRead(); q.To.Sub(q.From) > stOverlap+5*time.Minute || rep.Read > int64(i+1) {
			t.Fatalf("run %d read [%s, %s): %d rows", i, q.From, q.To, rep.Read)
		}
	}
	// Another detection over the same data keeps a state of its own.
	other := stScope
	other.Detection = "other"
	if facingStateID(other) == facingStateID(stScope) {
		t.Fatal("two detections share a state id")
	}
}

// Windows the state cannot answer are read directly and leave it alone.
func TestFacingStateBypass(t *testing.T) {
	st, store, src := seeded(t)
	head := func() json.RawMessage {
		raw, _, err := store.Get(context.Background(), facingStateID(stScope))
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	before := head()
	for _, w := range []struct {
		name     string
		from, to time.Time
	}{
		{"ends before the watermark (retro-hunt)", stBase.Add(-stLook - 24*time.Hour), stBase.Add(-time.Hour)},
		{"starts before the state", stBase.Add(-stLook - time.Hour), stBase.Add(time.Hour)},
	} {
		t.Run(w.name, func(t *testing.T) {
			got, _ := viaState(t, src, w.from, w.to)
			if want := st.oneShot(w.from, w.to); !slices.Equal(got, want) {
				t.Fatalf("%v\nwant %v", got, want)
			}
			if q := st.lastRead(); !q.From.Equal(w.from) || !q.To.Equal(w.to) {
				t.Errorf("read [%s, %s), want the whole window", q.From, q.To)
			}
			if string(head()) != string(before) {
				t.Error("the state changed")
			}
		})
	}
}

// A state the store cannot give or take: the run still gets the right set.
func TestFacingStateStoreFailures(t *testing.T) {
	boom := errors.New("state index unavailable")
	tests := []struct {
		name string
		fail func(op, id string) error
	}{
		{"head unreadable", func(op, id string) error {
			if op == "get" {
				return boom
			}
			return nil
		}},
		{"head not written", func(op, id string) error {
			if op == "update" && id == facingStateID(stScope) {
				return boom
			}
			return nil
		}},
		{"a bucket not written", func(op, id string) error {
			if (op == "update" || op == "create") && id != facingStateID(stScope) {
				return boom
			}
			return nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, store, src := seeded(t)
			to := stBase
			store.Fail = tt.fail
			for i := range 3 {
				to = to.Add(5 * time.Minute)
				st.add(to.Add(-time.Minute), "dev-f", 443+i, true, fmt.Sprintf("f%d", i))
				sameAsOneShot(t, src, st, to, fmt.Sprintf("run %d", i))
			}
			store.Fail = nil
			sameAsOneShot(t, (&FacingCache{}).Wrap(stScope, st, store), st, to.Add(5*time.Minute), "after recovery")
		})
	}
}

// A run that died between writing a bucket and its head leaves a bucket
// newer than the head: the next run rebuilds instead of trusting it.
func TestFacingStateTornIsRebuilt(t *testing.T) {
	st, store, src := seeded(t)
	to := stBase
	// The next run writes its buckets and dies before the head.
	store.Fail = func(op, id string) error {
		if id == facingStateID(stScope) && op == "update" {
			return errors.New("killed")
		}
		return nil
	}
	to = to.Add(5 * time.Minute)
	st.add(to.Add(-time.Minute), "dev1", 443, false, "dev1-stops")
	viaState(t, src, to.Add(-stLook), to)
	store.Fail = nil
	// A fresh process, asked for the earlier window again (a retried
	// window): the torn state must not leak the later row into it.
	n := len(st.reads)
	sameAsOneShot(t, (&FacingCache{}).Wrap(stScope, st, store), st, stBase, "the retried window")
	if q := st.reads[n]; !q.From.Equal(stBase.Add(-stLook)) {
		t.Errorf("read [%s, %s): want a rebuild from the window's start", q.From, q.To)
	}
}
