package file

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/edgewatch/edgewatch/connectors"
	"github.com/edgewatch/edgewatch/correlation"
)

const mixedDump = "../../testdata/defender/mixed-eventhub.json"

// mixedRecords returns the fixture's records, each as its exact bytes.
func mixedRecords(t *testing.T) (file []byte, records [][]byte) {
	t.Helper()
	file, err := os.ReadFile(mixedDump)
	if err != nil {
		t.Fatal(err)
	}
	for l := range bytes.Lines(file) {
		l = bytes.TrimSuffix(bytes.TrimRight(l, "\n"), []byte(","))
		if bytes.HasPrefix(l, []byte(`{"time"`)) {
			records = append(records, l)
		}
	}
	if len(records) != 26 {
		t.Fatalf("%s holds %d records, want 26", mixedDump, len(records))
	}
	return file, records
}

// logAnalyticsRows turns Streaming API records into Log Analytics rows: the
// properties with TimeGenerated, TenantId and the table in Type, last.
func logAnalyticsRows(t *testing.T, records [][]byte) []map[string]any {
	t.Helper()
	var rows []map[string]any
	for _, r := range records {
		var rec struct {
			Category   string         `json:"category"`
			Properties map[string]any `json:"properties"`
		}
		if err := json.Unmarshal(r, &rec); err != nil {
			t.Fatal(err)
		}
		row := rec.Properties
		row["TimeGenerated"] = row["Timestamp"]
		row["TenantId"] = "5b6a7c8d-0000-4000-8000-000000000001"
		row["Type"] = strings.TrimPrefix(rec.Category, "AdvancedHunting-")
		rows = append(rows, row)
	}
	return rows
}

// laNDJSON renders rows as NDJSON with Type as the last key (after
// ActionType, where the push-down scan would stop).
func laNDJSON(t *testing.T, rows []map[string]any) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, row := range rows {
		typ := row["Type"]
		delete(row, "Type")
		j, err := json.Marshal(row)
		if err != nil {
			t.Fatal(err)
		}
		row["Type"] = typ
		tj, _ := json.Marshal(typ)
		b.Write(j[:len(j)-1])
		b.WriteString(`,"Type":` + string(tj) + "}\n")
	}
	return b.Bytes()
}

// laCSV renders rows as a Log Analytics CSV export: the union of the
// columns, objects as JSON text.
func laCSV(t *testing.T, rows []map[string]any) []byte {
	t.Helper()
	var cols []string
	for _, row := range rows {
		for k := range row {
			if !slices.Contains(cols, k) {
				cols = append(cols, k)
			}
		}
	}
	slices.Sort(cols)
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write(cols)
	for _, row := range rows {
		rec := make([]string, len(cols))
		for i, c := range cols {
			switch v := row[c].(type) {
			case nil:
			case string:
				rec[i] = v
			default:
				j, _ := json.Marshal(v)
				rec[i] = string(j)
			}
		}
		w.Write(rec)
	}
	w.Flush()
	return b.Bytes()
}

