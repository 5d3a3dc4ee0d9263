package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/connectors"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/correlation"
)

// The facing dataset: DeviceInfo rows that exercise every path of the
// cluster's latest-per-pair read (ties, a port that stopped facing, a
// latest row that does not decode, odd port spellings, rows that mention
// the port key twice, a port group wider than a page, rows outside the
// window), each with the document id it is indexed under and what a full
// read decodes from it. Expected facing sets are computed from those
// annotations by ReferenceFacing, an independent fold.

// FacingRow is one DeviceInfo row of the facing dataset.
type FacingRow struct {
	Row
	ID string // document _id
	// What decoding the row gives: Port (correlation.NoPort: none) and
	// whether it decodes at all (Bad: skipped).
	Port int
	Bad  bool
	// TextOnly: a row only an AdditionalFields text can hold (malformed
	// JSON, a key mentioned in a value).
	TextOnly bool
}

func facingRow(id, at, dev string, facing bool, af string, port int) FacingRow {
	r := di(id, at, dev, facing, af)
	return FacingRow{Row: r, ID: id, Port: port}
}

// FacingWindow is the facing dataset's look-back [From, To).
var FacingWindow = struct{ From, To time.Time }{ts("2025-03-01T00:00:00Z"), ts("2025-03-11T00:00:00Z")}

// FacingDataset returns the rows; manyDevices devices share port 5985 (a
// group wider than a page of that many rows).
func FacingDataset(manyDevices int) []FacingRow {
	rows := []FacingRow{
		// A port that stopped facing: its latest row says so.
		facingRow("s1", "2025-03-02T08:00:00Z", "dev-s", true, facingAF(3389), 3389),
		facingRow("s2", "2025-03-06T08:00:00Z", "dev-s", false, facingAF(3389), 3389),
		// ... and one that started again.
		facingRow("s3", "2025-03-02T09:00:00Z", "dev-s", false, facingAF(22), 22),
		facingRow("s4", "2025-03-07T09:00:00Z", "dev-s", true, facingAF(22), 22),
		// Ties: two rows of a pair at the same time; the larger document id
		// wins (t2 not facing, then u2 facing).
		facingRow("t1", "2025-03-05T08:00:00.123Z", "dev-t", true, facingAF(443), 443),
		facingRow("t2", "2025-03-05T08:00:00.123Z", "dev-t", false, facingAF(443), 443),
		facingRow("u1", "2025-03-05T08:00:00.5Z", "dev-u", false, facingAF(443), 443),
		facingRow("u2", "2025-03-05T08:00:00.5Z", "dev-u", true, facingAF(443), 443),
		// The same millisecond, 100 ns apart: the later time wins whatever
		// the ids say (a millisecond store sees a tie: the id decides).
		facingRow("v2", "2025-03-05T10:00:00.1230001Z", "dev-v", false, facingAF(443), 443),
		facingRow("v1", "2025-03-05T10:00:00.1230002Z", "dev-v", true, facingAF(443), 443),
		// An older row of a tied pair, and a tie below the latest time.
		facingRow("t0", "2025-03-04T08:00:00Z", "dev-t", true, facingAF(443), 443),
		facingRow("w1", "2025-03-03T08:00:00Z", "dev-w", true, facingAF(443), 443),
		facingRow("w2", "2025-03-03T08:00:00Z", "dev-w", false, facingAF(443), 443),
		facingRow("w3", "2025-03-08T08:00:00Z", "dev-w", true, facingAF(443), 443),
		// Odd spellings of a port.
		facingRow("o1", "2025-03-04T08:00:00Z", "dev-o", true, facingAF("03389"), 3389),
		facingRow("o2", "2025-03-05T08:00:00Z", "dev-p", true, facingAF(json.Number("3389.0")), 3389),
		facingRow("o3", "2025-03-05T08:00:00Z", "dev-q", true, facingAF("8443"), 8443),
		// Not a port: never a pair.
		facingRow("n1", "2025-03-05T08:00:00Z", "dev-n", true, facingAF(nil), correlation.NoPort),
		// Out of the window.
		facingRow("x0", "2025-02-20T08:00:00Z", "dev-x", true, facingAF(1433), 1433),
		facingRow("x1", "2025-03-02T08:00:00Z", "dev-x", true, facingAF(1433), 1433),
		facingRow("x9", "2025-03-12T08:00:00Z", "dev-x", false, facingAF(1433), 1433),
		// No DeviceId: skipped.
		{Row: di("nodev", "2025-03-05T08:00:00Z", "", true, facingAF(1433)), ID: "nodev", Port: 1433, Bad: true},
	}
	// The latest row of a pair does not decode (a date without a time,
	// which the store takes): the earlier one stands. Text only: a later
	// row with malformed AdditionalFields, and a row that mentions the port
	// key twice.
	rows = append(rows,
		FacingRow{Row: di("y1", "2025-03-02T08:00:00Z", "dev-y", true, facingAF(1433)), ID: "y1", Port: 1433},
		FacingRow{Row: di("y2", "2025-03-06", "dev-y", false, facingAF(1433)), ID: "y2", Port: 1433, Bad: true},
		FacingRow{Row: di("y3", "2025-03-07T08:00:00Z", "dev-y", false, `{"InternetFacingLocalPort": 1433,`), ID: "y3", Port: 1433, Bad: true, TextOnly: true},
		FacingRow{Row: di("z1", "2025-03-04T08:00:00Z", "dev-z", true,
			facingAF(8080, "InternetFacingReason", "InternetFacingLocalPort 9090 seen")), ID: "z1", Port: 8080, TextOnly: true},
	)
	for i := range manyDevices {
		dev := fmt.Sprintf("dev-m%02d", i)
		rows = append(rows,
			facingRow(fmt.Sprintf("m%02da", i), "2025-03-03T08:00:00Z", dev, i%3 != 0, facingAF(5985), 5985),
			facingRow(fmt.Sprintf("m%02db", i), fmt.Sprintf("2025-03-0%dT08:00:00Z", 4+i%5), dev, i%2 == 0, facingAF(5985), 5985),
		)
	}
	return rows
}

