package stack_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/incremental"
	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/incremental/incrementaltest"
	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/stack"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/connectors/cluster/clustertest"
	"github.com/edgewatch/edgewatch/connectors/conformance"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// freshStore is a Store over a new, randomly named state index that is
// deleted when the test ends. The index gets the state template's mapping
// (dynamic: false) so that the suite runs against what production uses.
func freshStore(t *testing.T, c *cluster.Client) *stack.StateStore {
	t.Helper()
	ctx := context.Background()
	index := conformance.UniqueIndex("edgewatch-state-test")
	mapping := map[string]any{"mappings": map[string]any{"dynamic": false, "properties": map[string]any{
		"type": map[string]any{"type": "keyword"}, "detection": map[string]any{"type": "keyword"},
		"checkpoint": map[string]any{"type": "date"}, "holder": map[string]any{"type": "keyword"},
		"expires_at": map[string]any{"type": "date"},
	}}}
	if err := c.Call(ctx, "create index", cluster.Request{Method: http.MethodPut, Path: "/" + url.PathEscape(index), Body: cluster.JSON(mapping)}, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Call(context.Background(), "delete index", cluster.Request{Method: http.MethodDelete, Path: "/" + url.PathEscape(index)}, nil)
	})
	return stack.NewStateStore(c, index)
}

func TestStoreSuite(t *testing.T) {
	clustertest.Run(t, func(t *testing.T, tg clustertest.Target) {
		incrementaltest.StoreSuite(t, freshStore(t, tg.Client))
	})
}

func TestMissingIndexIsMissingDocument(t *testing.T) {
	clustertest.Run(t, func(t *testing.T, tg clustertest.Target) {
		c := tg.Client
		index := conformance.UniqueIndex("edgewatch-state-none")
		t.Cleanup(func() {
			_ = c.Call(context.Background(), "delete index", cluster.Request{Method: http.MethodDelete, Path: "/" + index}, nil)
		})
		s := stack.NewStateStore(c, index)
		if _, found, err := incremental.ReadCheckpoint(context.Background(), s, "x"); err != nil || found {
			t.Fatalf("ReadCheckpoint on a missing index: found=%v err=%v", found, err)
		}
		ids, err := s.List(context.Background(), "checkpoint-")
		if err != nil || len(ids) != 0 {
			t.Fatalf("List on a missing index: %v %v", ids, err)
		}
	})
}

func TestStatusListsDetections(t *testing.T) {
	clustertest.Run(t, func(t *testing.T, tg clustertest.Target) {
		c := tg.Client
		s := freshStore(t, c)
		ctx := context.Background()
		now := time.Date(2026, 3, 2, 12, 6, 0, 0, time.UTC)
		for _, d := range []string{"beta", "alpha"} {
			_, err := incremental.RunIncremental(ctx, incremental.Request{Detection: d, Holder: "h", Config: wire.Config{InitialLookback: wire.Duration(time.Hour)}},
				func(context.Context, wire.Window) (wire.WindowStats, error) {
					return wire.WindowStats{EventsScanned: 1}, nil
				}, s, func() time.Time { return now })
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := c.Refresh(ctx, s.Index()); err != nil {
			t.Fatal(err)
		}
		st, err := incremental.Status(ctx, s, nil, now.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(st)
		if len(st) != 2 || st[0].Detection != "alpha" || st[1].Detection != "beta" || st[0].LagSeconds != 120 || st[0].LastRun == nil {
			t.Fatalf("status %s", b)
		}
	})
}