// TestMixedTables: a dump of many Defender tables read as DeviceInfo and as
// DeviceNetworkEvents counts each table's rows exactly, rows of the other
// tables apart and none as bad, in every layout an operator exports.
func TestMixedTables(t *testing.T) {
	file, records := mixedRecords(t)
	la := logAnalyticsRows(t, records)
	others := map[string]int64{"DeviceProcessEvents": 2, "DeviceEvents": 1, "DeviceFileCertificateInfo": 1,
		"DeviceFileEvents": 1, "DeviceImageLoadEvents": 1, "DeviceLogonEvents": 1, "DeviceNetworkInfo": 1, "DeviceRegistryEvents": 1}
	eventsOthers := withTable(others, "DeviceInfo", 3)
	devicesOthers := withTable(others, "DeviceNetworkEvents", 14)
	tests := []struct {
		name, file string
		content    []byte
		findingRaw []byte // the matching event's Raw
	}{
		{"Event Hub messages (the fixture)", "mixed-eventhub.json", file, records[0]},
		{"gzipped", "mixed-eventhub.json.gz", gzipBytes(t, file), records[0]},
		{"Storage blobs: one record per line", "records.ndjson", append(bytes.Join(records, []byte("\n")), '\n'), records[0]},
		{"JSON array of records", "records.json", append(append([]byte("[\n"), bytes.Join(records, []byte(",\n"))...), "\n]\n"...), records[0]},
		{"Log Analytics rows, Type last", "la.ndjson", laNDJSON(t, la), nil},
		{"Log Analytics CSV export", "la.csv", laCSV(t, la), nil},
	}
	facingWant := []string{"7d3f5c1e9a2b4c6d8e0f1a2b3c4d5e6f7a8b9c0d:443"}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := writeTemp(t, tc.file, tc.content)
			devs, drep := readDevices(t, Options{DeviceInfo: []string{p}}, connectors.FacingQuery{})
			if drep.Read != 3 || drep.Passed != 3 || len(drep.Skipped) != 0 {
				t.Errorf("device info: read %d passed %d skipped %v, want 3, 3, none", drep.Read, drep.Passed, drep.Skipped)
			}
			if diff := cmp.Diff(devicesOthers, drep.OtherTables); diff != "" {
				t.Errorf("device info: other tables (-want +got):\n%s", diff)
			}
			var fb correlation.FacingBuilder
			for i := range devs {
				fb.Add(&devs[i])
			}
			facing := fb.Build()
			var pairs []string
			for fp := range facing.All() {
				pairs = append(pairs, fp.DeviceID+":"+itoa(fp.Port))
			}
			if diff := cmp.Diff(facingWant, pairs); diff != "" {
				t.Errorf("facing pairs (-want +got):\n%s", diff)
			}
			ind := indicatorSet(t, "45.148.10.141", "167.94.146.55")
			m := correlation.NewMatcher(facing, ind, correlation.MatchOptions{})
			for _, workers := range []int{1, 3} {
				for _, q := range []connectors.EventQuery{{}, {Facing: facing, Indicators: ind}} {
					evs, rep := readEvents(t, Options{NetworkEvents: []string{p}, Workers: workers}, q)
					pushed := q.Facing != nil
					if rep.Read != 14 || len(rep.Skipped) != 0 || (!pushed && rep.Passed != 14) {
						t.Errorf("workers=%d pushed=%v: network events read %d passed %d skipped %v, want 14 read, none skipped", workers, pushed, rep.Read, rep.Passed, rep.Skipped)
					}
					if diff := cmp.Diff(eventsOthers, rep.OtherTables); diff != "" {
						t.Errorf("workers=%d pushed=%v: other tables (-want +got):\n%s", workers, pushed, diff)
					}
					var found []string
					for i := range evs {
						if _, _, ok := m.Match(&evs[i]); ok {
							found = append(found, evs[i].ReportID)
							if tc.findingRaw != nil && !bytes.Equal(evs[i].Raw, tc.findingRaw) {
								t.Errorf("Raw = %s\nwant the record verbatim: %s", evs[i].Raw, tc.findingRaw)
							}
						}
					}
					if diff := cmp.Diff([]string{"10101"}, found); diff != "" {
						t.Errorf("workers=%d pushed=%v: findings (-want +got):\n%s", workers, pushed, diff)
					}
				}
			}
		})
	}
}

