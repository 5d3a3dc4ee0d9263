package incremental

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/edgewatch/edgewatch/plugin/wire"
)

// CheckpointID is the state document id of a detection's checkpoint.
func CheckpointID(detection string) string { return "checkpoint-" + detection }

// CheckpointDoc is a detection's checkpoint document: the end of the last
// window that was fully processed and written, and the record of the last
// run (successful or not). Keeping both in one document makes `status` one
// GET per detection and lets a failed run be recorded without a second
// document.
type CheckpointDoc struct {
	Type       string    `json:"type"` // wire.StateTypeCheckpoint
	Detection  string    `json:"detection"`
	Checkpoint time.Time `json:"checkpoint,omitzero"`
	Updated    time.Time `json:"updated_at"`
	// LastSuccess is when a run last finished without error.
	LastSuccess time.Time     `json:"last_success_at,omitzero"`
	LastRun     *wire.LastRun `json:"last_run,omitempty"`
}

// checkpointState is a read checkpoint document and its version.
type checkpointState struct {
	doc     CheckpointDoc
	version Version
	found   bool
}

// ReadCheckpoint returns detection's checkpoint document; a detection that
// never ran has a zero Checkpoint and found == false.
func ReadCheckpoint(ctx context.Context, store StateStore, detection string) (doc CheckpointDoc, found bool, err error) {
	st, err := readCheckpoint(ctx, store, detection)
	return st.doc, st.found, err
}

func readCheckpoint(ctx context.Context, store StateStore, detection string) (checkpointState, error) {
	raw, v, err := store.Get(ctx, CheckpointID(detection))
	if errors.Is(err, ErrNotFound) {
		return checkpointState{doc: CheckpointDoc{Type: wire.StateTypeCheckpoint, Detection: detection}}, nil
	}
	if err != nil {
		return checkpointState{}, fmt.Errorf("read checkpoint %s: %w", CheckpointID(detection), err)
	}
	var doc CheckpointDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		return checkpointState{}, fmt.Errorf("read checkpoint %s: bad document: %w", CheckpointID(detection), err)
	}
	return checkpointState{doc: doc, version: v, found: true}, nil
}

// ErrCheckpointMoved: the checkpoint document changed between this run's
// read and its commit, so another runner committed in between (its lease
// must have expired under us). This run stops; its alerts are idempotent.
var ErrCheckpointMoved = errors.New("checkpoint changed by another runner")

// writeCheckpoint stores doc over st with a compare-and-set (a create for a
// detection's first commit) and returns the new state.
func writeCheckpoint(ctx context.Context, store StateStore, st checkpointState, doc CheckpointDoc) (checkpointState, error) {
	id := CheckpointID(doc.Detection)
	body, err := json.Marshal(doc)
	if err != nil {
		return st, err
	}
	var v Version
	if st.found {
		v, err = store.Update(ctx, id, body, st.version)
	} else {
		v, err = store.Create(ctx, id, body)
	}
	if errors.Is(err, ErrConflict) || (st.found && errors.Is(err, ErrNotFound)) {
		// A retried request whose first attempt landed also conflicts:
		// the document is then exactly ours.
		if cur, rerr := readCheckpoint(ctx, store, doc.Detection); rerr == nil && cur.found &&
			cur.doc.Checkpoint.Equal(doc.Checkpoint) && cur.doc.Updated.Equal(doc.Updated) {
			return checkpointState{doc: doc, version: cur.version, found: true}, nil
		}
		return st, fmt.Errorf("commit %s: %w", id, ErrCheckpointMoved)
	}
	if err != nil {
		return st, fmt.Errorf("commit %s: %w", id, err)
	}
	return checkpointState{doc: doc, version: v, found: true}, nil
}

// recordRun stores rec as the detection's last run without touching the
// checkpoint. It re-reads the document once when another writer got there
// first, so a failure record never moves a checkpoint back.
func recordRun(ctx context.Context, store StateStore, detection string, rec wire.LastRun, now time.Time) error {
	var err error
	for range 3 {
		var st checkpointState
		st, err = readCheckpoint(ctx, store, detection)
		if err != nil {
			return err
		}
		doc := st.doc
		doc.Type, doc.Detection, doc.Updated = wire.StateTypeCheckpoint, detection, now.UTC()
		r := rec
		doc.LastRun = &r
		if rec.Outcome == wire.StatusSuccess {
			doc.LastSuccess = rec.Finished
		}
		if _, err = writeCheckpoint(ctx, store, st, doc); !errors.Is(err, ErrCheckpointMoved) {
			return err
		}
	}
	return err
}
