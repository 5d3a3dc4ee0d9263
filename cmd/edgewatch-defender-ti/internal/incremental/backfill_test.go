package incremental

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/plugin/wire"
)

// blockingRun completes windows at once except the one starting at
// blockAt, which waits for release (or for its context to end).
func blockingRun(blockAt time.Time, entered chan<- struct{}, release <-chan struct{}, ran *atomic.Int64) WindowFunc {
	return func(ctx context.Context, w wire.Window) (wire.WindowStats, error) {
		if w.From.Equal(blockAt) {
			entered <- struct{}{}
			select {
			case <-release:
			case <-ctx.Done():
				return wire.WindowStats{}, ctx.Err()
			}
		}
		ran.Add(1)
		return wire.WindowStats{EventsScanned: 1}, nil
	}
}

// TestBackfillRunsBesideIncrementalRuns: issue 12, item 6. A webhook with
// from = now − 30d ran 43,200 one-minute windows for 271 s under the
// detection's lease and no scheduled run happened meanwhile. A backfill
// now holds its own lease: the incremental run of the same detection takes
// the detection's lease and commits while the backfill is in the middle of
// its windows, from the same serve instance or another one. The backfill
// never writes the checkpoint document and records its progress in its
// own.
func TestBackfillRunsBesideIncrementalRuns(t *testing.T) {
	ctx := context.Background()
	cp := ts("2026-03-02T12:00:00Z")
	cfg := wire.Config{MaxWindow: wire.Duration(time.Minute), MaxBackfill: wire.Duration(31 * 24 * time.Hour)}
	tests := []struct {
		name                        string
		backfillHolder, schedHolder string
	}{
		{"one serve instance", "serve-a", "serve-a"},
		{"two serve instances", "serve-a", "serve-b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := &MemStore{}
			seedCheckpoint(t, store, "d", cp)
			w := wire.Window{From: now0.Add(-30 * 24 * time.Hour).Truncate(time.Minute), To: now0.Truncate(time.Minute)}
			entered, release := make(chan struct{}), make(chan struct{})
			var ran atomic.Int64
			var progress atomic.Int64
			type result struct {
				out *wire.Outcome
				err error
			}
			done := make(chan result, 1)
			go func() {
				out, err := RunIncremental(ctx, Request{Detection: "d", Holder: tc.backfillHolder, Config: cfg, Window: &w, RunID: "bf",
					OnWindow: func(done, total int) { progress.Store(int64(done)<<32 | int64(total)) }},
					blockingRun(w.From.Add(2*time.Minute), entered, release, &ran), store, fixed(now0))
				done <- result{out, err}
			}()
			<-entered // the backfill is in its third window

			bf, err := ReadBackfill(ctx, store, "d")
			if err != nil || bf == nil || bf.State != wire.BackfillRunning || bf.Done != 2 || bf.Total != 43200 {
				t.Fatalf("backfill record while running: %+v %v", bf, err)
			}
			if p := progress.Load(); p>>32 != 2 || p&0xffffffff != 43200 {
				t.Fatalf("OnWindow reported %d of %d", p>>32, p&0xffffffff)
			}
			_, before, _ := store.Get(ctx, CheckpointID("d"))
			sched, err := RunIncremental(ctx, Request{Detection: "d", Holder: tc.schedHolder, Config: cfg}, okRun(new([]wire.Window)), store, fixed(now0))
			if err != nil || sched.Status != wire.StatusSuccess || !sched.CheckpointAfter.Equal(now0.Add(-wire.DefaultDelay)) {
				t.Fatalf("scheduled run during the backfill: %+v %v", sched, err)
			}

			close(release)
			r := <-done
			if r.err != nil || r.out.Status != wire.StatusSuccess || len(r.out.Windows) != 43200 || ran.Load() != 43200 {
				t.Fatalf("backfill: %v status %s, %d windows, %d ran", r.err, r.out.Status, len(r.out.Windows), ran.Load())
			}
			if r.out.Windows[0].Committed || !r.out.CheckpointAfter.IsZero() {
				t.Fatalf("the backfill committed: %+v", r.out.Windows[0])
			}
			raw, after, _ := store.Get(ctx, CheckpointID("d"))
			if after.SeqNo <= before.SeqNo || !checkpointOf(t, store, "d").Equal(sched.CheckpointAfter) {
				t.Fatalf("checkpoint document %s: want the scheduled run's commit", raw)
			}
			if _, v, _ := store.Get(ctx, CheckpointID("d")); v != after {
				t.Fatal("checkpoint document changed after the backfill ended")
			}
			bf, _ = ReadBackfill(ctx, store, "d")
			if bf.State != wire.BackfillDone || bf.Done != 43200 || bf.LastRun == nil || bf.LastRun.Outcome != wire.StatusSuccess {
				t.Fatalf("backfill record at the end: %+v", bf)
			}
			for _, id := range []string{LeaseID("d"), BackfillLeaseID("d")} {
				if _, err := acquireLease(ctx, store, id, "d", "someone-else", time.Minute, now0); err != nil {
					t.Errorf("%s not released: %v", id, err)
				}
			}
		})
	}
}

