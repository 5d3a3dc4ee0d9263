package faults

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/admin"
	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/engine"
	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/incremental"
	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/stack"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/connectors/conformance"
	"github.com/edgewatch/edgewatch/connectors/opensearch"
	"github.com/edgewatch/edgewatch/internal/testenv"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// The node-loss tests of issue 12 against the three-node OpenSearch
// cluster (`make test-faults`): indices with replicas, a data node stopped
// (SIGTERM) or killed (SIGKILL) after the first page of a point-in-time
// read or after the first chunk of a bulk write of alerts, and an index
// without replicas whose node is down. Each case runs the detection
// incrementally three times with a fixed clock:
//
//  1. over the first 15 minutes of the events: succeeds, commits;
//  2. over the rest, with the fault: must fail without moving the
//     checkpoint, or succeed with every alert of its window stored;
//  3. again, the node still down (replicas: the cluster is yellow) or back
//     (no replicas): must succeed.
//
// Then the alerts stored must be the file-mode run's over the same rows:
// 0 lost, 0 duplicate, 0 extra. The fault is injected by a Hook on the
// client, at a request boundary: no sleep decides what a run sees.

const (
	pageSize  = 20 // hits per point-in-time page: many pages from few events
	bulkDocs  = 20 // alerts per bulk request: many chunks per write
	nodeCount = 3
)

type faultKind int

const (
	pitRead   faultKind = iota // node lost after the first page of the events' point-in-time read
	bulkWrite                  // node lost after the first bulk chunk of alerts
	redIndex                   // events index without replicas, its node down before the run
)

func TestNodeLoss(t *testing.T) {
	testenv.Require(t, testenv.ThreeNodes)
	c := connect3(t)
	nodes, err := NewNodes(nodeCount, testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := WaitHealth(ctx, c, "green", 3*time.Minute); err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct {
		name string
		kind faultKind
		kill bool
	}{
		{"point-in-time read, node stopped", pitRead, false},
		{"point-in-time read, node killed", pitRead, true},
		{"bulk write, node stopped", bulkWrite, false},
		{"bulk write, node killed", bulkWrite, true},
		{"index without replicas, node stopped", redIndex, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nodeLoss(t, c, nodes, uint64(11+i), tc.kind, tc.kill)
		})
	}
}

