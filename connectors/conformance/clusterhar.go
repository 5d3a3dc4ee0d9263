package conformance

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/connectors/cluster"
)

// Target is a cluster the suite loads datasets into.
type Target struct {
	// Client reads the data: the source under test uses it.
	Client *cluster.Client
	// Loader, when set, creates, fills and deletes the test indices
	// instead of Client: the admin of a secured server, where Client is
	// the least-privileged detector that may only read them.
	Loader *cluster.Client
	// IndexPrefix starts the test index names (default
	// "edgewatch-conf-"): "defender-" for a detector that reads defender-*.
	IndexPrefix string
}

// Doer is the target's request path for loading data: the Loader's when
// set, else the Client's.
func (tg Target) Doer() cluster.Doer {
	if tg.Loader != nil {
		return tg.Loader.Doer()
	}
	return tg.Client.Doer()
}

// Flavor is the target's store.
func (tg Target) Flavor() cluster.Flavor { return tg.Client.Flavor() }

// PageSize of the sources the cluster harness builds: small, so the
// standard dataset spans several pages on several shards.
const PageSize = 3

// ClusterHarness loads a dataset into fresh indices of tg in profile's
// shape and returns a cluster.Source over them. Elastic's integration keeps
// every table in one data stream, so elastic-m365 gets one index for both
// tables; the other profiles get one index per table. The indices are
// deleted when the test ends.
func ClusterHarness(tg Target, profile string) Harness {
	return func(t *testing.T, ds Dataset) Loaded {
		t.Helper()
		prefix := tg.IndexPrefix
		if prefix == "" {
			prefix = "edgewatch-conf-"
		}
		base := UniqueIndex(prefix + profile)
		diIndex, evIndex := base+"-deviceinfo", base+"-networkevents"
		if profile == cluster.ProfileElasticM365 {
			diIndex, evIndex = base+"-events", base+"-events"
		}
		for _, idx := range uniq(diIndex, evIndex) {
			CreateIndex(t, tg, idx, IndexBody(profile, tg.Flavor()))
		}
		indexOf := map[string]string{TableDeviceInfo: diIndex, TableNetworkEvents: evIndex}
		var docs []Doc
		dropped := shapeRows(ds, profile, func(table string, _ Row, d doc) {
			docs = append(docs, Doc{Index: indexOf[table], Source: d})
		})
		return loadAndOpen(t, tg, profile, diIndex, evIndex, docs, dropped)
	}
}

// shapeRows shapes every row of ds for profile and hands each document to
// add with its table and row; it returns the rows profile cannot hold (by
// case).
func shapeRows(ds Dataset, profile string, add func(table string, r Row, d doc)) (dropped []string) {
	for table, rows := range ds.Tables() {
		for _, r := range rows {
			d, ok := Shape(profile, table, r)
			if !ok {
				dropped = append(dropped, r.Case())
				continue
			}
			add(table, r, d)
		}
	}
	return dropped
}

