package admin

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/engine"
	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/stack"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/connectors/cluster/clustertest"
	"github.com/edgewatch/edgewatch/connectors/conformance"
	"github.com/edgewatch/edgewatch/internal/report"
	"github.com/edgewatch/edgewatch/plugin"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// In-process tests of the operations against the real clusters
// (scripts/cluster.sh; skipped without EDGEWATCH_OPENSEARCH_URL /
// EDGEWATCH_ELASTICSEARCH_URL unless CI=true or EDGEWATCH_REQUIRE_CLUSTERS=1).
// The host+plugin path is tested in cmd/edgewatch-defender-ti (TestClusterEndToEnd).

func realDeps(c *cluster.Client) Deps {
	return Deps{Connect: func(context.Context, wire.Settings, map[string]string) (*cluster.Client, error) { return c, nil }}
}

func settingsFor(tg clustertest.Target) wire.Settings {
	return wire.Settings{Source: string(tg.Flavor), Cluster: &wire.ClusterSettings{URLs: tg.Config.URLs}}
}

// callOp runs op through a Mux the operations are registered on, as the
// plugin serves them (args and result go through JSON).
func callOp[A, R any](d Deps, op wire.Op[A, R], args A, secrets map[string]string, s plugin.Stream) (R, error) {
	m := &plugin.Mux{}
	Register(m, d)
	return plugin.Call(context.Background(), m, op, args, secrets, s)
}

// streamed keeps the alert documents an operation streams.
type streamed struct{ got []json.RawMessage }

