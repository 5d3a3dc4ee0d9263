package incrementaltest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	inc "github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/incremental"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// StoreSuite runs the inc.StateStore contract, the lease semantics (racing
// holders, expiry, renewal, release) and checkpoint commits against store.
// It is run with incremental.MemStore and with the real clusters; every
// document it writes has a fresh random id.
func StoreSuite(t *testing.T, store inc.StateStore) {
	ctx := context.Background()
	t0 := ts("2026-03-02T12:00:00Z")

	t.Run("store contract", func(t *testing.T) {
		id := "suite-doc-" + randHex()
		if _, _, err := store.Get(ctx, id); !errors.Is(err, inc.ErrNotFound) {
			t.Fatalf("Get missing = %v, want inc.ErrNotFound", err)
		}
		v1, err := store.Create(ctx, id, json.RawMessage(`{"type":"test","n":1}`))
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		if _, err := store.Create(ctx, id, json.RawMessage(`{"type":"test","n":2}`)); !errors.Is(err, inc.ErrConflict) {
			t.Fatalf("second Create = %v, want inc.ErrConflict", err)
		}
		raw, v, err := store.Get(ctx, id)
		if err != nil || v != v1 {
			t.Fatalf("Get = %s %+v %v, want version %+v", raw, v, err, v1)
		}
		var doc struct{ N int }
		if err := json.Unmarshal(raw, &doc); err != nil || doc.N != 1 {
			t.Fatalf("Get source %s (%v), want n=1", raw, err)
		}
		v2, err := store.Update(ctx, id, json.RawMessage(`{"type":"test","n":3}`), v1)
		if err != nil {
			t.Fatalf("Update: %v", err)
		}
		if v2 == v1 {
			t.Fatalf("Update kept version %+v", v2)
		}
		if _, err := store.Update(ctx, id, json.RawMessage(`{"type":"test","n":4}`), v1); !errors.Is(err, inc.ErrConflict) {
			t.Fatalf("stale Update = %v, want inc.ErrConflict", err)
		}
		if _, err := store.Update(ctx, "suite-missing-"+randHex(), json.RawMessage(`{}`), v1); !errors.Is(err, inc.ErrNotFound) && !errors.Is(err, inc.ErrConflict) {
			t.Fatalf("Update of a missing doc = %v, want inc.ErrNotFound or inc.ErrConflict", err)
		}
	})

	t.Run("racing holders: exactly one wins", func(t *testing.T) {
		det := "race-" + randHex()
		// race lets n holders acquire det's lease at once.
		race := func(prefix string, now time.Time) (won []string, errs []error) {
			const n = 8
			var wg sync.WaitGroup
			var mu sync.Mutex
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					holder := fmt.Sprintf("%s-%d", prefix, i)
					_, err := inc.AcquireLease(ctx, store, det, holder, time.Minute, now)
					mu.Lock()
					defer mu.Unlock()
					if err == nil {
						won = append(won, holder)
					} else if !errors.Is(err, inc.ErrLeaseHeld) {
						errs = append(errs, err)
					}
				}()
			}
			close(start)
			wg.Wait()
			return won, errs
		}
		if won, errs := race("holder", t0); len(errs) > 0 || len(won) != 1 {
			t.Fatalf("race: winners %v errors %v, want exactly 1 winner", won, errs)
		}
		// Racing for an expired lease: again exactly one.
		if won, errs := race("late", t0.Add(2*time.Minute)); len(errs) > 0 || len(won) != 1 {
			t.Fatalf("expired-lease race: winners %v errors %v, want exactly 1 winner", won, errs)
		}
	})

	t.Run("lease lifecycle", func(t *testing.T) {
		det := "life-" + randHex()
		a, err := inc.AcquireLease(ctx, store, det, "a", time.Minute, t0)
		if err != nil {
			t.Fatalf("a acquires: %v", err)
		}
		_, err = inc.AcquireLease(ctx, store, det, "b", time.Minute, t0.Add(30*time.Second))
		var he *inc.HeldError
		if !errors.As(err, &he) || he.Holder != "a" || !he.Expires.Equal(t0.Add(time.Minute)) {
			t.Fatalf("b while a holds = %v, want inc.HeldError by a until t0+1m", err)
		}
		if err := a.Renew(ctx, t0.Add(50*time.Second)); err != nil {
			t.Fatalf("a renews: %v", err)
		}
		if _, err := inc.AcquireLease(ctx, store, det, "b", time.Minute, t0.Add(90*time.Second)); !errors.Is(err, inc.ErrLeaseHeld) {
			t.Fatalf("b after a renewed (expiry t0+110s) at t0+90s = %v, want held", err)
		}
		// a dies (no renewal); b takes over after the expiry.
		b, err := inc.AcquireLease(ctx, store, det, "b", time.Minute, t0.Add(111*time.Second))
		if err != nil {
			t.Fatalf("b after a's lease expired: %v", err)
		}
		if err := a.Renew(ctx, t0.Add(112*time.Second)); !errors.Is(err, inc.ErrLeaseLost) {
			t.Fatalf("a renews after takeover = %v, want inc.ErrLeaseLost", err)
		}
		if err := a.Release(ctx, t0.Add(112*time.Second)); !errors.Is(err, inc.ErrLeaseLost) {
			t.Fatalf("a releases after takeover = %v, want inc.ErrLeaseLost", err)
		}
		if err := b.Release(ctx, t0.Add(113*time.Second)); err != nil {
			t.Fatalf("b releases: %v", err)
		}
		// Released: c takes it at once, long before b's expiry would have come.
		if _, err := inc.AcquireLease(ctx, store, det, "c", time.Minute, t0.Add(114*time.Second)); err != nil {
			t.Fatalf("c after b released: %v", err)
		}
	})

	t.Run("incremental runs commit per window and never move back", func(t *testing.T) {
		det := "inc-" + randHex()
		now := ts("2026-03-02T15:31:00Z")
		var ran []wire.Window
		run := func(_ context.Context, w wire.Window) (wire.WindowStats, error) {
			ran = append(ran, w)
			if len(ran) == 3 {
				return wire.WindowStats{}, errors.New("store timeout")
			}
			return wire.WindowStats{EventsScanned: 10, AlertsCreated: 1}, nil
		}
		cfg := wire.Config{InitialLookback: wire.Duration(4 * time.Hour)}
		out, err := inc.RunIncremental(ctx, inc.Request{Detection: det, Config: cfg, Holder: "h"}, run, store, fixed(now))
		if err == nil || out.Status != wire.StatusFailed {
			t.Fatalf("want the third window to fail the run, got %v %+v", err, out)
		}
		doc, found, err := inc.ReadCheckpoint(ctx, store, det)
		if err != nil || !found {
			t.Fatalf("inc.ReadCheckpoint: %v found=%v", err, found)
		}
		if want := ts("2026-03-02T13:30:00Z"); !doc.Checkpoint.Equal(want) {
			t.Fatalf("checkpoint %s, want %s (end of the 2nd window)", doc.Checkpoint, want)
		}
		if doc.LastRun == nil || doc.LastRun.Outcome != wire.StatusFailed || doc.LastRun.AlertsCreated != 2 {
			t.Fatalf("last run %+v, want failed with 2 alerts", doc.LastRun)
		}
		// The next run resumes at the checkpoint − overlap.
		ran = nil
		out, err = inc.RunIncremental(ctx, inc.Request{Detection: det, Config: cfg, Holder: "h"}, func(_ context.Context, w wire.Window) (wire.WindowStats, error) {
			ran = append(ran, w)
			return wire.WindowStats{}, nil
		}, store, fixed(now))
		if err != nil || out.Status != wire.StatusSuccess {
			t.Fatalf("second run: %v %+v", err, out)
		}
		if len(ran) == 0 || !ran[0].From.Equal(ts("2026-03-02T13:20:00Z")) {
			t.Fatalf("second run started at %v, want checkpoint − 10m", ran)
		}
		doc, _, _ = inc.ReadCheckpoint(ctx, store, det)
		if want := ts("2026-03-02T15:30:00Z"); !doc.Checkpoint.Equal(want) {
			t.Fatalf("checkpoint %s, want %s", doc.Checkpoint, want)
		}
		if doc.LastRun.Outcome != wire.StatusSuccess || doc.LastSuccess.IsZero() {
			t.Fatalf("last run %+v last success %s", doc.LastRun, doc.LastSuccess)
		}
	})
}

func fixed(t time.Time) func() time.Time { return func() time.Time { return t } }

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func randHex() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
