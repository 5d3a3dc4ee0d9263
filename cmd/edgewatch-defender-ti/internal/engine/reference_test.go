package engine

// The seed query, translated to SQL and run in SQLite over rows decoded with
// encoding/json alone: an implementation independent of correlation/ and
// connectors/file, so that the engine's result can be checked against it.

import (
	"bufio"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/internal/gen"
	"github.com/edgewatch/edgewatch/plugin/wire"
	_ "modernc.org/sqlite"
)

// seedSQL is the seed KQL (README: "Where edgewatch differs from the seed
// query"), with the corrections of DESIGN.md:
// arg_max(Timestamp) per (DeviceId, port) then IsInternetFacing; inner join
// on DeviceId; LocalPort == InternetFacingLocalPort; RemoteIP (unmapped) in
// the feed. One row per distinct event.
const seedSQL = `
WITH latest AS (
  SELECT d.* FROM deviceinfo d
  WHERE d.port IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM deviceinfo g
    WHERE g.device_id = d.device_id AND g.port = d.port
      AND (g.ts > d.ts OR (g.ts = d.ts AND g.seq > d.seq)))
),
facing AS (SELECT device_id, port FROM latest WHERE facing = 1)
SELECT DISTINCT e.device_id, e.report_id, e.ts, e.remote, e.local_port
FROM events e
JOIN facing f ON e.device_id = f.device_id AND e.local_port = f.port
WHERE e.action = 'InboundConnectionAccepted'
  AND e.remote IN (SELECT ip FROM feed)
ORDER BY 1, 2, 3, 4, 5`

type refKey struct {
	DeviceID, ReportID string
	TS                 int64
	Remote             string
	Port               int
}

func (k refKey) String() string {
	return fmt.Sprintf("%s/%s/%d/%s/%d", k.DeviceID, k.ReportID, k.TS, k.Remote, k.Port)
}

func TestEngineEqualsSeedSQL(t *testing.T) {
	genDir := t.TempDir()
	res, err := gen.Generate(gen.Config{Devices: 300, Events: 20000, Seed: 7, BadRows: 5}, genDir)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name               string
		deviceInfo, events string
		feed               string
		wantAtLeast        int
	}{
		{"bundled sample", "../../../../testdata/sample/device_info.ndjson", "../../../../testdata/sample/network_events.ndjson", "../../../../testdata/sample/feed.txt", 3},
		{"bundled sample gzip", "../../../../testdata/sample/device_info.ndjson", "../../../../testdata/sample/network_events.ndjson.gz", "../../../../testdata/sample/feed.txt", 3},
		{"generated 20k", res.DeviceInfoPath, res.NetworkEventsPath, res.FeedPath, 10},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := seedReference(t, tc.deviceInfo, tc.events, tc.feed)
			if len(want) < tc.wantAtLeast {
				t.Fatalf("reference found only %d matches; the dataset should plant at least %d", len(want), tc.wantAtLeast)
			}
			var obs collect
			s := wire.Settings{DeviceInfo: []string{tc.deviceInfo}, NetworkEvents: []string{tc.events}, Feeds: []string{tc.feed}}
			sum, err := Run(context.Background(), s, nil, &obs)
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			got := map[string]bool{}
			for i, a := range obs.alerts {
				port := a.Dest.Port
				ts := a.Timestamp.UnixMicro()
				var doc struct {
					Defender struct {
						NetworkEvent map[string]any `json:"network_event"`
					} `json:"defender"`
				}
				_ = json.Unmarshal(obs.docs[i], &doc) // the raw record is in the document
				raw := doc.Defender.NetworkEvent
				if props, ok := raw["properties"].(map[string]any); ok { // a Streaming API record
					raw = props
				}
				k := refKey{a.Host.ID, refString(raw["ReportId"]), ts, a.Source.IP, port}
				got[k.String()] = true
			}
			if sum.Alerts.Matched != len(obs.alerts) {
				t.Errorf("summary says %d matched, observer got %d", sum.Alerts.Matched, len(obs.alerts))
			}
			var missing, extra []string
			for _, k := range want {
				if !got[k.String()] {
					missing = append(missing, k.String())
				}
				delete(got, k.String())
			}
			for k := range got {
				extra = append(extra, k)
			}
			sort.Strings(extra)
			if len(missing) > 0 || len(extra) > 0 {
				t.Errorf("engine != seed SQL: %d missing %v, %d extra %v", len(missing), head(missing), len(extra), head(extra))
			}
		})
	}
}

func head(s []string) []string {
	if len(s) > 5 {
		return s[:5]
	}
	return s
}

