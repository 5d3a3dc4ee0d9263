package incremental

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/plugin/wire"
)

var now0 = ts("2026-03-02T12:06:00Z")

func okRun(calls *[]wire.Window) WindowFunc {
	var mu sync.Mutex
	return func(_ context.Context, w wire.Window) (wire.WindowStats, error) {
		mu.Lock()
		*calls = append(*calls, w)
		mu.Unlock()
		return wire.WindowStats{EventsScanned: 5, AlertsCreated: 1}, nil
	}
}

func seedCheckpoint(t *testing.T, store StateStore, det string, cp time.Time) {
	t.Helper()
	body, _ := json.Marshal(CheckpointDoc{Type: "checkpoint", Detection: det, Checkpoint: cp})
	if _, err := store.Create(context.Background(), CheckpointID(det), body); err != nil {
		t.Fatal(err)
	}
}

func checkpointOf(t *testing.T, store StateStore, det string) time.Time {
	t.Helper()
	doc, _, err := ReadCheckpoint(context.Background(), store, det)
	if err != nil {
		t.Fatal(err)
	}
	return doc.Checkpoint
}

func TestRunIncremental(t *testing.T) {
	ctx := context.Background()
	cp := ts("2026-03-02T12:00:00Z")

	t.Run("normal run advances the checkpoint and releases the lease", func(t *testing.T) {
		store := &MemStore{}
		seedCheckpoint(t, store, "d", cp)
		var calls []wire.Window
		out, err := RunIncremental(ctx, Request{Detection: "d", Holder: "h", RunID: "r1"}, okRun(&calls), store, fixed(now0))
		if err != nil || out.Status != wire.StatusSuccess {
			t.Fatalf("%v %+v", err, out)
		}
		if len(calls) != 1 || calls[0] != win("2026-03-02T11:50:00Z", "2026-03-02T12:05:00Z") {
			t.Fatalf("windows %v", calls)
		}
		if got := checkpointOf(t, store, "d"); !got.Equal(ts("2026-03-02T12:05:00Z")) {
			t.Fatalf("checkpoint %s", got)
		}
		if !out.CheckpointBefore.Equal(cp) || out.LagSeconds != 60 || !out.CaughtUp || out.AlertsCreated != 1 || out.EventsScanned != 5 {
			t.Fatalf("outcome %+v", out)
		}
		// Lease released: another holder gets it at once.
		if _, err := AcquireLease(ctx, store, "d", "other", time.Minute, now0); err != nil {
			t.Fatalf("lease not released: %v", err)
		}
		doc, _, _ := ReadCheckpoint(ctx, store, "d")
		if doc.LastRun == nil || doc.LastRun.RunID != "r1" || doc.LastRun.Outcome != wire.StatusSuccess || doc.LastRun.Holder != "h" {
			t.Fatalf("last run %+v", doc.LastRun)
		}
	})

	t.Run("lease held by a live runner: skipped, nothing runs", func(t *testing.T) {
		store := &MemStore{}
		if _, err := AcquireLease(ctx, store, "d", "other", time.Minute, now0); err != nil {
			t.Fatal(err)
		}
		var calls []wire.Window
		out, err := RunIncremental(ctx, Request{Detection: "d", Holder: "h"}, okRun(&calls), store, fixed(now0))
		if err != nil || out.Status != wire.StatusSkipped || len(calls) != 0 {
			t.Fatalf("%v %+v calls=%v", err, out, calls)
		}
	})

	t.Run("same holder re-takes its own lease (restarted plugin)", func(t *testing.T) {
		store := &MemStore{}
		if _, err := AcquireLease(ctx, store, "d", "serve-1", time.Minute, now0); err != nil {
			t.Fatal(err)
		}
		var calls []wire.Window
		out, err := RunIncremental(ctx, Request{Detection: "d", Holder: "serve-1", Config: wire.Config{InitialLookback: wire.Duration(time.Hour)}}, okRun(&calls), store, fixed(now0))
		if err != nil || out.Status != wire.StatusSuccess || len(calls) != 1 {
			t.Fatalf("%v %+v", err, out)
		}
	})

	t.Run("clock skew: noop, checkpoint untouched", func(t *testing.T) {
		store := &MemStore{}
		seedCheckpoint(t, store, "d", ts("2026-03-02T12:30:00Z"))
		var calls []wire.Window
		out, err := RunIncremental(ctx, Request{Detection: "d", Holder: "h"}, okRun(&calls), store, fixed(now0))
		if err != nil || out.Status != wire.StatusNoop || len(calls) != 0 {
			t.Fatalf("%v %+v", err, out)
		}
		if got := checkpointOf(t, store, "d"); !got.Equal(ts("2026-03-02T12:30:00Z")) {
			t.Fatalf("checkpoint moved to %s", got)
		}
		if out.LagSeconds >= 0 {
			t.Fatalf("lag %v, want negative (checkpoint ahead of this clock)", out.LagSeconds)
		}
	})

	t.Run("cancel mid-window: abandoned, not committed, lease released", func(t *testing.T) {
		store := &MemStore{}
		seedCheckpoint(t, store, "d", cp)
		cctx, cancel := context.WithCancel(ctx)
		out, err := RunIncremental(cctx, Request{Detection: "d", Holder: "h"}, func(ctx context.Context, w wire.Window) (wire.WindowStats, error) {
			cancel() // SIGTERM arrives mid-window
			<-ctx.Done()
			return wire.WindowStats{AlertsCreated: 3}, ctx.Err()
		}, store, fixed(now0))
		if !errors.Is(err, context.Canceled) || out.Status != wire.StatusFailed {
			t.Fatalf("%v %+v", err, out)
		}
		if got := checkpointOf(t, store, "d"); !got.Equal(cp) {
			t.Fatalf("checkpoint advanced to %s", got)
		}
		if len(out.Windows) != 1 || out.Windows[0].Committed {
			t.Fatalf("windows %+v", out.Windows)
		}
		if _, err := AcquireLease(ctx, store, "d", "other", time.Minute, now0); err != nil {
			t.Fatalf("lease not released after cancel: %v", err)
		}
	})

	t.Run("cancel after a window finished: that window commits, no further window starts", func(t *testing.T) {
		store := &MemStore{}
		seedCheckpoint(t, store, "d", cp)
		cctx, cancel := context.WithCancel(ctx)
		var n int
		out, err := RunIncremental(cctx, Request{Detection: "d", Holder: "h"}, func(ctx context.Context, w wire.Window) (wire.WindowStats, error) {
			n++
			cancel()
			return wire.WindowStats{}, nil
		}, store, fixed(ts("2026-03-02T15:00:00Z")))
		if err == nil || n != 1 {
			t.Fatalf("err=%v windows run=%d", err, n)
		}
		if got := checkpointOf(t, store, "d"); !got.Equal(ts("2026-03-02T12:50:00Z")) {
			t.Fatalf("checkpoint %s, want end of the finished window", got)
		}
		if out.Remaining != 3 || out.CaughtUp {
			t.Fatalf("remaining %d caught up %v", out.Remaining, out.CaughtUp)
		}
	})

	t.Run("checkpoint moved by another runner: commit refused", func(t *testing.T) {
		store := &MemStore{}
		seedCheckpoint(t, store, "d", cp)
		other := ts("2026-03-02T12:05:00Z")
		out, err := RunIncremental(ctx, Request{Detection: "d", Holder: "h"}, func(ctx context.Context, w wire.Window) (wire.WindowStats, error) {
			_, v, _ := store.Get(ctx, CheckpointID("d"))
			body, _ := json.Marshal(CheckpointDoc{Type: "checkpoint", Detection: "d", Checkpoint: other})
			if _, err := store.Update(ctx, CheckpointID("d"), body, v); err != nil {
				t.Error(err)
			}
			return wire.WindowStats{}, nil
		}, store, fixed(now0))
		if !errors.Is(err, ErrCheckpointMoved) || out.Status != wire.StatusFailed {
			t.Fatalf("%v %+v", err, out)
		}
		if got := checkpointOf(t, store, "d"); !got.Equal(other) {
			t.Fatalf("checkpoint %s, want the other runner's %s", got, other)
		}
	})

	t.Run("lease lost mid-run cancels the window", func(t *testing.T) {
		store := &MemStore{}
		seedCheckpoint(t, store, "d", cp)
		out, err := RunIncremental(ctx, Request{Detection: "d", Holder: "h", Config: wire.Config{LeaseTTL: wire.Duration(time.Second)}},
			func(ctx context.Context, w wire.Window) (wire.WindowStats, error) {
				// Another runner overwrites the lease (as if ours had expired).
				_, v, _ := store.Get(ctx, LeaseID("d"))
				body, _ := json.Marshal(wire.LeaseDoc{Type: "lease", Detection: "d", Holder: "thief", Expires: now0.Add(time.Hour)})
				if _, err := store.Update(ctx, LeaseID("d"), body, v); err != nil {
					t.Error(err)
				}
				select {
				case <-ctx.Done():
					return wire.WindowStats{}, ctx.Err()
				case <-time.After(5 * time.Second):
					return wire.WindowStats{}, errors.New("not cancelled after losing the lease")
				}
			}, store, fixed(now0))
		if !errors.Is(err, ErrLeaseLost) || out.Status != wire.StatusFailed {
			t.Fatalf("%v %+v", err, out)
		}
		if got := checkpointOf(t, store, "d"); !got.Equal(cp) {
			t.Fatalf("checkpoint advanced to %s", got)
		}
		raw, _, _ := store.Get(ctx, LeaseID("d"))
		var l wire.LeaseDoc
		_ = json.Unmarshal(raw, &l)
		if l.Holder != "thief" {
			t.Fatalf("lease holder %q, want thief (a lost lease is not released)", l.Holder)
		}
	})

	t.Run("explicit window: backfill without moving the checkpoint", func(t *testing.T) {
		store := &MemStore{}
		seedCheckpoint(t, store, "d", cp)
		var calls []wire.Window
		w := win("2026-02-01T00:00:00Z", "2026-02-01T02:30:00Z")
		out, err := RunIncremental(ctx, Request{Detection: "d", Holder: "h", Window: &w}, okRun(&calls), store, fixed(now0))
		if err != nil || out.Mode != wire.ModeWindow || len(calls) != 3 {
			t.Fatalf("%v %+v %v", err, out, calls)
		}
		if got := checkpointOf(t, store, "d"); !got.Equal(cp) {
			t.Fatalf("checkpoint moved to %s", got)
		}
		if doc, _, _ := ReadCheckpoint(ctx, store, "d"); doc.LastRun != nil {
			t.Fatalf("the backfill wrote the checkpoint document: last run %+v", doc.LastRun)
		}
		bf, err := ReadBackfill(ctx, store, "d")
		if err != nil || bf == nil || bf.State != wire.BackfillDone || bf.Done != 3 || bf.Total != 3 ||
			bf.LastRun == nil || bf.LastRun.Mode != wire.ModeWindow || bf.LastRun.Windows != 3 || bf.LastRun.Outcome != wire.StatusSuccess {
			t.Fatalf("backfill record %+v %v", bf, err)
		}
	})

	t.Run("empty explicit window is refused", func(t *testing.T) {
		w := win("2026-02-01T02:00:00Z", "2026-02-01T01:00:00Z")
		_, err := RunIncremental(ctx, Request{Detection: "d", Window: &w}, okRun(new([]wire.Window)), &MemStore{}, fixed(now0))
		if !errors.Is(err, wire.ErrInvalidConfig) {
			t.Fatalf("err %v", err)
		}
	})

	t.Run("store failure on commit: failed, lease still released", func(t *testing.T) {
		store := &MemStore{}
		seedCheckpoint(t, store, "d", cp)
		store.Fail = func(op, id string) error {
			if op == "update" && id == CheckpointID("d") {
				return errors.New("cluster unavailable")
			}
			return nil
		}
		out, err := RunIncremental(ctx, Request{Detection: "d", Holder: "h"}, okRun(new([]wire.Window)), store, fixed(now0))
		if err == nil || out.Status != wire.StatusFailed || out.Windows[0].Committed {
			t.Fatalf("%v %+v", err, out)
		}
		store.Fail = nil
		if got := checkpointOf(t, store, "d"); !got.Equal(cp) {
			t.Fatalf("checkpoint %s", got)
		}
		if _, err := AcquireLease(ctx, store, "d", "other", time.Minute, now0); err != nil {
			t.Fatalf("lease not released: %v", err)
		}
	})

	t.Run("bad detection name", func(t *testing.T) {
		_, err := RunIncremental(ctx, Request{Detection: "Bad Name"}, okRun(new([]wire.Window)), &MemStore{}, fixed(now0))
		if !errors.Is(err, wire.ErrInvalidConfig) {
			t.Fatalf("err %v", err)
		}
	})
}

