package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/incremental"
	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/stack"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/connectors/cluster/clustertest"
	"github.com/edgewatch/edgewatch/connectors/conformance"
	"github.com/edgewatch/edgewatch/internal/serve"
	"github.com/edgewatch/edgewatch/internal/testenv"
	"github.com/edgewatch/edgewatch/internal/testproc"
	"github.com/edgewatch/edgewatch/plugin"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// hostProcess adapts a plugin.Client to serve.PluginProcess (what
// `edgewatch serve` does in servecmd).
type hostProcess struct{ c *plugin.Client }

func (p hostProcess) Exec(ctx context.Context, op string, args json.RawMessage, secrets map[string]string, s plugin.Stream) (json.RawMessage, error) {
	return p.c.Exec(ctx, op, args, secrets, s)
}
func (p hostProcess) Validate(context.Context, json.RawMessage, map[string]string) ([]string, error) {
	return nil, nil
}
func (p hostProcess) Exited() bool { return p.c.Exited() }
func (p hostProcess) Close()       { p.c.Close() }

func buildOpsPlugin(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go tool not on PATH: %v", err)
	}
	path := filepath.Join(t.TempDir(), "edgewatch-defender-ti")
	if out, err := exec.Command(gobin, "build", "-o", path, "./testdata/opsplugin").CombinedOutput(); err != nil {
		t.Fatalf("build plugin: %v\n%s", err, out)
	}
	return path
}

func countDocs(t *testing.T, c *cluster.Client, index string) int {
	t.Helper()
	ctx := context.Background()
	if err := c.Refresh(ctx, index); err != nil {
		return 0
	}
	var r struct {
		Count int `json:"count"`
	}
	if err := c.Call(ctx, "count", cluster.Request{Method: http.MethodGet, Path: "/" + index + "/_count"}, &r); err != nil {
		t.Fatal(err)
	}
	return r.Count
}

