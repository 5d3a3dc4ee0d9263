package engine

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/connectors"
	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/internal/gen"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// groupBy is the grouping the reference tests check: issue 15's (device,
// threat IP, local port) per window.
var groupBy = []string{"host.id", "source.ip", "destination.port"}

// groupRef is one group of the SQL reference, keyed like a grouped alert.
type groupRef struct {
	Device, Remote string
	Port           int
	Window         int64 // window start, µs since the epoch
}

type groupVal struct {
	Count      int64
	Start, End int64 // µs
}

func (k groupRef) String() string {
	return fmt.Sprintf("%s/%s/%d/%s", k.Device, k.Remote, k.Port, time.UnixMicro(k.Window).UTC().Format(time.RFC3339))
}

// groupedSQL is seedSQL's distinct events grouped by (DeviceId, unmapped
// RemoteIP, LocalPort, window): COUNT, MIN and MAX of the event time, the
// window being the event time floored to a multiple of ?1 (the window in
// µs) since the epoch.
var groupedSQL = func() string {
	body, _, _ := strings.Cut(seedSQL, "ORDER BY")
	return `WITH m AS (` + body + `)
SELECT device_id, remote, local_port, (ts / ?1) * ?1 AS w, COUNT(*), MIN(ts), MAX(ts)
FROM m GROUP BY device_id, remote, local_port, w`
}()

// sqlGroups is the grouped reference over the three files.
func sqlGroups(t *testing.T, deviceInfo, events, feed string, window time.Duration) map[groupRef]groupVal {
	t.Helper()
	db := referenceDB(t, deviceInfo, events, feed)
	return queryGroups(t, db, groupedSQL, window.Microseconds())
}