// seedReference loads the three files into SQLite with encoding/json and
// runs seedSQL.
func seedReference(t *testing.T, deviceInfo, events, feed string) []refKey {
	t.Helper()
	db := referenceDB(t, deviceInfo, events, feed)
	rows, err := db.Query(seedSQL)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []refKey
	for rows.Next() {
		var k refKey
		if err := rows.Scan(&k.DeviceID, &k.ReportID, &k.TS, &k.Remote, &k.Port); err != nil {
			t.Fatal(err)
		}
		out = append(out, k)
	}
	return out
}

// referenceDB loads the three files into an in-memory SQLite database
// (tables deviceinfo, events, feed; times in microseconds), decoded with
// encoding/json alone. It is closed when the test ends.
func referenceDB(t *testing.T, deviceInfo, events, feed string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	for _, q := range []string{
		`CREATE TABLE deviceinfo (seq INTEGER, device_id TEXT, ts INTEGER, facing INTEGER, port INTEGER)`,
		`CREATE TABLE events (device_id TEXT, report_id TEXT, ts INTEGER, action TEXT, remote TEXT, local_port INTEGER)`,
		`CREATE TABLE feed (ip TEXT PRIMARY KEY)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	tx, _ := db.Begin()
	seq := 0
	eachRow(t, deviceInfo, func(m map[string]any) {
		seq++
		ts, ok := rowTime(m)
		if !ok {
			return
		}
		af := m["AdditionalFields"]
		if s, isStr := af.(string); isStr {
			var o map[string]any
			if json.Unmarshal([]byte(s), &o) == nil {
				af = o
			}
		}
		var port any
		if o, isObj := af.(map[string]any); isObj {
			if p, ok := refInt(o["InternetFacingLocalPort"]); ok {
				port = p
			}
		}
		facing := 0
		switch v := m["IsInternetFacing"].(type) {
		case bool:
			if v {
				facing = 1
			}
		case string:
			if strings.EqualFold(v, "true") || v == "1" {
				facing = 1
			}
		case float64:
			if v == 1 {
				facing = 1
			}
		}
		if _, err := tx.Exec(`INSERT INTO deviceinfo VALUES (?,?,?,?,?)`, seq, refString(m["DeviceId"]), ts.UnixMicro(), facing, port); err != nil {
			t.Fatal(err)
		}
	})
	eachRow(t, events, func(m map[string]any) {
		ts, ok := rowTime(m)
		if !ok {
			return
		}
		lp, ok := refInt(m["LocalPort"])
		if !ok {
			return
		}
		remote := strings.TrimPrefix(strings.ToLower(refString(m["RemoteIP"])), "::ffff:")
		if _, err := tx.Exec(`INSERT INTO events VALUES (?,?,?,?,?,?)`, refString(m["DeviceId"]), refString(m["ReportId"]), ts.UnixMicro(), refString(m["ActionType"]), remote, lp); err != nil {
			t.Fatal(err)
		}
	})
	f, err := os.Open(feed)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		ip := strings.Fields(line)[0]
		a, err := netip.ParseAddr(ip)
		if err != nil || !a.IsGlobalUnicast() || a.IsPrivate() {
			continue
		}
		if _, err := tx.Exec(`INSERT OR IGNORE INTO feed VALUES (?)`, a.Unmap().String()); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return db
}

// eachRow decodes NDJSON (optionally gzip), unwrapping Streaming API records
// and Event Hub batches; undecodable lines are skipped as the engine skips them.
func eachRow(t *testing.T, path string, fn func(map[string]any)) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if filepath.Ext(path) == ".gz" {
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue // malformed rows are skipped by the engine too
		}
		if recs, ok := m["records"].([]any); ok {
			for _, rec := range recs {
				if rm, ok := rec.(map[string]any); ok {
					fn(unwrap(rm))
				}
			}
			continue
		}
		fn(unwrap(m))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

func unwrap(m map[string]any) map[string]any {
	if p, ok := m["properties"].(map[string]any); ok {
		return p
	}
	return m
}

func rowTime(m map[string]any) (time.Time, bool) {
	for _, k := range []string{"Timestamp", "TimeGenerated"} {
		if s, ok := m[k].(string); ok {
			if ts, err := time.Parse(time.RFC3339Nano, s); err == nil {
				return ts, true
			}
		}
	}
	return time.Time{}, false
}

func refString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case json.Number:
		return x.String()
	}
	return ""
}

func refInt(v any) (int, bool) {
	switch x := v.(type) {
	case float64:
		return int(x), x == float64(int(x))
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(x))
		return n, err == nil
	}
	return 0, false
}
