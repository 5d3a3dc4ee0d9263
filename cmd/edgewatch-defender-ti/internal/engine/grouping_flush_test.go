package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// batchRecorder keeps the batches it is handed and fails the failAt-th
// (1-based; 0 never).
type batchRecorder struct {
	batches []Batch
	failAt  int
}

var errObserver = errors.New("observer failed")

func (r *batchRecorder) Progress(wire.Progress) {}

func (r *batchRecorder) Alerts(_ context.Context, b Batch) error {
	r.batches = append(r.batches, b)
	if len(r.batches) == r.failAt {
		return errObserver
	}
	return nil
}

// TestGroupedFlushInOrder: a file run's grouped alerts, built and encoded
// one at a time at the end of the run, reach the observer in the groups'
// order (window, then first event), each line the document of its alert,
// in batches of BatchSize; an observer's error ends the flush.
func TestGroupedFlushInOrder(t *testing.T) {
	t0 := time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		groups  int
		failAt  int
		wantErr error
	}{
		{name: "none", groups: 0},
		{name: "one batch", groups: 7},
		{name: "several batches", groups: 3*BatchSize + 17},
		{name: "the observer fails on the second batch", groups: 6 * BatchSize, failAt: 2, wantErr: errObserver},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &batchRecorder{failAt: tc.failAt}
			sum := &wire.Summary{RunID: "run1"}
			s := wire.Settings{GroupBy: []string{"host.id"}, GroupWindow: wire.Duration(24 * time.Hour)}
			sink, err := newSink(s, correlation.Rule{ID: "rule"}, &Backend{}, rec, sum, t0)
			if err != nil {
				t.Fatal(err)
			}
			// Added newest first: the groups' order (by first event) is
			// the reverse of the adds'.
			for i := tc.groups - 1; i >= 0; i-- {
				a := &correlation.Alert{Timestamp: t0.Add(time.Duration(i) * time.Second)}
				a.Event.ID = fmt.Sprintf("e%05d", i)
				a.Host.ID = fmt.Sprintf("dev%05d", i)
				if err := sink.add(context.Background(), a, correlation.Location{}); err != nil {
					t.Fatal(err)
				}
			}
			err = sink.flush(context.Background())
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("flush = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr != nil {
				if len(rec.batches) != tc.failAt {
					t.Errorf("%d batches after the failure, want %d", len(rec.batches), tc.failAt)
				}
				return
			}
			next := 0
			for bi, b := range rec.batches {
				if bi < len(rec.batches)-1 && len(b.Alerts) != BatchSize {
					t.Errorf("batch %d holds %d alerts, want %d", bi, len(b.Alerts), BatchSize)
				}
				lines := bytes.Split(bytes.TrimSuffix(b.NDJSON, []byte("\n")), []byte("\n"))
				if len(lines) != len(b.Alerts) {
					t.Fatalf("a batch of %d alerts has %d lines", len(b.Alerts), len(lines))
				}
				for i, a := range b.Alerts {
					var doc struct {
						Edgewatch struct {
							Suppression struct {
								FirstEventID string `json:"first_event_id"`
							} `json:"suppression"`
						} `json:"edgewatch"`
					}
					if err := json.Unmarshal(lines[i], &doc); err != nil {
						t.Fatal(err)
					}
					want := fmt.Sprintf("e%05d", next)
					if a.Edgewatch.Suppression.FirstEventID != want || doc.Edgewatch.Suppression.FirstEventID != want {
						t.Fatalf("alert %d: first event %s, document %s, want %s", next,
							a.Edgewatch.Suppression.FirstEventID, doc.Edgewatch.Suppression.FirstEventID, want)
					}
					next++
				}
			}
			if next != tc.groups || sum.Groups.Created != tc.groups {
				t.Errorf("%d grouped alerts handed on, %d counted, want %d", next, sum.Groups.Created, tc.groups)
			}
		})
	}
}