func TestRunIncrementalTwoRunnersRace(t *testing.T) {
	store := &MemStore{}
	seedCheckpoint(t, store, "d", ts("2026-03-02T12:00:00Z"))
	var running, maxRunning, windows atomic.Int32
	run := func(ctx context.Context, w wire.Window) (wire.WindowStats, error) {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			m := maxRunning.Load()
			if n <= m || maxRunning.CompareAndSwap(m, n) {
				break
			}
		}
		windows.Add(1)
		time.Sleep(20 * time.Millisecond)
		return wire.WindowStats{}, nil
	}
	var wg sync.WaitGroup
	outs := make([]*wire.Outcome, 4)
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], _ = RunIncremental(context.Background(), Request{Detection: "d", Holder: "serve-" + string(rune('a'+i))}, run, store, fixed(now0))
		}()
	}
	wg.Wait()
	if maxRunning.Load() != 1 {
		t.Fatalf("%d windows ran at once, want 1", maxRunning.Load())
	}
	var success int
	for _, o := range outs {
		switch o.Status {
		case wire.StatusSuccess:
			success++
		case wire.StatusSkipped, wire.StatusNoop:
		default:
			t.Errorf("unexpected outcome %+v", o)
		}
	}
	if success < 1 {
		t.Fatalf("no runner succeeded: %+v", outs)
	}
}

