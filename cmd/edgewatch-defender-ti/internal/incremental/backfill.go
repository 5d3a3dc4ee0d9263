package incremental

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/edgewatch/edgewatch/plugin/wire"
)

// BackfillID is the state document id of a detection's backfill record.
func BackfillID(detection string) string { return "backfill-" + detection }

// ReadBackfill returns the detection's backfill record, if any.
func ReadBackfill(ctx context.Context, store StateStore, detection string) (*wire.BackfillDoc, error) {
	return readDoc[wire.BackfillDoc](ctx, store, BackfillID(detection))
}

// putDoc stores v as document id, last writer wins: for records a single
// writer keeps (a retro-hunt's, a backfill's under its lease), never for
// the checkpoint, which is a compare-and-set.
func putDoc(ctx context.Context, store StateStore, id string, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	for range 3 {
		_, ver, gerr := store.Get(ctx, id)
		switch {
		case errors.Is(gerr, ErrNotFound):
			_, err = store.Create(ctx, id, body)
		case gerr != nil:
			return gerr
		default:
			_, err = store.Update(ctx, id, body, ver)
		}
		if !errors.Is(err, ErrConflict) {
			return err
		}
	}
	return err
}

// backfillRecorder keeps a backfill's record up to date, window by window.
type backfillRecorder struct {
	store StateStore
	doc   wire.BackfillDoc
	now   func() time.Time
	warn  func(msg string, args ...any)
}

func (r *backfillRecorder) write(ctx context.Context) {
	r.doc.Updated = r.now().UTC()
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	if err := putDoc(cctx, r.store, BackfillID(r.doc.Detection), r.doc); err != nil {
		r.warn("could not record the backfill's progress", "err", err)
	}
}
