package file

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/edgewatch/edgewatch/connectors"
	"github.com/edgewatch/edgewatch/connectors/internal/jsonscan"
	"github.com/edgewatch/edgewatch/correlation"
)

var update = flag.Bool("update", false, "rewrite testdata/sample's derived files (network_events.csv, network_events.ndjson.gz)")

const sampleDir = "../../testdata/sample"

func samplePath(name string) string { return filepath.Join(sampleDir, name) }

// sampleCSV renders the sample's good network event rows as a portal CSV
// export: one column per key, in order of first appearance.
func sampleCSV(t *testing.T) []byte {
	t.Helper()
	evs, _ := readEvents(t, Options{NetworkEvents: []string{samplePath("network_events.ndjson")}}, connectors.EventQuery{})
	var cols []string
	rows := make([]map[string]string, len(evs))
	for i := range evs {
		rows[i] = map[string]string{}
		row := evs[i].Raw
		it := jsonscan.NewObjIter(row)
		for it.Next() {
			if string(it.Key) == "properties" { // a Streaming API record: the row is its properties
				row = it.Val
			}
		}
		it = jsonscan.NewObjIter(row)
		for it.Next() {
			k := string(it.Key)
			if !slices.Contains(cols, k) {
				cols = append(cols, k)
			}
			v := it.Val
			if it.Kind == jsonscan.KindString {
				v, _ = jsonscan.Unquote(v, nil)
			}
			rows[i][k] = string(v)
		}
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.UseCRLF = true
	w.Write(cols)
	for _, r := range rows {
		rec := make([]string, len(cols))
		for i, c := range cols {
			rec[i] = r[c]
		}
		w.Write(rec)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestSampleExports keeps the CSV export and the gzip copy of the sample
// in step with network_events.ndjson (go test -run SampleExports -update).
func TestSampleExports(t *testing.T) {
	ndjson, err := os.ReadFile(samplePath("network_events.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	wantCSV := sampleCSV(t)
	if *update {
		if err := os.WriteFile(samplePath("network_events.csv"), wantCSV, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(samplePath("network_events.ndjson.gz"), gzipBytes(t, ndjson), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gotCSV, err := os.ReadFile(samplePath("network_events.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(gotCSV, wantCSV) {
		t.Errorf("network_events.csv is stale; run go test ./connectors/file -run SampleExports -update")
	}
	gz, err := os.ReadFile(samplePath("network_events.ndjson.gz"))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(plain, ndjson) {
		t.Errorf("network_events.ndjson.gz is stale; run go test ./connectors/file -run SampleExports -update")
	}
}

// TestSampleDetection pins what the bundled sample is for (testdata/sample/README.md):
// which ports face the internet, which rows are bad, and which events alert.
func TestSampleDetection(t *testing.T) {
	ind := loadFeed(t, samplePath("feed.txt"))
	src := New(Options{DeviceInfo: []string{samplePath("device_info.ndjson")}})
	facing := buildFacing(t, src)
	var pairs []string
	for fp := range facing.All() {
		pairs = append(pairs, fmt.Sprintf("%s:%d", fp.Row.DeviceName, fp.Port))
	}
	slices.Sort(pairs)
	wantPairs := []string{"mail-01.contoso.com:25", "rdp-gw-01.contoso.com:3389", "ssh-01.contoso.com:8443",
		"vpn-01.contoso.com:443", "web-01.contoso.com:443", "web-01.contoso.com:80"}
	if diff := cmp.Diff(wantPairs, pairs); diff != "" {
		t.Errorf("facing pairs (-want +got):\n%s", diff)
	}

	type finding struct {
		Line   int
		Report string
		Remote string
	}
	// The NDJSON sample's findings and skips, the same from its gzip copy.
	ndjsonWant := []finding{{2, "9002", "77.90.185.20"}, {3, "9003", "2.57.122.53"}, {4, "9003", "2.57.122.53"},
		{8, "9008", "80.82.77.33"}, {9, "9009", "193.47.62.69"}, {10, "9010", "195.178.110.218"},
		{11, "9011", "2.57.122.238"}, {13, "9013", "45.198.224.26"}, {15, "9015", "71.6.135.131"}, {16, "9016", "85.239.149.72"}}
	ndjsonSkips := []string{"bad JSON@17", "bad RemoteIP@18"}
	tests := []struct {
		name    string
		file    string
		exclude []int
		want    []finding
		skips   []string
	}{
		{name: "ndjson", file: "network_events.ndjson", want: ndjsonWant, skips: ndjsonSkips},
		{
			name:    "ndjson excluding SMTP",
			file:    "network_events.ndjson",
			exclude: []int{25},
			want: []finding{{2, "9002", "77.90.185.20"}, {3, "9003", "2.57.122.53"}, {4, "9003", "2.57.122.53"},
				{8, "9008", "80.82.77.33"}, {9, "9009", "193.47.62.69"}, {10, "9010", "195.178.110.218"},
				{13, "9013", "45.198.224.26"}, {15, "9015", "71.6.135.131"}, {16, "9016", "85.239.149.72"}},
			skips: ndjsonSkips,
		},
		{name: "gzip copy", file: "network_events.ndjson.gz", want: ndjsonWant, skips: ndjsonSkips},
		{
			name: "CSV export (the rows that decode, one per line after the header)",
			file: "network_events.csv",
			want: []finding{{3, "9002", "77.90.185.20"}, {4, "9003", "2.57.122.53"}, {5, "9003", "2.57.122.53"},
				{9, "9008", "80.82.77.33"}, {10, "9009", "193.47.62.69"}, {11, "9010", "195.178.110.218"},
				{12, "9011", "2.57.122.238"}, {14, "9013", "45.198.224.26"}, {16, "9015", "71.6.135.131"}, {17, "9016", "85.239.149.72"}},
			skips: []string{"bad RemoteIP@19"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := correlation.NewMatcher(facing, ind, correlation.MatchOptions{ExcludePorts: tc.exclude})
			var got []finding
			src := New(Options{NetworkEvents: []string{samplePath(tc.file)}})
			rep, err := src.NetworkEvents(context.Background(), connectors.EventQuery{Facing: facing, Indicators: ind}, func(ev *correlation.NetworkEvent) error {
				if match, _, ok := m.Match(ev); ok {
					got = append(got, finding{ev.Loc.Line, ev.ReportID, match.Remote.String()})
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.skips, skips(rep)); diff != "" {
				t.Errorf("skips (-want +got):\n%s", diff)
			}
		})
	}
}