// connect3 connects to every node of the three-node cluster.
func connect3(t *testing.T) *cluster.Client {
	t.Helper()
	var urls []string
	for _, u := range strings.Split(os.Getenv(testenv.Env3NodeURLs), ",") {
		if u = strings.TrimSpace(u); u != "" {
			urls = append(urls, u)
		}
	}
	c, err := opensearch.Connect(context.Background(), cluster.Config{URLs: urls},
		cluster.WithLogger(slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func nodeLoss(t *testing.T, c *cluster.Client, nodes Nodes, seed uint64, kind faultKind, kill bool) {
	ctx := context.Background()
	tag := conformance.UniqueIndex("faults")
	diIdx, evIdx := tag+"-deviceinfo", tag+"-networkevents"
	alertIdx, stateIdx := wire.AlertIndexPrefix+tag, tag+"-state"
	ruleID, det := "edgewatch-"+tag, tag
	t.Cleanup(func() {
		for _, idx := range []string{diIdx, evIdx, alertIdx, stateIdx} {
			_ = c.Call(context.Background(), "delete "+idx, cluster.Request{Method: http.MethodDelete, Path: cluster.DocPath(idx)}, nil)
		}
	})

	// The data: a fleet settled before t0, 3,000 events over the hour
	// after it, in files and in the cluster.
	t0 := time.Now().UTC().Truncate(time.Minute).Add(-2 * time.Hour)
	ds := Dataset{Dir: t.TempDir(), Seed: seed, Devices: 60, FacingShare: 0.5, InboundShare: 0.5, FeedHitShare: 0.3}
	diRows, err := ds.WriteFleet(t0)
	if err != nil {
		t.Fatal(err)
	}
	evRows, err := ds.Events(t0, time.Hour, 3000)
	if err != nil {
		t.Fatal(err)
	}
	must(t, ds.Append(evRows))
	evReplicas := 1
	if kind == redIndex {
		evReplicas = 0
	}
	must(t, CreateIndex(ctx, c, diIdx, 3, 1, DeviceInfoMapping))
	must(t, CreateIndex(ctx, c, evIdx, 3, evReplicas, NetworkEventsMapping))
	must(t, CreateIndex(ctx, c, alertIdx, 3, 1, alertMapping))
	must(t, CreateIndex(ctx, c, stateIdx, 1, 1, stateMapping))
	must(t, WaitHealth(ctx, c, "green", 2*time.Minute))
	must(t, Index(ctx, c, diIdx, "di", diRows, true))
	must(t, Index(ctx, c, evIdx, "ev", evRows, true))

	want, sum, err := Reference(ctx, ds, ruleID)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) < 5*bulkDocs {
		t.Fatalf("the dataset yields %d findings (%d events): too few to span pages and bulk chunks", len(want), sum.Events.Read)
	}

	// The detection over the cluster, through the fault hook.
	var armed atomic.Bool
	var victim atomic.Int32
	hook := &Hook{Next: c.Doer()}
	hc := c.WithDoer(hook)
	stop := func() error {
		n := int(victim.Load())
		t.Logf("fault: %s node %d", map[bool]string{false: "stopping", true: "killing"}[kill], n)
		return nodes.Stop(ctx, n, kill)
	}
	switch kind {
	case pitRead:
		armPITRead(t, hook, c, evIdx, &armed, &victim, stop)
	case bulkWrite:
		armBulkWrite(t, hook, c, alertIdx, &armed, &victim, stop)
	}
	src, err := cluster.NewClientSource(hc, cluster.SourceConfig{
		DeviceInfoIndex: diIdx, NetworkEventsIndex: evIdx, Profile: cluster.ProfileAdvancedHunting,
		PageSize: pageSize, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	be := &engine.Backend{Source: src, Writer: cluster.NewAlertWriter(hc, alertIdx, cluster.BulkOptions{MaxDocs: bulkDocs})}
	store := stack.NewStateStore(hc, stateIdx)
	cfg := wire.Config{InitialLookback: wire.Duration(3 * time.Hour), MaxWindow: wire.Duration(3 * time.Hour)}
	run := func(at time.Time) (*wire.Outcome, error) {
		clock := func() time.Time { return at }
		return incremental.RunIncremental(ctx, incremental.Request{Detection: det, Config: cfg, Holder: "faults",
			Logger: slog.New(slog.DiscardHandler)},
			admin.WindowRunner(be, ds.Settings(c, ruleID, diIdx, evIdx, alertIdx), nil, clock), store, clock)
	}
	checkpoint := func() time.Time {
		t.Helper()
		doc, _, err := incremental.ReadCheckpoint(ctx, stack.NewStateStore(c, stateIdx), det)
		if err != nil {
			t.Fatal(err)
		}
		return doc.Checkpoint
	}

	// 1: the first 15 minutes, no fault.
	first, err := run(t0.Add(15 * time.Minute))
	if err != nil {
		t.Fatalf("run 1: %v", err)
	}
	cp1 := checkpoint()
	if cp1.IsZero() || !cp1.Equal(first.CheckpointAfter) {
		t.Fatalf("run 1: checkpoint %v, outcome says %v", cp1, first.CheckpointAfter)
	}

	// 2: the rest, with the fault.
	end := t0.Add(75 * time.Minute)
	if kind == redIndex {
		prim, err := PrimaryNodes(ctx, c, evIdx)
		if err != nil || len(prim) == 0 {
			t.Fatalf("primaries of %s: %v %v", evIdx, prim, err)
		}
		victim.Store(int32(prim[len(prim)-1]))
		must(t, stop())
		t.Cleanup(func() { restart(t, nodes, c, int(victim.Load())) })
	}
	armed.Store(true)
	second, err2 := run(end)
	armed.Store(false)
	if kind != redIndex {
		fired, ferr := hook.Fired()
		if !fired {
			t.Fatalf("run 2 ended without the fault (%s, err %v): the hook never matched", second.Status, err2)
		}
		must(t, ferr)
		t.Cleanup(func() { restart(t, nodes, c, int(victim.Load())) })
	}
	cp2 := checkpoint()
	switch {
	case err2 != nil:
		t.Logf("run 2 failed as it should: %v", err2)
		if !cp2.Equal(cp1) {
			t.Errorf("run 2 failed, yet the checkpoint moved from %v to %v", cp1, cp2)
		}
		if kind == pitRead && !errors.Is(err2, cluster.ErrPartialResults) {
			t.Errorf("run 2: %v, want partial results", err2)
		}
	case kind == bulkWrite:
		// A bulk write may ride out a node loss (replicas are promoted,
		// pushed-back items re-sent); then every alert of the window
		// must be stored: run 3 is a no-op and the final count proves it.
		t.Logf("run 2 rode out the node loss: %d alerts created, checkpoint %v", second.AlertsCreated, cp2)
		if !cp2.Equal(second.CheckpointAfter) || !cp2.After(cp1) {
			t.Errorf("run 2 succeeded, checkpoint %v, outcome says %v", cp2, second.CheckpointAfter)
		}
	default:
		t.Fatalf("run 2 succeeded (%d events, %d alerts) over a partial read", second.EventsScanned, second.AlertsCreated)
	}

	// 3: again, with the node still down (replicas) or back (none).
	if kind == redIndex {
		restart(t, nodes, c, int(victim.Load()))
	} else {
		must(t, WaitHealth(ctx, c, "yellow", 2*time.Minute))
	}
	third, err := run(end)
	if err != nil {
		t.Fatalf("run 3 (cluster %s): %v", health(c), err)
	}
	if cp3 := checkpoint(); !cp3.After(cp1) || !cp3.Equal(third.CheckpointAfter) {
		t.Errorf("run 3: checkpoint %v (run 1 %v), outcome says %v", cp3, cp1, third.CheckpointAfter)
	}

	got, err := AlertCounts(ctx, c, alertIdx, ruleID)
	if err != nil {
		t.Fatal(err)
	}
	d := Compare(want, got)
	t.Logf("run 2 %s, run 3 %s (%d created); alerts: %s", second.Status, third.Status, third.AlertsCreated, d)
	if !d.OK() {
		t.Errorf("alerts against the file-mode run: %s", d)
	}
}

// armPITRead makes the hook kill the node holding the most contexts of the
// events' point in time, right after its first page.
func armPITRead(t *testing.T, hook *Hook, c *cluster.Client, evIdx string, armed *atomic.Bool, victim *atomic.Int32, stop func() error) {
	openPath := cluster.DocPath(evIdx, "_search", "point_in_time")
	var before map[int]int
	var open atomic.Bool
	hook.Before = func(ctx context.Context, req *cluster.Request) {
		if armed.Load() && req.Path == openPath {
			var err error
			if before, err = PITContexts(ctx, c); err != nil {
				t.Error(err)
			}
		}
	}
	hook.After = func(req cluster.Request, resp *cluster.Response) bool {
		switch {
		case !armed.Load() || fired(hook):
			return false
		case req.Path == openPath:
			after, err := PITContexts(context.Background(), c)
			if err != nil {
				t.Error(err)
				return false
			}
			best, most := 0, 0
			for n, k := range after {
				if d := k - before[n]; d > most {
					best, most = n, d
				}
			}
			victim.Store(int32(best))
			open.Store(best != 0)
			return false
		}
		// A page of the events' point in time (not its size-0 count).
		return open.Load() && req.Path == "/_search" && bytes.Contains(req.Body, []byte(`"pit"`)) &&
			bytes.Contains(req.Body, []byte(fmt.Sprintf(`"size":%d`, pageSize))) && resp.Status == http.StatusOK
	}
	hook.Fault = stop
}

// armBulkWrite makes the hook kill a node holding a primary of the alert
// index, right after the first bulk chunk of alerts was answered.
func armBulkWrite(t *testing.T, hook *Hook, c *cluster.Client, alertIdx string, armed *atomic.Bool, victim *atomic.Int32, stop func() error) {
	bulkPath := cluster.DocPath(alertIdx, "_bulk")
	hook.After = func(req cluster.Request, resp *cluster.Response) bool {
		if !armed.Load() || fired(hook) || req.Path != bulkPath || resp.Status != http.StatusOK {
			return false
		}
		prim, err := PrimaryNodes(context.Background(), c, alertIdx)
		if err != nil || len(prim) == 0 {
			t.Errorf("primaries of %s: %v %v", alertIdx, prim, err)
			return false
		}
		victim.Store(int32(prim[len(prim)-1]))
		return true
	}
	hook.Fault = stop
}

func fired(h *Hook) bool {
	f, _ := h.Fired()
	return f
}

// restart starts node n again (once) and waits for green.
func restart(t *testing.T, nodes Nodes, c *cluster.Client, n int) {
	t.Helper()
	if n == 0 {
		return
	}
	ctx := context.Background()
	if ids, err := NodeIDs(ctx, c); err == nil {
		for _, i := range ids {
			if i == n {
				return // running
			}
		}
	}
	if err := nodes.Start(ctx, n); err != nil {
		t.Fatal(err)
	}
	if err := WaitHealth(ctx, c, "green", 3*time.Minute); err != nil {
		t.Fatal(err)
	}
}

func health(c *cluster.Client) string {
	var r struct {
		Status string `json:"status"`
		Nodes  int    `json:"number_of_nodes"`
	}
	if err := c.Call(context.Background(), "health", cluster.Request{Method: http.MethodGet, Path: "/_cluster/health"}, &r); err != nil {
		return err.Error()
	}
	return fmt.Sprintf("%s, %d nodes", r.Status, r.Nodes)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var (
	alertMapping = map[string]any{"dynamic": false, "properties": map[string]any{
		"@timestamp": map[string]any{"type": "date"},
		"event":      map[string]any{"properties": map[string]any{"id": map[string]any{"type": "keyword"}}},
		"rule":       map[string]any{"properties": map[string]any{"id": map[string]any{"type": "keyword"}}},
	}}
	stateMapping = map[string]any{"dynamic": false, "properties": map[string]any{
		"type": map[string]any{"type": "keyword"}, "detection": map[string]any{"type": "keyword"},
		"checkpoint": map[string]any{"type": "date"}, "holder": map[string]any{"type": "keyword"},
		"expires_at": map[string]any{"type": "date"},
	}}
)

// testWriter sends the node script's output and warnings to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

var _ io.Writer = testWriter{}