// Holds reports whether profile can hold the row.
func (r FacingRow) Holds(profile string) bool {
	switch profile {
	case cluster.ProfileAdvancedHunting, cluster.ProfileStreaming:
		return true
	}
	return !r.TextOnly
}

// ReferenceFacing is what the facing step must give for rows stored at
// precision (0: exact) in profile: per (device, port), the latest row in
// [From, To) by time, then document id (one index), keeping those that say
// internet-facing, as "device:port id".
func ReferenceFacing(rows []FacingRow, profile string, precision time.Duration, from, to time.Time) []string {
	type cand struct {
		t  time.Time
		id string
		f  bool
	}
	best := map[string]cand{}
	for _, r := range rows {
		if !r.Holds(profile) || r.Bad || r.Port == correlation.NoPort {
			continue
		}
		t := ts(r.Row["Timestamp"].(string))
		if precision > 0 {
			t = t.Truncate(precision)
		}
		if t.Before(from) || !t.Before(to) {
			continue
		}
		k := fmt.Sprintf("%s:%d", r.Row["DeviceId"], r.Port)
		c := cand{t, r.ID, r.Row["IsInternetFacing"].(bool)}
		if cur, ok := best[k]; !ok || c.t.After(cur.t) || (c.t.Equal(cur.t) && c.id > cur.id) {
			best[k] = c
		}
	}
	var out []string
	for k, c := range best {
		if c.f {
			out = append(out, k+" "+c.id)
		}
	}
	slices.Sort(out)
	return out
}

// FacingText renders a facing set as ReferenceFacing does.
func FacingText(fs *correlation.FacingSet) []string {
	var out []string
	for fp := range fs.All() {
		out = append(out, fmt.Sprintf("%s:%d %s", fp.DeviceID, fp.Port, fp.Row.Loc.DocID))
	}
	slices.Sort(out)
	return out
}

// LoadFacing indexes the rows profile can hold into a fresh DeviceInfo
// index of tg (deleted when t ends) under their ids and returns its name
// and the time precision it keeps.
func LoadFacing(t testing.TB, tg Target, profile string, rows []FacingRow) (string, time.Duration) {
	t.Helper()
	index := UniqueIndex("edgewatch-facing-"+profile) + "-deviceinfo"
	CreateIndex(t, tg, index, IndexBody(profile, tg.Flavor()))
	// One document first: it fixes the dynamic mapping (see ClusterHarness).
	first := 0
	for first < len(rows) && !rows[first].Holds(profile) {
		first++
	}
	IndexFacing(t, tg, profile, index, rows[:first+1])
	IndexFacing(t, tg, profile, index, rows[first+1:])
	var prec time.Duration
	if profile == cluster.ProfileElasticM365 {
		prec = time.Millisecond
	}
	return index, prec
}

// IndexFacing indexes the rows profile can hold into index under their
// ids, refreshed.
func IndexFacing(t testing.TB, tg Target, profile, index string, rows []FacingRow) {
	t.Helper()
	var docs []Doc
	for _, r := range rows {
		if !r.Holds(profile) {
			continue
		}
		d, ok := Shape(profile, TableDeviceInfo, r.Row)
		if !ok {
			t.Fatalf("profile %s cannot hold facing row %s", profile, r.ID)
		}
		docs = append(docs, Doc{Index: index, ID: r.ID, Source: d})
	}
	if err := Bulk(context.Background(), tg.Doer(), docs, true); err != nil {
		t.Fatal(err)
	}
}

// ReadFacing runs src's facing step over [from, to) and builds the set.
func ReadFacing(t testing.TB, src connectors.FacingReader, from, to time.Time) (*correlation.FacingSet, connectors.Report) {
	t.Helper()
	var b correlation.FacingBuilder
	rep, err := src.DeviceInfo(context.Background(), connectors.FacingQuery{From: from, To: to}, func(r *correlation.DeviceInfo) error {
		b.Add(r)
		return nil
	})
	if err != nil {
		t.Fatalf("DeviceInfo: %v", err)
	}
	return b.Build(), rep
}