func TestRetroHunt(t *testing.T) {
	ctx := context.Background()
	t.Run("scans the look-back in bounded windows and records the hunt", func(t *testing.T) {
		store := &MemStore{}
		var calls []wire.Window
		out, err := RetroHunt(ctx, RetroRequest{Detection: "d", Indicators: 12, Config: wire.Config{RetroLookback: wire.Duration(3 * time.Hour), RetroMaxWindow: wire.Duration(time.Hour)}}, okRun(&calls), store, fixed(now0))
		if err != nil || out.Status != wire.StatusSuccess || out.Mode != wire.ModeRetroHunt {
			t.Fatalf("%v %+v", err, out)
		}
		if len(calls) != 3 || !calls[0].From.Equal(ts("2026-03-02T09:06:00Z")) || !calls[2].To.Equal(now0) {
			t.Fatalf("windows %v", calls)
		}
		rd, err := ReadRetro(ctx, store, "d")
		if err != nil || rd == nil || rd.Indicators != 12 || rd.LastRun.AlertsCreated != 3 {
			t.Fatalf("retro doc %+v %v", rd, err)
		}
		if _, found, _ := ReadCheckpoint(ctx, store, "d"); found {
			t.Fatal("retro-hunt wrote a checkpoint")
		}
	})
	t.Run("default look-back is 7 days in 24h windows", func(t *testing.T) {
		var calls []wire.Window
		if _, err := RetroHunt(ctx, RetroRequest{Detection: "d", Indicators: 1}, okRun(&calls), nil, fixed(now0)); err != nil {
			t.Fatal(err)
		}
		if len(calls) != 7 || !calls[0].From.Equal(now0.Add(-7*24*time.Hour)) || calls[0].Duration() != 24*time.Hour {
			t.Fatalf("%d windows from %v", len(calls), calls[0].From)
		}
	})
	t.Run("no new indicators is a noop", func(t *testing.T) {
		var calls []wire.Window
		out, err := RetroHunt(ctx, RetroRequest{Detection: "d"}, okRun(&calls), nil, fixed(now0))
		if err != nil || out.Status != wire.StatusNoop || len(calls) != 0 {
			t.Fatalf("%v %+v", err, out)
		}
	})
	t.Run("a failed window stops the hunt and says what is left", func(t *testing.T) {
		var n int
		out, err := RetroHunt(ctx, RetroRequest{Detection: "d", Indicators: 1, Config: wire.Config{RetroLookback: wire.Duration(5 * time.Hour), RetroMaxWindow: wire.Duration(time.Hour)}},
			func(context.Context, wire.Window) (wire.WindowStats, error) {
				n++
				if n == 2 {
					return wire.WindowStats{}, errors.New("boom")
				}
				return wire.WindowStats{}, nil
			}, nil, fixed(now0))
		if err == nil || out.Status != wire.StatusFailed || out.Remaining != 3 || len(out.Windows) != 2 {
			t.Fatalf("%v %+v", err, out)
		}
	})
}

