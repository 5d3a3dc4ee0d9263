package engine

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/stack"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/connectors/cluster/clustertest"
	"github.com/edgewatch/edgewatch/connectors/conformance"
	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/internal/gen"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// windowSQL is seedSQL over one run's window: DeviceInfo rows in the
// facing look-back [?1, ?3) and events in [?2, ?3), as a cluster run reads
// them. Its distinct events go into the matched table, so that several
// runs' results add up.
var windowSQL = func() string {
	q := strings.Replace(seedSQL, "WHERE d.port IS NOT NULL AND NOT EXISTS (", "WHERE d.port IS NOT NULL AND d.ts >= ?1 AND d.ts < ?3 AND NOT EXISTS (", 1)
	q = strings.Replace(q, "WHERE g.device_id = d.device_id AND g.port = d.port", "WHERE g.device_id = d.device_id AND g.port = d.port AND g.ts >= ?1 AND g.ts < ?3", 1)
	q = strings.Replace(q, "AND e.remote IN (SELECT ip FROM feed)", "AND e.remote IN (SELECT ip FROM feed)\n  AND e.ts >= ?2 AND e.ts < ?3", 1)
	body, _, _ := strings.Cut(q, "ORDER BY")
	if body == seedSQL || !strings.Contains(body, "?2") || strings.Count(body, "?1") != 2 {
		panic("windowSQL: seedSQL changed shape")
	}
	return "INSERT OR IGNORE INTO matched\n" + body
}()

// runsReference is the grouped reference of several runs over the dataset:
// the union of each window's seed-SQL events, grouped by (DeviceId,
// unmapped RemoteIP, LocalPort, window) with COUNT, MIN and MAX.
func runsReference(t *testing.T, ds gen.Result, windows []wire.Window, group time.Duration) map[groupRef]groupVal {
	t.Helper()
	db := referenceDB(t, ds.DeviceInfoPath, ds.NetworkEventsPath, ds.FeedPath)
	if _, err := db.Exec(`CREATE TABLE matched (device_id TEXT, report_id TEXT, ts INTEGER, remote TEXT, local_port INTEGER,
		PRIMARY KEY (device_id, report_id, ts, remote, local_port))`); err != nil {
		t.Fatal(err)
	}
	for _, w := range windows {
		lb := w.From.Add(-DefaultFacingLookback)
		if _, err := db.Exec(windowSQL, lb.UnixMicro(), w.From.UnixMicro(), w.To.UnixMicro()); err != nil {
			t.Fatal(err)
		}
	}
	return queryGroups(t, db, `SELECT device_id, remote, local_port, (ts / ?1) * ?1 AS w, COUNT(*), MIN(ts), MAX(ts)
		FROM matched GROUP BY device_id, remote, local_port, w`, group.Microseconds())
}

// ingest indexes an NDJSON file of flat Advanced Hunting rows into a fresh
// advanced-hunting index deleted when the test ends.
func ingest(t *testing.T, tg clustertest.Target, path, index string) {
	t.Helper()
	conformance.CreateIndex(t, conformance.Target{Client: tg.Client}, index, conformance.IndexBody(cluster.ProfileAdvancedHunting, tg.Flavor))
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx := context.Background()
	var docs []conformance.Doc
	flush := func() {
		if err := conformance.Bulk(ctx, tg.Client.Doer(), docs, false); err != nil {
			t.Fatal(err)
		}
		docs = docs[:0]
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	first := true
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue // the bad rows the generator plants
		}
		docs = append(docs, conformance.Doc{Index: index, Source: m})
		if first || len(docs) == 5000 { // the first document alone fixes the dynamic mapping
			flush()
			first = false
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	flush()
	clustertest.Call(t, tg.Client, http.MethodPost, "/"+index+"/_refresh", nil, nil)
}

// TestGroupedClusterEqualsSQL (issue 15): in a cluster, two runs over
// overlapping windows, a rerun of the second window, and then two runs at
// once over the same last window leave one grouped alert per (device,
// threat IP, port, window) whose docs_count, start and end equal the SQL
// reference over the union of the runs' windows; the rerun changes
// nothing. Both servers.
func TestGroupedClusterEqualsSQL(t *testing.T) {
	ds := repeatedHits(t)
	const group = 6 * time.Hour
	start := time.Date(2025, 11, 3, 0, 0, 0, 0, time.UTC) // gen's default Start
	windows := []wire.Window{
		{From: start, To: start.Add(40 * time.Hour)},
		{From: start.Add(30 * time.Hour), To: start.Add(60 * time.Hour)},
		{From: start.Add(50 * time.Hour), To: start.Add(73 * time.Hour)},
	}
	want := runsReference(t, ds, windows, group)
	clustertest.Run(t, func(t *testing.T, tg clustertest.Target) {
		ctx := context.Background()
		if _, err := stack.InstallTemplates(ctx, tg.Client, stack.TemplateOptions{}); err != nil {
			t.Fatal(err)
		}
		di, ev := clustertest.Name(t, tg, "grp-deviceinfo"), clustertest.Name(t, tg, "grp-events")
		ingest(t, tg, ds.DeviceInfoPath, di)
		ingest(t, tg, ds.NetworkEventsPath, ev)
		alias := clustertest.Name(t, tg, "edgewatch-alerts-grp")
		findings := wire.FindingsAlias(alias)
		t.Cleanup(func() { clustertest.DeleteIndices(t, tg, findings, findings+"-*") })

		secrets := map[string]string{}
		if tg.Config.Password != "" {
			secrets[wire.SecretPassword] = tg.Config.Password
		}
		run := func(w wire.Window) (*wire.Summary, error) {
			s := wire.Settings{Source: string(tg.Flavor), Feeds: []string{ds.FeedPath}, From: w.From, To: w.To,
				GroupBy: groupBy, GroupWindow: wire.Duration(group),
				Cluster: &wire.ClusterSettings{URLs: tg.Config.URLs, Username: tg.Config.Username, Profile: cluster.ProfileAdvancedHunting,
					DeviceInfoIndex: di, NetworkEventsIndex: ev, AlertIndex: alias}}
			return Run(ctx, s, secrets, nil)
		}
		for i, w := range windows[:2] {
			sum, err := run(w)
			if err != nil {
				t.Fatalf("run %d: %v", i+1, err)
			}
			t.Logf("run %d %s: %d events, groups %+v", i+1, w, sum.Alerts.Matched, *sum.Groups)
		}
		rerun, err := run(windows[1])
		if err != nil {
			t.Fatal(err)
		}
		if g := rerun.Groups; g.Created != 0 || g.Updated != 0 || g.Unchanged != g.Touched || rerun.Alerts.Created != 0 {
			t.Errorf("rerun of the second window: findings %+v, groups %+v; want nothing written", rerun.Alerts, *g)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sum, err := run(windows[2])
				errs[i] = err
				if err == nil {
					t.Logf("concurrent run %d: groups %+v", i+1, *sum.Groups)
				}
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("concurrent run %d: %v", i+1, err)
			}
		}

		var alerts []*correlation.Alert
		for _, h := range clustertest.Search[*correlation.Alert](t, tg.Client, alias, map[string]any{"size": 10000}) {
			alerts = append(alerts, h.Source)
		}
		compareGroups(t, alertGroups(t, alerts), want)
	})
}