// queryGroups runs a query answering (device, remote, port, window start,
// count, min time, max time) rows.
func queryGroups(t *testing.T, db *sql.DB, query string, args ...any) map[groupRef]groupVal {
	t.Helper()
	rows, err := db.Query(query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[groupRef]groupVal{}
	for rows.Next() {
		var k groupRef
		var v groupVal
		if err := rows.Scan(&k.Device, &k.Remote, &k.Port, &k.Window, &v.Count, &v.Start, &v.End); err != nil {
			t.Fatal(err)
		}
		out[k] = v
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// alertGroups reads grouped alerts into the reference's shape, failing on
// a group seen twice.
func alertGroups(t *testing.T, alerts []*correlation.Alert) map[groupRef]groupVal {
	t.Helper()
	out := map[groupRef]groupVal{}
	for _, a := range alerts {
		s := a.Edgewatch.Suppression
		if s == nil {
			t.Fatalf("alert %s has no edgewatch.suppression", a.Event.ID)
		}
		k := groupRef{Device: a.Host.ID, Remote: a.Source.IP, Port: a.Dest.Port, Window: s.WindowStart.UnixMicro()}
		if _, dup := out[k]; dup {
			t.Errorf("group %s written twice", k)
		}
		out[k] = groupVal{Count: s.DocsCount, Start: s.Start.UnixMicro(), End: s.End.UnixMicro()}
	}
	return out
}

// compareGroups fails t with the differences between got and want.
func compareGroups(t *testing.T, got, want map[groupRef]groupVal) {
	t.Helper()
	var diffs []string
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			diffs = append(diffs, "missing "+k.String())
		case g != w:
			diffs = append(diffs, fmt.Sprintf("%s: got %+v, want %+v", k, g, w))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, "extra "+k.String())
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Errorf("grouped alerts != SQL reference: %d differences, first: %v", len(diffs), head(diffs))
	}
}

// repeatedHits generates a dataset whose threat-intel hits repeat: a feed
// of eight addresses planted into 30% of 30k events on 12 devices over
// three days, so each (device, address, port) is hit many times.
func repeatedHits(t testing.TB) gen.Result {
	t.Helper()
	dir := t.TempDir()
	feed := filepath.Join(dir, "feed.txt")
	addrs := "# eight addresses\n45.148.10.1\n45.148.10.2\n80.94.95.11\n185.220.101.7\n193.32.162.9\n103.203.57.4\n2.57.122.200\n77.90.185.20\n"
	if err := os.WriteFile(feed, []byte(addrs), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := gen.Generate(gen.Config{Devices: 12, Events: 30000, Seed: 15, FeedPath: feed, Span: 72 * time.Hour,
		FacingShare: 0.6, InboundShare: 0.5, FeedHitShare: 0.3}, dir)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestGroupedFileEqualsSQL: file mode with --group-by host.id,source.ip,
// destination.port writes one alert per group whose docs_count, start and
// end equal the SQL reference's COUNT, MIN and MAX, for several windows.
func TestGroupedFileEqualsSQL(t *testing.T) {
	ds := repeatedHits(t)
	for _, window := range []time.Duration{6 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour} {
		t.Run(window.String(), func(t *testing.T) {
			want := sqlGroups(t, ds.DeviceInfoPath, ds.NetworkEventsPath, ds.FeedPath, window)
			var events int64
			for _, v := range want {
				events += v.Count
			}
			if len(want) == 0 || events < 3*int64(len(want)) {
				t.Fatalf("reference has %d groups for %d events: the dataset should repeat hits", len(want), events)
			}
			s := wire.Settings{DeviceInfo: []string{ds.DeviceInfoPath}, NetworkEvents: []string{ds.NetworkEventsPath},
				Feeds: []string{ds.FeedPath}, GroupBy: groupBy, GroupWindow: wire.Duration(window)}
			var obs collect
			sum, err := Run(context.Background(), s, nil, &obs)
			if err != nil {
				t.Fatal(err)
			}
			compareGroups(t, alertGroups(t, obs.alerts), want)
			if int64(sum.Alerts.Matched) != events {
				t.Errorf("summary: %d events matched, reference %d", sum.Alerts.Matched, events)
			}
			if g := sum.Groups; g == nil || g.Created != len(want) || g.Touched != len(want) {
				t.Errorf("summary groups = %+v, want %d created", sum.Groups, len(want))
			}
		})
	}
}

// TestGroupedSample: the bundled sample grouped by device, the first event's
// alert and the highest severity, checked by hand.
func TestGroupedSample(t *testing.T) {
	s := sampleSettings()
	s.GroupBy = []string{"host.id"}
	var ungrouped, grouped collect
	if _, err := RunWith(context.Background(), sampleSettings(), &Backend{Source: mustFileSource(t, s)}, &ungrouped, fixedNow); err != nil {
		t.Fatal(err)
	}
	if _, err := RunWith(context.Background(), s, &Backend{Source: mustFileSource(t, s)}, &grouped, fixedNow); err != nil {
		t.Fatal(err)
	}
	byHost := map[string][]*correlation.Alert{}
	for _, a := range ungrouped.alerts {
		byHost[a.Host.ID] = append(byHost[a.Host.ID], a)
	}
	if len(grouped.alerts) == 0 || len(grouped.alerts) >= len(ungrouped.alerts) {
		t.Fatalf("%d grouped alerts for %d events", len(grouped.alerts), len(ungrouped.alerts))
	}
	for _, g := range grouped.alerts {
		events := byHost[g.Host.ID]
		first, sev := events[0], 0
		for _, e := range events {
			if correlation.Before(e.Timestamp, e.Event.ID, first.Timestamp, first.Event.ID) {
				first = e
			}
			sev = max(sev, e.Event.Severity)
		}
		s := g.Edgewatch.Suppression
		if s.DocsCount != int64(len(events)) || s.FirstEventID != first.Event.ID || !g.Timestamp.Equal(first.Timestamp) ||
			g.Event.Severity != sev || string(g.Defender.NetworkEvent) != string(first.Defender.NetworkEvent) {
			t.Errorf("group of %s: count %d first %s severity %d, want %d, %s, %d", g.Host.ID, s.DocsCount, s.FirstEventID, g.Event.Severity,
				len(events), first.Event.ID, sev)
		}
	}
}

func mustFileSource(t *testing.T, s wire.Settings) connectors.Source {
	t.Helper()
	be, err := openFileBackend(s)
	if err != nil {
		t.Fatal(err)
	}
	return be.Source
}
