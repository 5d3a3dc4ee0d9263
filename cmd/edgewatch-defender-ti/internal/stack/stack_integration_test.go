package stack_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/stack"
	"github.com/edgewatch/edgewatch/connectors/alertstore"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/connectors/cluster/clustertest"
	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/dashboards"
	"github.com/edgewatch/edgewatch/internal/testenv"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// Integration tests of the write side (templates, bulk, alert writer,
// indicator lookup index, state index) against the real servers that
// scripts/cluster.sh starts. Each runs once per flavor.

// mappingTypes flattens GET <index>/_mapping into path -> type (objects
// whose "enabled" is false are reported as "disabled-object").
func mappingTypes(t *testing.T, c *cluster.Client, index string) map[string]string {
	t.Helper()
	var m map[string]struct {
		Mappings struct {
			Properties map[string]any `json:"properties"`
		} `json:"mappings"`
	}
	clustertest.Call(t, c, "GET", "/"+index+"/_mapping", nil, &m)
	out := map[string]string{}
	var walk func(prefix string, props map[string]any)
	walk = func(prefix string, props map[string]any) {
		for k, v := range props {
			f := v.(map[string]any)
			p := prefix + k
			if en, ok := f["enabled"].(bool); ok && !en {
				out[p] = "disabled-object"
				continue
			}
			if sub, ok := f["properties"].(map[string]any); ok {
				walk(p+".", sub)
				continue
			}
			typ, _ := f["type"].(string)
			out[p] = typ
			if mf, ok := f["fields"].(map[string]any); ok {
				for sk, sv := range mf {
					st, _ := sv.(map[string]any)["type"].(string)
					out[p+"."+sk] = st
				}
			}
		}
	}
	for _, idx := range m {
		walk("", idx.Mappings.Properties)
	}
	return out
}

