package incremental

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/edgewatch/edgewatch/plugin/wire"
)

// LeaseID is the state document id of a detection's lease.
func LeaseID(detection string) string { return "lease-" + detection }

// BackfillLeaseID is the state document id of the lease a detection's
// backfills run under: one backfill of a detection at a time across serve
// instances, beside (never instead of) its incremental runs. The '.' keeps
// it apart from every LeaseID (detection names have none).
func BackfillLeaseID(detection string) string { return "lease-" + detection + ".backfill" }

// ErrLeaseHeld: another live holder has the lease. The error is a
// *HeldError carrying the holder and its expiry.
var ErrLeaseHeld = errors.New("lease held by another runner")

// ErrLeaseLost: a renewal found that someone else took the lease over
// (after it expired, e.g. because this process stalled longer than the TTL).
var ErrLeaseLost = errors.New("lease lost")

// HeldError says who holds a lease and until when.
type HeldError struct {
	Detection string
	Holder    string
	Expires   time.Time
}

func (e *HeldError) Error() string {
	if e.Holder == "" {
		return fmt.Sprintf("%s: %v", e.Detection, ErrLeaseHeld)
	}
	return fmt.Sprintf("%s: %v %s until %s", e.Detection, ErrLeaseHeld, e.Holder, e.Expires.UTC().Format(time.RFC3339))
}

// Is makes errors.Is(err, ErrLeaseHeld) true.
func (e *HeldError) Is(target error) bool { return target == ErrLeaseHeld }

// Lease is a held lease. Its methods are safe for concurrent use (the renew
// loop runs beside the work it protects).
type Lease struct {
	store     StateStore
	id        string
	detection string
	holder    string
	ttl       time.Duration

	mu       sync.Mutex
	version  Version
	acquired time.Time
	expires  time.Time
}

// AcquireLease takes detection's lease for holder until now+ttl: it creates
// the lease document, or takes it over with a compare-and-set when it is
// expired, released, or already ours. When two callers race, the store's
// optimistic concurrency lets exactly one win; the other gets a *HeldError.
//
// Expiry compares the previous holder's clock (which wrote Expires) with
// the caller's: keep ttl well above the clock skew between hosts.
func AcquireLease(ctx context.Context, store StateStore, detection, holder string, ttl time.Duration, now time.Time) (*Lease, error) {
	return acquireLease(ctx, store, LeaseID(detection), detection, holder, ttl, now)
}

// AcquireBackfillLease is AcquireLease for the detection's backfill lease
// (BackfillLeaseID).
func AcquireBackfillLease(ctx context.Context, store StateStore, detection, holder string, ttl time.Duration, now time.Time) (*Lease, error) {
	return acquireLease(ctx, store, BackfillLeaseID(detection), detection, holder, ttl, now)
}

func acquireLease(ctx context.Context, store StateStore, id, detection, holder string, ttl time.Duration, now time.Time) (*Lease, error) {
	if holder == "" {
		return nil, fmt.Errorf("%w: empty lease holder", wire.ErrInvalidConfig)
	}
	if ttl <= 0 {
		ttl = wire.DefaultLeaseTTL
	}
	l := &Lease{store: store, id: id, detection: detection, holder: holder, ttl: ttl}
	doc := wire.LeaseDoc{Type: wire.StateTypeLease, Detection: detection, Holder: holder, Acquired: now.UTC(), Renewed: now.UTC(), Expires: now.Add(ttl).UTC()}
	body, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	raw, v, err := store.Get(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		v, err = store.Create(ctx, id, body)
		if errors.Is(err, ErrConflict) {
			if v, err = l.heldBy(ctx, doc); err != nil {
				return nil, err
			}
		}
		if err != nil {
			return nil, fmt.Errorf("acquire lease %s: %w", id, err)
		}
	case err != nil:
		return nil, fmt.Errorf("acquire lease %s: %w", id, err)
	default:
		var cur wire.LeaseDoc
		if err := json.Unmarshal(raw, &cur); err != nil {
			return nil, fmt.Errorf("acquire lease %s: bad lease document: %w", id, err)
		}
		if cur.Holder != "" && cur.Holder != holder && cur.Expires.After(now) {
			return nil, &HeldError{Detection: detection, Holder: cur.Holder, Expires: cur.Expires}
		}
		v, err = store.Update(ctx, id, body, v)
		if errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound) {
			if v, err = l.heldBy(ctx, doc); err != nil {
				return nil, err
			}
		}
		if err != nil {
			return nil, fmt.Errorf("acquire lease %s: %w", id, err)
		}
	}
	l.version, l.acquired, l.expires = v, doc.Acquired, doc.Expires
	return l, nil
}

// heldBy reads the lease after a lost compare-and-set. When the document is
// exactly the one we tried to write, our write did land (a client retried a
// request whose first answer was lost) and the lease is ours at the
// returned version; otherwise it returns a HeldError naming the winner.
func (l *Lease) heldBy(ctx context.Context, want wire.LeaseDoc) (Version, error) {
	he := &HeldError{Detection: l.detection}
	raw, v, err := l.store.Get(ctx, l.id)
	if err == nil {
		var cur wire.LeaseDoc
		if json.Unmarshal(raw, &cur) == nil {
			if cur.Holder == want.Holder && cur.Expires.Equal(want.Expires) && cur.Acquired.Equal(want.Acquired) {
				return v, nil
			}
			he.Holder, he.Expires = cur.Holder, cur.Expires
		}
	}
	return Version{}, he
}

// Expires is the current expiry.
func (l *Lease) Expires() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.expires
}

// Renew extends the lease to now+TTL. It returns ErrLeaseLost when the
// document changed under us (another holder took it over); other errors
// are transient store failures.
func (l *Lease) Renew(ctx context.Context, now time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.write(ctx, "renew", wire.LeaseDoc{Type: wire.StateTypeLease, Detection: l.detection, Holder: l.holder,
		Acquired: l.acquired, Renewed: now.UTC(), Expires: now.Add(l.ttl).UTC()})
}

// Release gives the lease up so that another runner can take it at once.
// A lease that was already taken over is left alone (ErrLeaseLost).
func (l *Lease) Release(ctx context.Context, now time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.write(ctx, "release", wire.LeaseDoc{Type: wire.StateTypeLease, Detection: l.detection, Holder: "",
		Renewed: now.UTC(), Expires: now.UTC()})
}

// write replaces the lease document with doc if it is still at our
// version (l.mu held).
func (l *Lease) write(ctx context.Context, what string, doc wire.LeaseDoc) error {
	body, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	v, err := l.store.Update(ctx, l.id, body, l.version)
	if errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%s: %w", l.id, ErrLeaseLost)
	}
	if err != nil {
		return fmt.Errorf("%s lease %s: %w", what, l.id, err)
	}
	l.version, l.expires = v, doc.Expires
	return nil
}

// keepAlive renews l every TTL/3 until ctx is done. When the lease is lost,
// or cannot be renewed before it expires, it calls lost (which cancels the
// work the lease protects) and returns.
func (l *Lease) keepAlive(ctx context.Context, now func() time.Time, lost func(error)) {
	t := time.NewTicker(l.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := l.Renew(ctx, now())
		if err == nil {
			continue
		}
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, ErrLeaseLost) || !now().Before(l.Expires()) {
			lost(err)
			return
		}
		// Transient: try again at the next tick, while the lease still holds.
	}
}
