package incremental

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/edgewatch/edgewatch/plugin/wire"
)

// Status reads the checkpoint, last run, live lease and last retro-hunt of
// each detection. With no names it lists every detection that has a
// checkpoint, when the store can list (Lister).
func Status(ctx context.Context, store StateStore, detections []string, now time.Time) ([]wire.DetectionStatus, error) {
	if len(detections) == 0 {
		l, ok := store.(Lister)
		if !ok {
			return nil, fmt.Errorf("%w: name the detections (this store cannot list them)", wire.ErrInvalidConfig)
		}
		ids, err := l.List(ctx, "checkpoint-")
		if err != nil {
			return nil, fmt.Errorf("list checkpoints: %w", err)
		}
		for _, id := range ids {
			detections = append(detections, strings.TrimPrefix(id, "checkpoint-"))
		}
		sort.Strings(detections)
	}
	out := make([]wire.DetectionStatus, 0, len(detections))
	for _, d := range detections {
		if err := wire.ValidateDetectionName(d); err != nil {
			return nil, err
		}
		st, err := readCheckpoint(ctx, store, d)
		if err != nil {
			return nil, err
		}
		ds := wire.DetectionStatus{Detection: d, Checkpoint: st.doc.Checkpoint, LastSuccess: st.doc.LastSuccess, LastRun: st.doc.LastRun, Never: !st.found}
		if !st.doc.Checkpoint.IsZero() {
			ds.LagSeconds = now.Sub(st.doc.Checkpoint).Seconds()
		}
		if lease, err := readLease(ctx, store, d); err != nil {
			return nil, err
		} else if lease != nil && lease.Holder != "" && lease.Expires.After(now) {
			ds.Lease = lease
		}
		if ds.Retro, err = ReadRetro(ctx, store, d); err != nil {
			return nil, err
		}
		if ds.Backfill, err = ReadBackfill(ctx, store, d); err != nil {
			return nil, err
		}
		out = append(out, ds)
	}
	return out, nil
}

func readLease(ctx context.Context, store StateStore, detection string) (*wire.LeaseDoc, error) {
	return readDoc[wire.LeaseDoc](ctx, store, LeaseID(detection))
}