func withTable(m map[string]int64, k string, v int64) map[string]int64 {
	out := map[string]int64{k: v}
	for a, b := range m {
		out[a] = b
	}
	return out
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestTableMarkers: how a row's table is found, one marker at a time.
func TestTableMarkers(t *testing.T) {
	const props = `{"Timestamp":"2025-11-03T10:00:00Z","DeviceId":"` + devA + `","ActionType":"InboundConnectionAccepted","RemoteIP":"77.90.185.20","LocalPort":443}`
	tests := []struct {
		name   string
		in     []byte
		read   int64
		others map[string]int64
	}{
		{"no marker: taken for the table read", lines(props), 1, nil},
		{"category of this table", lines(`{"category":"AdvancedHunting-DeviceNetworkEvents","properties":` + props + `}`), 1, nil},
		{"category in another case", lines(`{"category":"advancedhunting-devicenetworkevents","properties":` + props + `}`), 1, nil},
		{"category of another table", lines(`{"category":"AdvancedHunting-DeviceProcessEvents","properties":` + props + `}`), 0, map[string]int64{"DeviceProcessEvents": 1}},
		{"category that is not Advanced Hunting", lines(`{"category":"SignInLogs","properties":` + props + `}`), 0, map[string]int64{"SignInLogs": 1}},
		{"blank or null category: no marker", lines(`{"category":" ","properties":`+props+`}`, `{"category":null,"properties":`+props+`}`), 2, nil},
		{"Type of this table, first", lines(`{"Type":"DeviceNetworkEvents",` + props[1:]), 1, nil},
		{"Type of another table, last", lines(props[:len(props)-1] + `,"Type":"DeviceEvents"}`), 0, map[string]int64{"DeviceEvents": 1}},
		{"first row unmarked, a later Type before a non-inbound ActionType", lines(props, `{"Type":"DeviceEvents","DeviceId":"`+devA+`","ActionType":"FirewallInboundConnectionBlocked"}`), 1, map[string]int64{"DeviceEvents": 1}},
		{"the record's category wins over the row's Type", lines(`{"category":"AdvancedHunting-DeviceNetworkEvents","properties":` + props[:len(props)-1] + `,"Type":"DeviceEvents"}}`), 1, nil},
		{"escaped marker", lines(`{"category":"AdvancedHunting-Device\u0045vents","properties":` + props + `}`), 0, map[string]int64{"DeviceEvents": 1}},
		{"records of a batch, each its own table", lines(`{"records":[{"category":"AdvancedHunting-DeviceEvents","properties":` + props + `},{"category":"AdvancedHunting-DeviceNetworkEvents","properties":` + props + `},` + props + `]}`), 2, map[string]int64{"DeviceEvents": 1}},
	}
	facing := facingSet(map[string][]int{devA: {443}})
	ind := indicatorSet(t, "77.90.185.20")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := writeTemp(t, "e.ndjson", tc.in)
			for _, q := range []connectors.EventQuery{{}, {Facing: facing, Indicators: ind}} {
				evs, rep := readEvents(t, Options{NetworkEvents: []string{p}}, q)
				if rep.Read != tc.read || int64(len(evs)) != tc.read || len(rep.Skipped) != 0 {
					t.Errorf("pushed=%v: read %d, %d events, skipped %v; want %d read and passed", q.Facing != nil, rep.Read, len(evs), rep.Skipped, tc.read)
				}
				if diff := cmp.Diff(tc.others, rep.OtherTables); diff != "" {
					t.Errorf("pushed=%v: other tables (-want +got):\n%s", q.Facing != nil, diff)
				}
			}
		})
	}
}

