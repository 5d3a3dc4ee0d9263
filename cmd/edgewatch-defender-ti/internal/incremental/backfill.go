package incremental

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/edgewatch/edgewatch/plugin/wire"
)

// BackfillID is the state document id of a detection's backfill record.
func BackfillID(detection string) string { return "backfill-" + detection }

// writeBackfill stores doc as the detection's backfill record (last writer
// wins: the backfill lease makes this runner the only writer). It is
// progress reporting: a failure is the caller's to log, never a reason to
// stop the backfill.
func writeBackfill(ctx context.Context, store StateStore, doc wire.BackfillDoc) error {
	body, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	id := BackfillID(doc.Detection)
	for range 3 {
		_, v, gerr := store.Get(ctx, id)
		switch {
		case errors.Is(gerr, ErrNotFound):
			_, err = store.Create(ctx, id, body)
		case gerr != nil:
			return gerr
		default:
			_, err = store.Update(ctx, id, body, v)
		}
		if !errors.Is(err, ErrConflict) {
			return err
		}
	}
	return err
}

// ReadBackfill returns the detection's backfill record, if any.
func ReadBackfill(ctx context.Context, store StateStore, detection string) (*wire.BackfillDoc, error) {
	raw, _, err := store.Get(ctx, BackfillID(detection))
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", BackfillID(detection), err)
	}
	var d wire.BackfillDoc
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("read %s: bad document: %w", BackfillID(detection), err)
	}
	return &d, nil
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
	if err := writeBackfill(cctx, r.store, r.doc); err != nil {
		r.warn("could not record the backfill's progress", "err", err)
	}
}