func TestBackfillLimitsAndCancellation(t *testing.T) {
	ctx := context.Background()
	cp := ts("2026-03-02T12:00:00Z")
	month := wire.Window{From: now0.Add(-30 * 24 * time.Hour), To: now0}

	t.Run("over max_backfill: refused before anything is written", func(t *testing.T) {
		store := &MemStore{}
		out, err := RunIncremental(ctx, Request{Detection: "d", Holder: "h", Window: &month}, okRun(new([]wire.Window)), store, fixed(now0))
		var tooLong *wire.BackfillTooLongError
		if !errors.As(err, &tooLong) || !errors.Is(err, wire.ErrInvalidConfig) || out.Status != wire.StatusFailed {
			t.Fatalf("err %v, outcome %+v", err, out)
		}
		if tooLong.Windows() != 720 || tooLong.Limit.D() != wire.DefaultMaxBackfill {
			t.Errorf("error %+v: want 720 windows over a 7d limit", tooLong)
		}
		if ids, _ := store.List(ctx, ""); len(ids) != 0 {
			t.Errorf("documents written: %v", ids)
		}
	})

	t.Run("two instances never run the same detection's backfills at once", func(t *testing.T) {
		store := &MemStore{}
		w := wire.Window{From: cp.Add(-3 * time.Hour), To: cp}
		entered, release := make(chan struct{}), make(chan struct{})
		var ran atomic.Int64
		done := make(chan *wire.Outcome, 1)
		go func() {
			out, _ := RunIncremental(ctx, Request{Detection: "d", Holder: "serve-a", Window: &w}, blockingRun(w.From, entered, release, &ran), store, fixed(now0))
			done <- out
		}()
		<-entered
		other, err := RunIncremental(ctx, Request{Detection: "d", Holder: "serve-b", Window: &w}, okRun(new([]wire.Window)), store, fixed(now0))
		if err != nil || other.Status != wire.StatusSkipped {
			t.Fatalf("second instance's backfill: %+v %v", other, err)
		}
		close(release)
		if out := <-done; out.Status != wire.StatusSuccess || ran.Load() != 3 {
			t.Fatalf("first backfill %+v", out)
		}
	})

	t.Run("cancelled (shutdown): nothing advances, the lease is released", func(t *testing.T) {
		store := &MemStore{}
		seedCheckpoint(t, store, "d", cp)
		_, before, _ := store.Get(ctx, CheckpointID("d"))
		w := wire.Window{From: cp.Add(-3 * time.Hour), To: cp}
		entered := make(chan struct{})
		var ran atomic.Int64
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan *wire.Outcome, 1)
		go func() {
			out, _ := RunIncremental(cctx, Request{Detection: "d", Holder: "serve-a", Window: &w}, blockingRun(w.From.Add(time.Hour), entered, nil, &ran), store, fixed(now0))
			done <- out
		}()
		<-entered
		cancel()
		out := <-done
		if out.Status != wire.StatusFailed || ran.Load() != 1 || out.Remaining != 1 || !strings.Contains(out.Error, "context canceled") {
			t.Fatalf("cancelled backfill %+v", out)
		}
		if _, after, _ := store.Get(ctx, CheckpointID("d")); after != before || !checkpointOf(t, store, "d").Equal(cp) {
			t.Fatal("the cancelled backfill touched the checkpoint document")
		}
		bf, _ := ReadBackfill(ctx, store, "d")
		if bf == nil || bf.State != wire.BackfillDone || bf.Done != 1 || bf.LastRun == nil || bf.LastRun.Outcome != wire.StatusFailed {
			t.Fatalf("backfill record %+v", bf)
		}
		if _, err := AcquireBackfillLease(ctx, store, "d", "serve-b", time.Minute, now0); err != nil {
			t.Fatalf("backfill lease not released: %v", err)
		}
	})
}