func TestStatus(t *testing.T) {
	ctx := context.Background()
	store := &MemStore{}
	var calls []wire.Window
	if _, err := RunIncremental(ctx, Request{Detection: "alpha", Holder: "h", RunID: "r9", Config: wire.Config{InitialLookback: wire.Duration(time.Hour)}}, okRun(&calls), store, fixed(now0)); err != nil {
		t.Fatal(err)
	}
	if _, err := AcquireLease(ctx, store, "beta", "busy", time.Minute, now0); err != nil {
		t.Fatal(err)
	}
	seedCheckpoint(t, store, "beta", ts("2026-03-02T11:00:00Z"))
	later := now0.Add(10 * time.Second)

	got, err := Status(ctx, store, nil, later)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Detection != "alpha" || got[1].Detection != "beta" {
		t.Fatalf("status %+v", got)
	}
	a := got[0]
	if !a.Checkpoint.Equal(ts("2026-03-02T12:05:00Z")) || a.LagSeconds != 70 || a.LastRun == nil || a.LastRun.RunID != "r9" || a.LastRun.AlertsCreated != 1 || a.Lease != nil {
		t.Fatalf("alpha %+v", a)
	}
	if b := got[1]; b.Lease == nil || b.Lease.Holder != "busy" || b.LastRun != nil {
		t.Fatalf("beta %+v", b)
	}
	one, err := Status(ctx, store, []string{"gamma"}, later)
	if err != nil || len(one) != 1 || !one[0].Never {
		t.Fatalf("never-run detection: %+v %v", one, err)
	}
}