func TestInstallTemplates(t *testing.T) {
	clustertest.Run(t, func(t *testing.T, tg clustertest.Target) {
		ctx := context.Background()
		c := tg.Client
		steps, err := stack.InstallTemplates(ctx, c, stack.TemplateOptions{})
		if err != nil {
			t.Fatalf("install: %v (%v)", err, steps)
		}
		for _, s := range steps {
			if s.Outcome == wire.StepFailed {
				t.Fatalf("step failed: %s", s)
			}
		}
		// Idempotent: the second install changes nothing.
		steps, err = stack.InstallTemplates(ctx, c, stack.TemplateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(steps) != 5 {
			t.Fatalf("steps %v, want 4 templates + state index", steps)
		}
		for _, s := range steps {
			if s.Outcome != wire.StepAlreadyPresent {
				t.Errorf("second install: %s, want already-present", s)
			}
		}
		// The mapping of a new alert index, as the server returns it.
		index := clustertest.Name(t, tg, "edgewatch-alerts-it")
		clustertest.Call(t, c, "PUT", "/"+index, nil, nil)
		got := mappingTypes(t, c, index)
		for path, want := range map[string]string{
			"@timestamp": "date", "event.created": "date", "event.severity": "long", "event.id": "keyword",
			"event.category": "keyword", "host.id": "keyword", "host.name": "keyword",
			"source.ip": "ip", "source.port": "long", "destination.ip": "ip", "destination.port": "long",
			"network.transport": "keyword", "process.name": "keyword", "process.command_line": "keyword",
			"process.command_line.text": "text", "process.pid": "long",
			"threat.indicator.ip": "ip", "threat.indicator.provider": "keyword", "threat.feed.name": "keyword",
			"threat.enrichments.indicator.ip": "ip", "threat.enrichments.matched.atomic": "keyword",
			"edgewatch.internet_facing.local_ip": "ip", "edgewatch.internet_facing.local_port": "long",
			"edgewatch.internet_facing.reason": "keyword", "edgewatch.internet_facing.device_info_time": "date",
			"edgewatch.indicator.count": "integer", "edgewatch.indicator.level": "integer",
			"edgewatch.severity": "keyword", "edgewatch.retro_hunt": "boolean",
			"defender.network_event": "disabled-object", "related.ip": "ip", "related.hosts": "keyword",
			"edgewatch.group_id": "keyword", "edgewatch.suppression.docs_count": "long", "edgewatch.suppression.start": "date",
			"edgewatch.suppression.terms.value": "keyword",
		} {
			if got[path] != want {
				t.Errorf("%s: mapped %q, want %q", path, got[path], want)
			}
		}
		// A findings index: the same, with @timestamp in nanoseconds.
		fi := clustertest.Name(t, tg, "edgewatch-findings-it")
		clustertest.Call(t, c, "PUT", "/"+fi, nil, nil)
		gf := mappingTypes(t, c, fi)
		if gf["@timestamp"] != "date_nanos" || gf["edgewatch.group_id"] != "keyword" || gf["event.id"] != "keyword" {
			t.Errorf("findings mapping: @timestamp %q, group_id %q", gf["@timestamp"], gf["edgewatch.group_id"])
		}
		// The indicator and state templates, through indices they match.
		ind := clustertest.Name(t, tg, "edgewatch-indicators-it")
		clustertest.Call(t, c, "PUT", "/"+ind, nil, nil)
		gi := mappingTypes(t, c, ind)
		for path, want := range map[string]string{"ip": "ip", "range": "ip_range", "level": "integer", "count": "integer",
			"feed": "keyword", "first_seen": "date", "last_seen": "date", "loaded_at": "date", "value": "keyword"} {
			if gi[path] != want {
				t.Errorf("indicators %s: mapped %q, want %q", path, gi[path], want)
			}
		}
		gs := mappingTypes(t, c, wire.StateIndex)
		for path, want := range map[string]string{"type": "keyword", "detection": "keyword", "window.from": "date",
			"duration_ms": "long", "counts.alerts_created": "long", "checkpoint": "date", "expires_at": "date"} {
			if gs[path] != want {
				t.Errorf("state %s: mapped %q, want %q", path, gs[path], want)
			}
		}
	})
}

// ipsumFile parses a real IPsum level-4 file from the repository's snapshot
// (testdata/ipsum; EDGEWATCH_IPSUM_DIR overrides).
func ipsumFile(t *testing.T, rel string, want int) *correlation.IndicatorSet {
	t.Helper()
	path := filepath.Join(testenv.IPsumDir(t), rel)
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("IPsum %s: %v", rel, err)
	}
	defer f.Close()
	set := correlation.NewIndicatorSet("ipsum")
	rep, err := correlation.ParseFeed(f, path, correlation.FeedOptions{Name: "ipsum", LevelHint: 4}, set)
	if err != nil {
		t.Fatal(err)
	}
	if set.Len() != want {
		t.Fatalf("%s gave %d indicators (report %+v), want %d", rel, set.Len(), rep, want)
	}
	return set
}

// ipsumLevel4 is the newest real levels/4.txt (5354 addresses).
func ipsumLevel4(t *testing.T) *correlation.IndicatorSet { return ipsumFile(t, "levels/4.txt", 5354) }

func feedName(t *testing.T) string {
	return fmt.Sprintf("it%d", time.Now().UnixNano()%1e9)
}

func cleanupFeed(t *testing.T, tg clustertest.Target, name string) {
	t.Cleanup(func() {
		clustertest.DeleteIndices(t, tg, wire.IndicatorIndexPrefix+name+"-*")
	})
}