func (*streamed) Progress(context.Context, wire.Progress) error { return nil }
func (d *streamed) Alerts(_ context.Context, batch plugin.AlertBatch) error {
	for _, doc := range batch.Documents() {
		d.got = append(d.got, doc)
	}
	return nil
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func uniqueFeed(t *testing.T, tg clustertest.Target) string {
	name := "t" + strings.TrimPrefix(conformance.UniqueIndex("x"), "x-")
	t.Cleanup(func() { clustertest.DeleteIndices(t, tg, wire.FeedAlias(name)+"-*") })
	return name
}

// TestFeedLoadOnClusters: the parse report names bad lines; a load that
// fails while writing reports why and leaves the live feed serving the
// previous load.
func TestFeedLoadOnClusters(t *testing.T) {
	clustertest.Run(t, func(t *testing.T, tg clustertest.Target) {
		name := uniqueFeed(t, tg)
		s := settingsFor(tg)
		// An ipsum.txt-style file: header, counts, two bad lines, a private
		// address (dropped as non-global), a CIDR.
		file := writeFile(t, "ipsum.txt", "# IPsum\n1.2.3.4\t5\nnot-an-ip\t3\n5.6.7.8\t2\n10.0.0.1\t9\n9.9.9.0/24\t4\n999.1.1.1\t7\n8.8.4.4\t1\n")
		res, err := callOp(realDeps(tg.Client), wire.OpFeedLoad, wire.FeedLoadArgs{Settings: s, File: file, Name: name, MinLevel: ptr(2)}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		rep := res.Parse[0]
		if res.Loaded != 3 || res.Added != 3 || res.Ranges != 1 || rep.Invalid != 2 || !slices.Equal(rep.InvalidLines, []int{3, 7}) ||
			rep.BelowLevel != 1 || rep.DroppedTotal() != 1 {
			t.Errorf("load %+v, parse %+v: want 3 loaded (1 range), invalid lines 3 and 7, 1 below level, 1 dropped", res, rep)
		}
		if res.PerLevel["5"] != 1 || res.PerLevel["2"] != 1 || res.PerLevel["4"] != 1 {
			t.Errorf("per level %v", res.PerLevel)
		}

		// Fail the second load's bulk writes.
		var bulks atomic.Int64
		faulty := tg.Client.WithDoer(cluster.DoerFunc(func(ctx context.Context, req cluster.Request) (*cluster.Response, error) {
			if strings.HasSuffix(req.Path, "/_bulk") {
				bulks.Add(1)
				return &cluster.Response{Status: 400, Body: []byte(`{"error":{"type":"illegal_argument_exception","reason":"injected failure"},"status":400}`)}, nil
			}
			return tg.Client.Doer().Do(ctx, req)
		}))
		other := writeFile(t, "other.txt", "20.0.0.1\n20.0.0.2\n")
		_, err = callOp(realDeps(faulty), wire.OpFeedLoad, wire.FeedLoadArgs{Settings: s, File: other, Name: name}, nil, nil)
		var fe *stack.FeedLoadError
		if !errors.As(err, &fe) || fe.Live != res.Index || !strings.Contains(err.Error(), "injected failure") || !strings.Contains(err.Error(), "unchanged") {
			t.Fatalf("failed load: %v, want a FeedLoadError naming the reason and the unchanged live index %s", err, res.Index)
		}
		if bulks.Load() == 0 {
			t.Fatal("the fault was never injected")
		}
		st, err := callOp(realDeps(tg.Client), wire.OpFeedStatus, wire.FeedStatusArgs{Settings: s, Name: name}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Feeds) != 1 || st.Feeds[0].Index != res.Index || st.Feeds[0].Total != 3 || len(st.Feeds[0].Others) != 0 {
			t.Errorf("after a failed load the feed is %+v, want %s with 3 indicators and no leftover index", st.Feeds, res.Index)
		}

		// A missing file fails before the cluster is touched.
		_, err = callOp(realDeps(tg.Client), wire.OpFeedLoad, wire.FeedLoadArgs{Settings: s, File: filepath.Join(t.TempDir(), "nope.txt"), Name: name}, nil, nil)
		if !errors.Is(err, engine.ErrConfig) || !strings.Contains(err.Error(), "no such file") {
			t.Errorf("missing file: %v", err)
		}
	})
}

func ptr[T any](v T) *T { return &v }

// goldenAlerts reads the sample's file-mode alerts.
func goldenAlerts(t *testing.T) []json.RawMessage {
	t.Helper()
	f, err := os.Open("../../../../testdata/sample/alerts.golden.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []json.RawMessage
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if len(strings.TrimSpace(sc.Text())) > 0 {
			out = append(out, json.RawMessage(slices.Clone(sc.Bytes())))
		}
	}
	return out
}

// TestReportOnClusters: the report reads the alert index (newest first,
// capped), run records and the feed, and says when it holds fewer alerts
// than the index.
func TestReportOnClusters(t *testing.T) {
	golden := goldenAlerts(t)
	clustertest.Run(t, func(t *testing.T, tg clustertest.Target) {
		ctx := context.Background()
		if _, err := stack.InstallTemplates(ctx, tg.Client, stack.TemplateOptions{}); err != nil {
			t.Fatal(err)
		}
		index := clustertest.Name(t, tg, "edgewatch-alerts-test")
		var docs []conformance.Doc
		var stamps []string
		for _, a := range golden {
			var m struct {
				TS    string `json:"@timestamp"`
				Event struct {
					ID string `json:"id"`
				} `json:"event"`
			}
			_ = json.Unmarshal(a, &m)
			docs = append(docs, conformance.Doc{Index: index, ID: m.Event.ID, Source: a})
			stamps = append(stamps, m.TS)
		}
		if err := conformance.Bulk(ctx, tg.Client.Doer(), docs, true); err != nil {
			t.Fatal(err)
		}
		name := uniqueFeed(t, tg)
		s := settingsFor(tg)
		s.Cluster.AlertIndex = index
		if _, err := callOp(realDeps(tg.Client), wire.OpFeedLoad, wire.FeedLoadArgs{Settings: s, File: writeFile(t, "f.txt", "1.2.3.4\t3\n5.6.7.8\t5\n"), Name: name}, nil, nil); err != nil {
			t.Fatal(err)
		}

		var all streamed
		full, err := callOp(realDeps(tg.Client), wire.OpReport, wire.ReportArgs{Settings: s, Feed: name}, nil, &all)
		if err != nil {
			t.Fatal(err)
		}
		if len(all.got) != len(golden) || full.TotalAlerts != int64(len(golden)) || full.Feed == nil || full.Feed.Feed != name || full.Feed.Total != 2 {
			t.Errorf("report: %d alerts streamed of %d, feed %+v; want %d, feed %s with 2", len(all.got), full.TotalAlerts, full.Feed, len(golden), name)
		}
		for i, doc := range all.got {
			if _, err := report.DecodeAlert(doc); err != nil {
				t.Errorf("streamed document %d does not decode as an alert: %v", i, err)
			}
		}

		var newest4 streamed
		capped, err := callOp(realDeps(tg.Client), wire.OpReport, wire.ReportArgs{Settings: s, MaxAlerts: 4, Feed: name}, nil, &newest4)
		if err != nil {
			t.Fatal(err)
		}
		if len(newest4.got) != 4 || capped.TotalAlerts != int64(len(golden)) {
			t.Errorf("capped report: %d streamed of %d", len(newest4.got), capped.TotalAlerts)
		}
		// The newest four were sent, newest first.
		sort.Sort(sort.Reverse(sort.StringSlice(stamps)))
		for i, doc := range newest4.got {
			a, err := report.DecodeAlert(doc)
			if err != nil || a.Timestamp.Format("2006-01-02T15:04:05") != stamps[i][:19] {
				t.Errorf("capped report alert %d at %v (%v), want %s", i, a.Timestamp, err, stamps[i][:19])
			}
		}

		// A missing alert index is a clear error.
		s.Cluster.AlertIndex = index + "-missing"
		_, err = callOp(realDeps(tg.Client), wire.OpReport, wire.ReportArgs{Settings: s}, nil, nil)
		if err == nil || !strings.Contains(err.Error(), "does not exist") {
			t.Errorf("missing index: %v", err)
		}
	})
}

// TestStatusOnClusters: status lists the live feeds and the last runs
// without the data indices configured.
func TestStatusOnClusters(t *testing.T) {
	clustertest.Run(t, func(t *testing.T, tg clustertest.Target) {
		name := uniqueFeed(t, tg)
		s := settingsFor(tg)
		if _, err := callOp(realDeps(tg.Client), wire.OpFeedLoad, wire.FeedLoadArgs{Settings: s, File: writeFile(t, "f.txt", "1.2.3.4\n"), Name: name}, nil, nil); err != nil {
			t.Fatal(err)
		}
		st, err := callOp(realDeps(tg.Client), wire.OpStatus, wire.StatusArgs{Settings: s}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, f := range st.Feeds {
			found = found || (f.Feed == name && f.Live && f.Total == 1)
		}
		if !found || st.Cluster != tg.Client.Info().String() {
			t.Errorf("status %+v does not list feed %s", st, name)
		}
	})
}