// lostAnswerStore performs writes but reports the first Create/Update of
// each id as a conflict, as a client retry after a lost answer does.
type lostAnswerStore struct {
	*MemStore
	seen map[string]bool
}

func (s *lostAnswerStore) Create(ctx context.Context, id string, doc json.RawMessage) (Version, error) {
	v, err := s.MemStore.Create(ctx, id, doc)
	if err == nil && !s.seen["c"+id] {
		s.seen["c"+id] = true
		return Version{}, ErrConflict
	}
	return v, err
}

func (s *lostAnswerStore) Update(ctx context.Context, id string, doc json.RawMessage, v Version) (Version, error) {
	nv, err := s.MemStore.Update(ctx, id, doc, v)
	if err == nil && !s.seen["u"+id] {
		s.seen["u"+id] = true
		return Version{}, ErrConflict
	}
	return nv, err
}

func TestLostAnswerIsRecognisedAsOurWrite(t *testing.T) {
	store := &lostAnswerStore{MemStore: &MemStore{}, seen: map[string]bool{}}
	var calls []wire.Window
	out, err := RunIncremental(context.Background(), Request{Detection: "d", Holder: "h", Config: wire.Config{InitialLookback: wire.Duration(2 * time.Hour)}}, okRun(&calls), store, fixed(now0))
	if err != nil || out.Status != wire.StatusSuccess || len(out.Windows) != 2 || !out.Windows[1].Committed {
		t.Fatalf("%v %+v", err, out)
	}
	if got := checkpointOf(t, store, "d"); !got.Equal(ts("2026-03-02T12:05:00Z")) {
		t.Fatalf("checkpoint %s", got)
	}
}