// TestRawVerbatim: an event's Raw is the record as it was read, byte for
// byte (the whole Streaming API record, the Event Hub batch member, the
// array element or pretty-printed value with its whitespace), or for CSV
// a compact JSON object of the row's non-empty cells.
func TestRawVerbatim(t *testing.T) {
	row := `{"Timestamp":"2025-11-03T10:00:00.1234567Z","DeviceId":"` + devA + `","ActionType":"InboundConnectionAccepted","RemoteIP":"77.90.185.20","LocalPort":443}`
	pretty := "{\n    \"Timestamp\" : \"2025-11-03T10:00:00.1234567Z\",\n    \"DeviceId\": \"" + devA + "\",\n    \"ActionType\": \"InboundConnectionAccepted\",\n    \"RemoteIP\": \"77.90.185.20\",\n    \"LocalPort\": 443\n  }"
	record := `{"time":"2025-11-03T10:00:02.0000000Z","tenantId":"t","operationName":"Publish","category":"AdvancedHunting-DeviceNetworkEvents","properties":` + row + `,"Tenant":"DefaultTenant"}`
	prettyRecord := "{\n      \"time\": \"2025-11-03T10:00:02.0000000Z\",\n      \"category\": \"AdvancedHunting-DeviceNetworkEvents\",\n      \"properties\": " + pretty + "\n    }"
	tests := []struct {
		name    string
		file    string
		content string
		want    string
	}{
		{"NDJSON row, CRLF and blanks trimmed", "e.ndjson", "  " + row + " \r\n", row},
		{"Streaming API record: the whole record", "e.ndjson", record + "\n", record},
		{"Event Hub batch on one line: the member", "e.ndjson", `{"records":[` + record + `]}` + "\n", record},
		{"pretty-printed Event Hub batch: the member as written", "e.json", "{\n  \"records\": [\n    " + prettyRecord + "\n  ]\n}\n", prettyRecord},
		{"JSON array element, pretty-printed", "e.json", "[\n  " + pretty + "\n]\n", pretty},
		{"pretty-printed object", "e.json", pretty + "\n", pretty},
		{"Streaming API records in a JSON array", "e.json", "[" + record + ",\n" + record + "]", record},
		{"CSV: a compact object of the non-empty cells", "e.csv", "Timestamp,DeviceId,ActionType,RemoteIP,RemotePort,LocalPort\r\n2025-11-03T10:00:00Z," + devA + ",InboundConnectionAccepted,77.90.185.20,,443\r\n",
			`{"Timestamp":"2025-11-03T10:00:00Z","DeviceId":"` + devA + `","ActionType":"InboundConnectionAccepted","RemoteIP":"77.90.185.20","LocalPort":443}`},
	}
	facing := facingSet(map[string][]int{devA: {443}})
	ind := indicatorSet(t, "77.90.185.20")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := writeTemp(t, tc.file, []byte(tc.content))
			for _, q := range []connectors.EventQuery{{}, {Facing: facing, Indicators: ind}} {
				evs, _ := readEvents(t, Options{NetworkEvents: []string{p}}, q)
				if len(evs) == 0 {
					t.Fatalf("no event")
				}
				for _, ev := range evs {
					if string(ev.Raw) != tc.want {
						t.Errorf("pushed=%v: Raw =\n%s\nwant\n%s", q.Facing != nil, ev.Raw, tc.want)
					}
				}
			}
		})
	}
}

// TestMixedTablesOneSource: what the engine does with --device-info and
// --network-events both pointing at the dump: one Source, each table read
// once.
func TestMixedTablesOneSource(t *testing.T) {
	src := New(Options{DeviceInfo: []string{mixedDump}, NetworkEvents: []string{mixedDump}})
	var devices int
	drep, err := src.DeviceInfo(context.Background(), connectors.FacingQuery{}, func(*correlation.DeviceInfo) error { devices++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	var events int
	erep, err := src.NetworkEvents(context.Background(), connectors.EventQuery{}, func(*correlation.NetworkEvent) error { events++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if devices != 3 || events != 14 || drep.Read+erep.Read != 17 || drep.OtherTables["DeviceNetworkEvents"] != 14 || erep.OtherTables["DeviceInfo"] != 3 {
		t.Errorf("devices %d (%+v), events %d (%+v)", devices, drep, events, erep)
	}
	var sum int64
	for _, n := range erep.OtherTables {
		sum += n
	}
	if erep.Read+sum != 26 {
		t.Errorf("network events read %d + other tables %d, want the 26 records", erep.Read, sum)
	}
}