// loadAndOpen indexes docs and returns a Source over the indices. The
// first document of each table goes alone, one at a time (docs holds the
// tables one after the other): with dynamic mapping, one bulk spread over
// two shards can race to map a field both as long (3389) and as text
// ("443"); one document first fixes the mapping as a real, older index
// would have it.
func loadAndOpen(t *testing.T, tg Target, profile, diIndex, evIndex string, docs []Doc, dropped []string) Loaded {
	t.Helper()
	var rest []Doc
	seen := map[string]bool{}
	for _, d := range docs {
		table := fmt.Sprint(d.Index, tableOf(d.Source))
		if seen[table] {
			rest = append(rest, d)
			continue
		}
		seen[table] = true
		if err := Bulk(context.Background(), tg.Doer(), []Doc{d}, true); err != nil {
			t.Fatalf("load %s: %v", d.Index, err)
		}
	}
	if err := Bulk(context.Background(), tg.Doer(), rest, true); err != nil {
		t.Fatalf("load %s: %v", diIndex, err)
	}
	src, err := cluster.NewClientSource(tg.Client, cluster.SourceConfig{
		DeviceInfoIndex:    diIndex,
		NetworkEventsIndex: evIndex,
		Profile:            profile,
		PageSize:           PageSize,
		Logger:             slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	l := Loaded{Source: src, Dropped: dropped}
	if profile == cluster.ProfileElasticM365 {
		l.TimePrecision = time.Millisecond
	}
	return l
}

func uniq(a, b string) []string {
	if a == b {
		return []string{a}
	}
	return []string{a, b}
}

// UniqueIndex returns prefix plus a random suffix (index names are lower
// case).
func UniqueIndex(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return strings.ToLower(prefix) + "-" + hex.EncodeToString(b[:])
}

// CreateIndex creates index with body and deletes it when t ends.
func CreateIndex(t testing.TB, tg Target, index string, body any) {
	t.Helper()
	ctx := context.Background()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := tg.Doer().Do(ctx, cluster.Request{Method: http.MethodPut, Path: "/" + index, Body: b})
	if err != nil {
		t.Fatalf("create index %s: %v", index, err)
	}
	if resp.Status != http.StatusOK {
		t.Fatalf("create index %s: HTTP %d: %s", index, resp.Status, resp.Body)
	}
	t.Cleanup(func() {
		resp, err := tg.Doer().Do(context.Background(), cluster.Request{Method: http.MethodDelete, Path: "/" + index})
		if err != nil {
			t.Errorf("delete index %s: %v", index, err)
		} else if resp.Status != http.StatusOK && resp.Status != http.StatusNotFound {
			t.Errorf("delete index %s: HTTP %d: %s", index, resp.Status, resp.Body)
		}
	})
}

// Doc is one document to index.
type Doc struct {
	Index  string
	ID     string // "" = generated
	Source any
}

// Bulk indexes docs with one _bulk request (refresh=true when refresh) and
// fails on any item error.
func Bulk(ctx context.Context, doer cluster.Doer, docs []Doc, refresh bool) error {
	if len(docs) == 0 {
		return nil
	}
	var buf bytes.Buffer
	for _, d := range docs {
		meta := map[string]any{"_index": d.Index}
		if d.ID != "" {
			meta["_id"] = d.ID
		}
		if err := json.NewEncoder(&buf).Encode(map[string]any{"index": meta}); err != nil {
			return err
		}
		if err := json.NewEncoder(&buf).Encode(d.Source); err != nil {
			return err
		}
	}
	q := url.Values{}
	if refresh {
		q.Set("refresh", "true")
	}
	resp, err := doer.Do(ctx, cluster.Request{Method: http.MethodPost, Path: "/_bulk", Query: q, Body: buf.Bytes(), NDJSON: true})
	if err != nil {
		return fmt.Errorf("bulk: %w", err)
	}
	if resp.Status != http.StatusOK {
		return fmt.Errorf("bulk: HTTP %d: %.300s", resp.Status, resp.Body)
	}
	var r cluster.BulkAnswer
	if err := json.Unmarshal(resp.Body, &r); err != nil {
		return fmt.Errorf("bulk: %w", err)
	}
	return r.Failed()
}

// tableOf tells a shaped document's table apart by its columns (events
// have an action), for loadAndOpen.
func tableOf(src any) string {
	b, _ := json.Marshal(src)
	for _, action := range []string{`"ActionType"`, `"action"`} {
		if bytes.Contains(b, []byte(action)) {
			return TableNetworkEvents
		}
	}
	return TableDeviceInfo
}

// OtherTableRow is a row of another Defender table, planted in a mixed
// index.
type OtherTableRow struct {
	Table string
	Row   Row
}

// OtherTables are rows of other Defender tables that would change the
// Standard expectations if they were read as DeviceInfo or
// DeviceNetworkEvents: an inbound-looking event from an indicator on a
// facing port, a facing-looking report on a new port, and a row without a
// DeviceId (a skip), next to ordinary rows of other tables.
func OtherTables() []OtherTableRow {
	return []OtherTableRow{
		{"DeviceEvents", ev("other table: inbound-looking", 2001, "2025-03-10T09:00:00Z", "dev-a", inbound, tiA, 3389, "")},
		{"DeviceLogonEvents", ev("other table: logon", 2002, "2025-03-10T09:30:00Z", "dev-c", "LogonSuccess", tiB, 8080, "")},
		{"DeviceNetworkInfo", di("other table: facing-looking", "2025-03-08T08:00:00Z", "dev-b", true, facingAF(9090))},
		{"DeviceProcessEvents", di("other table: no DeviceId", "2025-03-08T09:00:00Z", "", true, facingAF(3389))},
		{"DeviceFileEvents", ev("other table: no DeviceId event", 2003, "2025-03-10T10:00:00Z", "", inbound, tiA, 3389, "")},
	}
}

// markerless are Standard rows a mixed index keeps without a table marker:
// they are read as before.
var markerless = map[string]bool{"dev-c 8080": true, "match in range": true}

// MixedHarness loads the Standard dataset into one index shared by both
// tables (as Elastic's data stream or an Event Hub export keeps every
// Defender table), with rows of other tables (OtherTables) and two Standard
// rows that carry no table marker; the source must read exactly what the
// Standard expectations say. profile must have a table marker.
func MixedHarness(tg Target, profile string) Harness {
	return func(t *testing.T, ds Dataset) Loaded {
		t.Helper()
		index := UniqueIndex("edgewatch-conf-mixed-"+profile) + "-events"
		CreateIndex(t, tg, index, IndexBody(profile, tg.Flavor()))
		var docs []Doc
		dropped := shapeRows(ds, profile, func(_ string, r Row, d doc) {
			if markerless[r.Case()] {
				StripTable(profile, d)
			}
			docs = append(docs, Doc{Index: index, Source: d})
		})
		for _, o := range OtherTables() {
			d, ok := ShapeOther(profile, o.Table, o.Row)
			if !ok {
				t.Fatalf("profile %s cannot hold %s", profile, o.Row.Case())
			}
			docs = append(docs, Doc{Index: index, Source: d})
		}
		return loadAndOpen(t, tg, profile, index, index, docs, dropped)
	}
}