func TestFeedRoundTripRealIPsum(t *testing.T) {
	set := ipsumLevel4(t)
	clustertest.Run(t, func(t *testing.T, tg clustertest.Target) {
		ctx := context.Background()
		name := feedName(t)
		cleanupFeed(t, tg, name)
		t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		res, err := stack.LoadFeed(ctx, tg.Client, name, set.All(), stack.LoadOptions{Now: func() time.Time { return t0 }})
		if err != nil {
			t.Fatal(err)
		}
		if !res.FirstLoad || res.Written != 5354 || len(res.Added) != 5354 || res.Previous != "" {
			t.Fatalf("load: %+v", res)
		}
		got, err := stack.ReadIndicators(ctx, tg.Client, name)
		if err != nil {
			t.Fatal(err)
		}
		if got.Len() != set.Len() {
			t.Fatalf("read back %d indicators, want %d", got.Len(), set.Len())
		}
		for ind := range set.All() {
			back, ok := got.Lookup(ind.Prefix.Addr())
			if !ok || back.Prefix != ind.Prefix || back.Level != 4 || back.Feed != "ipsum" {
				t.Fatalf("indicator %v read back as %+v (found %v)", ind, back, ok)
			}
		}
		st, err := stack.FeedStatus(ctx, tg.Client, name)
		if err != nil {
			t.Fatal(err)
		}
		if !st.Live || st.Index != res.Index || st.Total != 5354 || st.PerLevel[4] != 5354 || len(st.PerLevel) != 1 ||
			!st.LoadedAt.Equal(t0) || st.Age <= 0 || st.Ranges != 0 {
			t.Fatalf("status %+v", st)
		}
		feeds, err := stack.Feeds(ctx, tg.Client)
		if err != nil || !contains(feeds, name) {
			t.Fatalf("feeds %v (%v) lacks %s", feeds, err, name)
		}
	})
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func mustPrefix(s string) netip.Prefix {
	if strings.Contains(s, "/") {
		return netip.MustParsePrefix(s)
	}
	a := netip.MustParseAddr(s)
	return netip.PrefixFrom(a, a.BitLen())
}

func indicatorSeq(vals ...string) func(func(correlation.Indicator) bool) {
	return func(yield func(correlation.Indicator) bool) {
		for i, v := range vals {
			if !yield(correlation.Indicator{Prefix: mustPrefix(v), Count: i%8 + 1, Level: i%8 + 1, Feed: "ipsum"}) {
				return
			}
		}
	}
}

type seenDoc struct {
	Value     string    `json:"value"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	LoadedAt  time.Time `json:"loaded_at"`
}

func getIndicator(t *testing.T, tg clustertest.Target, alias, id string) seenDoc {
	t.Helper()
	var r cluster.SearchHits[seenDoc]
	clustertest.Call(t, tg.Client, "POST", "/"+alias+"/_search", map[string]any{"query": map[string]any{"term": map[string]any{"value": id}}}, &r)
	if len(r.Hits.Hits) != 1 {
		t.Fatalf("%s: %d hits for %s", alias, len(r.Hits.Hits), id)
	}
	return r.Hits.Hits[0].Source
}

func TestFeedSwapKeepsFirstSeenAndReportsAdded(t *testing.T) {
	clustertest.Run(t, func(t *testing.T, tg clustertest.Target) {
		ctx := context.Background()
		c := tg.Client
		name := feedName(t)
		cleanupFeed(t, tg, name)
		alias := wire.FeedAlias(name)
		t1 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		t2, t3 := t1.Add(24*time.Hour), t1.Add(48*time.Hour)
		r1, err := stack.LoadFeed(ctx, c, name, indicatorSeq("203.0.113.1", "203.0.113.2", "198.51.100.0/24", "2001:db8::1"),
			stack.LoadOptions{Now: func() time.Time { return t1 }})
		if err != nil {
			t.Fatal(err)
		}
		r2, err := stack.LoadFeed(ctx, c, name, indicatorSeq("203.0.113.2", "198.51.100.0/24", "203.0.113.9"),
			stack.LoadOptions{Now: func() time.Time { return t2 }})
		if err != nil {
			t.Fatal(err)
		}
		if r2.FirstLoad || r2.Previous != r1.Index || r2.Kept != 2 || r2.Removed != 2 || len(r2.Added) != 1 ||
			r2.Added[0].Prefix != mustPrefix("203.0.113.9") || len(r2.Deleted) != 0 {
			t.Fatalf("second load: %+v", r2)
		}
		if d := getIndicator(t, tg, alias, "203.0.113.2"); !d.FirstSeen.Equal(t1) || !d.LastSeen.Equal(t2) || !d.LoadedAt.Equal(t2) {
			t.Fatalf("persisting indicator: %+v, want first_seen %v last_seen %v", d, t1, t2)
		}
		if d := getIndicator(t, tg, alias, "198.51.100.0/24"); !d.FirstSeen.Equal(t1) {
			t.Fatalf("persisting range: %+v", d)
		}
		if d := getIndicator(t, tg, alias, "203.0.113.9"); !d.FirstSeen.Equal(t2) {
			t.Fatalf("new indicator: %+v", d)
		}
		if n := clustertest.Count(t, c, alias); n != 3 {
			t.Fatalf("alias serves %d documents, want 3", n)
		}
		// The range is looked up by containment.
		var hits struct {
			Hits struct {
				Total struct{ Value int } `json:"total"`
			} `json:"hits"`
		}
		clustertest.Call(t, c, "POST", "/"+alias+"/_search", map[string]any{"query": map[string]any{"term": map[string]any{"range": "198.51.100.77"}}}, &hits)
		if hits.Hits.Total.Value != 1 {
			t.Fatalf("ip_range lookup found %d", hits.Hits.Total.Value)
		}
		// Third load: the first index is deleted, the second kept for rollback.
		r3, err := stack.LoadFeed(ctx, c, name, indicatorSeq("203.0.113.9"), stack.LoadOptions{Now: func() time.Time { return t3 }})
		if err != nil {
			t.Fatal(err)
		}
		if len(r3.Deleted) != 1 || r3.Deleted[0] != r1.Index {
			t.Fatalf("third load deleted %v, want [%s]", r3.Deleted, r1.Index)
		}
		st, err := stack.FeedStatus(ctx, c, name)
		if err != nil || st.Index != r3.Index || len(st.Others) != 1 || st.Others[0] != r2.Index || st.Total != 1 {
			t.Fatalf("status %+v %v", st, err)
		}
	})
}

func TestFeedLoadFailureNeverChangesLiveFeed(t *testing.T) {
	set := ipsumLevel4(t)
	clustertest.Run(t, func(t *testing.T, tg clustertest.Target) {
		ctx := context.Background()
		name := feedName(t)
		cleanupFeed(t, tg, name)
		alias := wire.FeedAlias(name)
		good, err := stack.LoadFeed(ctx, tg.Client, name, indicatorSeq("203.0.113.1", "203.0.113.2"), stack.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// A Doer that lets two bulk requests through, checks that the alias
		// still serves the old feed while the new one is half written, and
		// fails the third bulk request.
		var bulks atomic.Int32
		var midLoadCount int64 = -1
		var halfIndex string
		real := tg.Client.Doer()
		faulty := cluster.DoerFunc(func(ctx context.Context, req cluster.Request) (*cluster.Response, error) {
			if strings.HasSuffix(req.Path, "/_bulk") {
				if bulks.Add(1) == 3 {
					halfIndex = strings.Split(req.Path, "/")[1]
					midLoadCount = clustertest.Count(t, tg.Client, alias)
					return &cluster.Response{Status: 400, Body: []byte(`{"error":{"type":"injected_failure","reason":"test fault after 2 bulk requests"},"status":400}`)}, nil
				}
			}
			return real.Do(ctx, req)
		})
		bad := tg.Client.WithDoer(faulty)
		_, err = stack.LoadFeed(ctx, bad, name, set.All(), stack.LoadOptions{Bulk: cluster.BulkOptions{MaxDocs: 500}})
		var fe *stack.FeedLoadError
		if !errors.As(err, &fe) || fe.Stage != "write" || !strings.Contains(err.Error(), "injected_failure") || fe.Live != good.Index {
			t.Fatalf("err = %v", err)
		}
		t.Logf("reported: %v", err)
		if midLoadCount != 2 {
			t.Fatalf("while the new index was half written the alias served %d documents, want the old 2", midLoadCount)
		}
		st, err := stack.FeedStatus(ctx, tg.Client, name)
		if err != nil || st.Index != good.Index || st.Total != 2 {
			t.Fatalf("after the failed load: %+v %v", st, err)
		}
		resp, err := tg.Client.Do(ctx, cluster.Request{Method: http.MethodHead, Path: "/" + halfIndex})
		if err != nil || resp.Status != 404 || !strings.HasPrefix(halfIndex, alias+"-") {
			t.Fatalf("half-written index %q still there (status %v, %v)", halfIndex, resp, err)
		}
		// The next good load still works and sees the old feed as previous.
		r, err := stack.LoadFeed(ctx, tg.Client, name, indicatorSeq("203.0.113.2", "203.0.113.3"), stack.LoadOptions{})
		if err != nil || r.Previous != good.Index || len(r.Added) != 1 {
			t.Fatalf("load after failure: %+v %v", r, err)
		}
	})
}

func TestFeedNameChecks(t *testing.T) {
	clustertest.Run(t, func(t *testing.T, tg clustertest.Target) {
		for _, n := range []string{"", "UPPER", "a*b", "../x", strings.Repeat("x", 65)} {
			if _, err := stack.LoadFeed(context.Background(), tg.Client, n, indicatorSeq(), stack.LoadOptions{}); !errors.Is(err, cluster.ErrConfig) {
				t.Errorf("feed name %q: err = %v", n, err)
			}
		}
		if _, err := stack.ReadIndicators(context.Background(), tg.Client, "never-loaded-feed"); !errors.Is(err, stack.ErrNoFeed) || !errors.Is(err, cluster.ErrNotFound) {
			t.Errorf("missing feed: err = %v", err)
		}
		st, err := stack.FeedStatus(context.Background(), tg.Client, "never-loaded-feed")
		if err != nil || st.Live {
			t.Errorf("missing feed status: %+v %v", st, err)
		}
	})
}

func TestStateCompareAndSet(t *testing.T) {
	clustertest.Run(t, func(t *testing.T, tg clustertest.Target) {
		ctx := context.Background()
		c := tg.Client
		index := clustertest.Name(t, tg, "edgewatch-cas-it")
		id := "lease/detection-a" // a slash: the id is path-escaped
		v1, err := stack.CreateDoc(ctx, c, index, id, []byte(`{"type":"lease","holder":"a"}`))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := stack.CreateDoc(ctx, c, index, id, []byte(`{"type":"lease","holder":"b"}`)); !errors.Is(err, cluster.ErrConflict) {
			t.Fatalf("second create: %v, want ErrConflict", err)
		}
		doc, err := stack.GetDoc(ctx, c, index, id)
		if err != nil || !doc.Found || doc.SeqNo != v1.SeqNo || doc.PrimaryTerm != v1.PrimaryTerm || !strings.Contains(string(doc.Source), `"a"`) {
			t.Fatalf("get: %+v %v (create returned %+v)", doc, err, v1)
		}
		v2, err := stack.PutDocIfMatch(ctx, c, index, id, []byte(`{"type":"lease","holder":"b"}`), doc.SeqNo, doc.PrimaryTerm)
		if err != nil || v2.SeqNo <= v1.SeqNo {
			t.Fatalf("conditional put: %+v %v", v2, err)
		}
		// A writer holding the old token loses.
		_, err = stack.PutDocIfMatch(ctx, c, index, id, []byte(`{"type":"lease","holder":"c"}`), doc.SeqNo, doc.PrimaryTerm)
		if !errors.Is(err, cluster.ErrConflict) || cluster.IsRetryable(err) {
			t.Fatalf("stale put: %v, want non-retryable ErrConflict", err)
		}
		if doc, err := stack.GetDoc(ctx, c, index, id); err != nil || !doc.Found || doc.SeqNo != v2.SeqNo || !strings.Contains(string(doc.Source), `"b"`) {
			t.Fatalf("after the conditional put: %+v %v", doc, err)
		}
		if _, err := stack.GetDoc(ctx, c, index+"-missing", "x"); !errors.Is(err, cluster.ErrNotFound) {
			t.Fatalf("missing index: %v", err)
		}
	})
}

func TestRunRecord(t *testing.T) {
	clustertest.Run(t, func(t *testing.T, tg clustertest.Target) {
		ctx := context.Background()
		c := tg.Client
		if _, err := stack.InstallTemplates(ctx, c, stack.TemplateOptions{}); err != nil {
			t.Fatal(err)
		}
		start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		rec := wire.RunRecord{Detection: "it-detection", RunID: fmt.Sprintf("it-%d", time.Now().UnixNano()),
			Window: wire.Window{From: start.Add(-time.Hour), To: start}, StartedAt: start, FinishedAt: start.Add(1500 * time.Millisecond),
			Outcome: wire.StatusSuccess, Counts: wire.RunCounts{EventsScanned: 1000, AlertsCreated: 3}}
		id, err := stack.WriteRunRecord(ctx, c, rec)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			c.Call(context.Background(), "cleanup", cluster.Request{Method: "DELETE", Path: cluster.DocPath(wire.StateIndex, "_doc", id)}, nil)
		})
		if _, err := stack.WriteRunRecord(ctx, c, rec); !errors.Is(err, cluster.ErrConflict) {
			t.Fatalf("same run twice: %v", err)
		}
		doc, err := stack.GetDoc(ctx, c, wire.StateIndex, id)
		if err != nil || !doc.Found {
			t.Fatal(doc, err)
		}
		var back wire.RunRecord
		if err := json.Unmarshal(doc.Source, &back); err != nil {
			t.Fatal(err)
		}
		if back.Type != "run" || back.DurationMS != 1500 || back.Counts.AlertsCreated != 3 || !back.Window.To.Equal(start) {
			t.Fatalf("stored %+v", back)
		}
	})
}

// TestFeedDiffRealIPsum loads the real level-4 feed of 2026-01-02, then the
// newest one: ipsum.md counts 1,408 addresses kept, 3,946 added and 8,446
// removed between them. Added is what retro-hunt re-scans for.
func TestFeedDiffRealIPsum(t *testing.T) {
	old := ipsumFile(t, "levels-4-2026-01-02.txt", 9854)
	cur := ipsumLevel4(t)
	clustertest.Run(t, func(t *testing.T, tg clustertest.Target) {
		ctx := context.Background()
		name := feedName(t)
		cleanupFeed(t, tg, name)
		if _, err := stack.LoadFeed(ctx, tg.Client, name, old.All(), stack.LoadOptions{}); err != nil {
			t.Fatal(err)
		}
		res, err := stack.LoadFeed(ctx, tg.Client, name, cur.All(), stack.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Kept != 1408 || len(res.Added) != 3946 || res.Removed != 8446 || res.Written != 5354 {
			t.Fatalf("kept %d added %d removed %d written %d, want 1408/3946/8446/5354", res.Kept, len(res.Added), res.Removed, res.Written)
		}
		for _, ind := range res.Added {
			if _, inOld := old.Lookup(ind.Prefix.Addr()); inOld {
				t.Fatalf("%v reported added but was in the old feed", ind.Prefix)
			}
		}
		// An empty feed file is a valid load (levels/8.txt was empty on
		// 2025-04-08): the live feed becomes empty.
		empty, err := stack.LoadFeed(ctx, tg.Client, name, func(func(correlation.Indicator) bool) {}, stack.LoadOptions{})
		if err != nil || empty.Written != 0 || empty.Removed != 5354 {
			t.Fatalf("empty load: %+v %v", empty, err)
		}
		st, err := stack.FeedStatus(ctx, tg.Client, name)
		if err != nil || !st.Live || st.Total != 0 || st.Index != empty.Index {
			t.Fatalf("after empty load: %+v %v", st, err)
		}
	})
}

// TestAlertIndexOutsidePattern: Install for an alert alias whose backing
// indices edgewatch-alerts-* does not match puts derived templates (for the
// alias and its findings alias), creates the aliases with the alert
// mapping and verifies it with the same check the run side uses
// (cluster.CheckAlertIndex); an index auto-created with dynamic mapping
// under the alias's name is neither migrated nor accepted: install's write
// alias and alert mapping steps fail; uninstall finds the derived templates
// (and no other).
func TestAlertIndexOutsidePattern(t *testing.T) {
	clustertest.Run(t, func(t *testing.T, tg clustertest.Target) {
		ctx := context.Background()
		c := tg.Client
		ops := clustertest.Name(t, tg, "ops-alerts")
		findings := wire.FindingsAlias(ops)
		derived, derivedFindings := "edgewatch-alert-index-"+ops, "edgewatch-alert-index-"+findings
		t.Cleanup(func() {
			for _, name := range []string{derived, derivedFindings} {
				_, _ = c.Do(context.Background(), cluster.Request{Method: http.MethodDelete, Path: "/_index_template/" + name})
			}
		})

		m, err := cluster.CheckAlertIndex(ctx, c, ops)
		if err != nil || m.OK() || m.Exists || !strings.Contains(m.String(), "no index template matches") {
			t.Fatalf("before install: %v, %v", m, err)
		}
		steps := stack.Install(ctx, c, stack.InstallOptions{AlertIndex: ops})
		outcome := map[string]string{}
		for _, s := range steps {
			outcome[s.Step+" "+s.Target] = s.Outcome
		}
		for _, k := range []string{"index template " + derived, "write alias " + ops, "alert mapping " + ops,
			"index template " + derivedFindings, "write alias " + findings} {
			if outcome[k] != wire.StepOK {
				t.Errorf("%s: %q, want ok (%v)", k, outcome[k], steps)
			}
		}
		got := mappingTypes(t, c, ops)
		if got["source.ip"] != "ip" || got["defender.network_event"] != "disabled-object" || got["event.id"] != "keyword" {
			t.Errorf("mapping of %s: source.ip %q, defender.network_event %q, event.id %q", ops, got["source.ip"], got["defender.network_event"], got["event.id"])
		}
		if f := mappingTypes(t, c, findings); f["@timestamp"] != "date_nanos" || f["source.ip"] != "ip" {
			t.Errorf("mapping of %s: @timestamp %q, source.ip %q", findings, f["@timestamp"], f["source.ip"])
		}
		if m, err := cluster.CheckAlertIndex(ctx, c, ops); err != nil || !m.OK() || !m.Exists {
			t.Errorf("after install: %v, %v", m, err)
		}
		// Idempotent (for this alias's steps: the shared bundled templates
		// may be re-put meanwhile by other suites on the same servers).
		for _, s := range stack.Install(ctx, c, stack.InstallOptions{AlertIndex: ops}) {
			if strings.Contains(s.Target, ops) && s.Outcome != wire.StepAlreadyPresent {
				t.Errorf("second install: %s", s)
			}
		}

		// Dynamic mapping: an index auto-created by a first write.
		dyn := clustertest.Name(t, tg, "ops-dynamic")
		clustertest.Call(t, c, http.MethodPut, "/"+dyn+"/_doc/1?refresh=true", map[string]any{
			"source": map[string]any{"ip": "203.0.113.9"}, "defender": map[string]any{"network_event": map[string]any{"RemoteIP": "203.0.113.9"}}}, nil)
		m, err = cluster.CheckAlertIndex(ctx, c, dyn)
		if err != nil || m.OK() || !strings.Contains(m.String(), "source.ip is text (want ip)") || !strings.Contains(m.String(), "defender.network_event is indexed") {
			t.Errorf("dynamic index: %v, %v", m, err)
		}
		t.Cleanup(func() {
			for _, name := range []string{dyn, wire.FindingsAlias(dyn)} {
				_, _ = c.Do(context.Background(), cluster.Request{Method: http.MethodDelete, Path: "/_index_template/edgewatch-alert-index-" + name})
			}
		})
		steps = stack.Install(ctx, c, stack.InstallOptions{AlertIndex: dyn})
		var mapping wire.Step
		for _, s := range steps {
			switch {
			case s.Step == "write alias" && s.Target == dyn && (s.Outcome != wire.StepFailed || !strings.Contains(s.Detail, "not migrated")):
				t.Errorf("write alias step over a dynamically mapped index: %s", s)
			case s.Step == "alert mapping":
				mapping = s
			}
		}
		if mapping.Target != dyn || mapping.Outcome != wire.StepFailed || !strings.Contains(mapping.Detail, "exists without the alert mapping") {
			t.Errorf("alert mapping step %s", mapping)
		}
		if a, err := alertstore.Resolve(ctx, c, dyn); err != nil || !a.Concrete {
			t.Errorf("%s is %+v (%v), want the single index left as it was", dyn, a, err)
		}

		// Uninstall finds the derived templates (only those). A dry run: a
		// real one would also remove derived templates of tests running in
		// parallel on the shared clusters.
		removed := map[string]string{}
		for _, s := range stack.RemoveDerivedTemplates(ctx, c, true) {
			removed[s.Target] = s.Outcome
		}
		for _, name := range []string{derived, derivedFindings} {
			if removed[name] != wire.StepWouldRemove {
				t.Errorf("derived template %s: %q (%v)", name, removed[name], removed)
			}
		}
		for name := range removed {
			if !strings.HasPrefix(name, "edgewatch-alert-index-") {
				t.Errorf("uninstall would remove %s, which is not a derived alert template", name)
			}
		}
		if resp, err := c.Do(ctx, cluster.Request{Method: http.MethodGet, Path: "/_index_template/" + dashboards.AlertsTemplate}); err != nil || resp.Status != 200 {
			t.Errorf("the bundled alert template is gone: %v %v", resp, err)
		}
	})
}