// TestPluginKilledMidWrite runs detection.run_incremental in a real plugin
// process against OpenSearch, kills the process (SIGKILL) while it is
// writing alerts, and checks that the checkpoint did not move and that the
// next run (in a restarted process) loses nothing and duplicates nothing.
func TestPluginKilledMidWrite(t *testing.T) {
	testenv.SkipShort(t, testenv.OpenSearch)
	c := clustertest.Connect(t, cluster.OpenSearch).Client
	pluginPath := buildOpsPlugin(t)
	w := newClusterWorld(c)(t).(*clusterWorld)
	ctx := context.Background()

	// 12,000 matching connections over the last two hours.
	now := time.Now().UTC()
	w.addDevice(t, now.Add(-24*time.Hour))
	const n = 12000
	evs := make([]evSpec, n)
	for i := range evs {
		evs[i] = evSpec{Time: now.Add(-2 * time.Hour).Add(time.Duration(i) * 590 * time.Millisecond), Remote: fmt.Sprintf("198.51.100.%d", 10+i%5), ReportID: fmt.Sprint(500000 + i)}
	}
	w.Publish(t, evs)
	feed := "e2e" + conformance.UniqueIndex("f")[2:]
	if _, err := stack.LoadFeed(ctx, c, feed, feedSet().All(), stack.LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	det := conformance.UniqueIndex("e2e-kill")
	t.Cleanup(func() {
		_ = c.Call(ctx, "delete feed", cluster.Request{Method: http.MethodDelete, Path: "/" + wire.FeedAlias(feed) + "-*"}, nil)
		// The plugin wrote its checkpoint, lease and run records into the
		// shared state index: remove them (search + bulk delete: the test
		// distributions have no _delete_by_query).
		deleteStateDocs(t, c, det)
	})

	cfg, err := serve.ParseConfig([]byte(fmt.Sprintf(`
detections:
  - name: %s
    initial_lookback: 3h
    max_window: 3h
    settings:
      source: opensearch
      cluster:
        urls: [%q]
        device_info_index: %s
        network_events_index: %s
        alert_index: %s
        indicator_feed: %s
        profile: advanced-hunting
`, det, os.Getenv("EDGEWATCH_OPENSEARCH_URL"), w.devIdx, w.evIdx, w.alerts, feed)), os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	d := cfg.Detections[0]

	var mu sync.Mutex
	var current *plugin.Client
	pctx, pcancel := context.WithCancel(ctx)
	defer pcancel()
	sup := serve.NewSupervisor(func(context.Context) (serve.PluginProcess, error) {
		cl, err := plugin.Launch(pctx, pluginPath, plugin.Options{})
		if err != nil {
			return nil, err
		}
		mu.Lock()
		current = cl
		mu.Unlock()
		return hostProcess{cl}, nil
	}, serve.SupervisorOptions{InitialBackoff: 50 * time.Millisecond})
	defer sup.Close()
	runner := serve.PluginRunner{Sup: sup}

	type result struct {
		res serve.RunResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := runner.Run(ctx, serve.RunRequest{RunID: "kill-1", Detection: d, Holder: "e2e-serve", Trigger: "test"})
		done <- result{res, err}
	}()
	// Kill the plugin as soon as some, not all, alerts are stored.
	var killedAt int
	for deadline := time.Now().Add(2 * time.Minute); ; {
		if k := countDocs(t, c, w.alerts); k > 0 {
			mu.Lock()
			pid := current.Pid()
			mu.Unlock()
			if err := testproc.Kill(pid); err != nil {
				t.Fatal(err)
			}
			killedAt = k
			break
		}
		select {
		case r := <-done:
			t.Fatalf("the run finished before it could be killed: %+v %v", r.res, r.err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("no alert appeared")
		}
		time.Sleep(20 * time.Millisecond)
	}
	r := <-done
	if r.err == nil {
		t.Fatalf("the killed run reported success: %+v", r.res)
	}
	t.Logf("killed with %d alerts stored: %v", killedAt, r.err)
	time.Sleep(500 * time.Millisecond) // let an in-flight bulk request land
	partial := countDocs(t, c, w.alerts)
	if partial == 0 || partial >= n {
		t.Fatalf("%d alerts after the kill, want some of %d", partial, n)
	}
	st := clusterStateOf(c)
	if doc, found, err := incremental.ReadCheckpoint(ctx, st, det); err != nil || (found && !doc.Checkpoint.IsZero()) {
		t.Fatalf("checkpoint after the kill: %+v found=%v err=%v", doc, found, err)
	}

	// The next run restarts the plugin and re-takes its own lease at once.
	res, err := runner.Run(ctx, serve.RunRequest{RunID: "kill-2", Detection: d, Holder: "e2e-serve", Trigger: "test"})
	if err != nil {
		t.Fatalf("rerun: %v", err)
	}
	if res.AlertsCreated+res.AlreadyPresent != n || res.AlreadyPresent != partial {
		t.Fatalf("rerun created %d, already present %d; want %d in all, %d present", res.AlertsCreated, res.AlreadyPresent, n, partial)
	}
	if got := countDocs(t, c, w.alerts); got != n {
		t.Fatalf("%d alerts stored, want %d", got, n)
	}
	doc, found, err := incremental.ReadCheckpoint(ctx, st, det)
	if err != nil || !found || doc.Checkpoint.IsZero() || doc.LastRun == nil || doc.LastRun.RunID != "kill-2" {
		t.Fatalf("checkpoint after the rerun: %+v %v", doc, err)
	}
	if ps := sup.Status(); ps.Starts != 2 || ps.Crashes != 1 {
		t.Fatalf("supervisor %+v", ps)
	}
}

// deleteStateDocs removes detection's documents from the shared state index.
func deleteStateDocs(t *testing.T, c *cluster.Client, detection string) {
	ctx := context.Background()
	_ = c.Refresh(ctx, wire.StateIndex)
	var r cluster.SearchHits[json.RawMessage]
	q := map[string]any{"size": 10000, "_source": false, "query": map[string]any{"match_phrase": map[string]any{"detection": detection}}}
	if err := c.Call(ctx, "search state", cluster.Request{Method: http.MethodPost, Path: "/" + wire.StateIndex + "/_search", Body: cluster.JSON(q)}, &r); err != nil {
		t.Logf("cleanup: %v", err)
		return
	}
	var body []byte
	for _, h := range r.Hits.Hits {
		body = append(body, cluster.JSON(map[string]any{"delete": map[string]any{"_index": wire.StateIndex, "_id": h.ID}})...)
		body = append(body, '\n')
	}
	if len(body) == 0 {
		return
	}
	if err := c.Call(ctx, "delete state docs", cluster.Request{Method: http.MethodPost, Path: "/_bulk", NDJSON: true, Body: body}, nil); err != nil {
		t.Logf("cleanup: %v", err)
	}
}
