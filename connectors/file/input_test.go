package file

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/edgewatch/edgewatch/connectors"
	"github.com/edgewatch/edgewatch/correlation"
)

// Two events, in each layout the reader accepts.
const (
	rowA = `{"Timestamp":"2025-11-03T10:00:00Z","DeviceId":"` + devA + `","ActionType":"InboundConnectionAccepted","RemoteIP":"77.90.185.20","RemotePort":50000,"LocalPort":443}`
	rowB = `{"Timestamp":"2025-11-03T10:00:01Z","DeviceId":"` + devB + `","ActionType":"ConnectionSuccess","RemoteIP":"1.1.1.1","RemotePort":443,"LocalPort":"50001"}`
)

var (
	wantA = devA + " InboundConnectionAccepted 77.90.185.20(77.90.185.20) 50000>443 2025-11-03T10:00:00Z"
	wantB = devB + " ConnectionSuccess 1.1.1.1(1.1.1.1) 443>50001 2025-11-03T10:00:01Z"
)

func TestInputFormats(t *testing.T) {
	ndjson := lines(rowA, rowB)
	csvText := "\ufeffTimestamp,DeviceId,ActionType,RemoteIP,RemotePort,LocalPort,InitiatingProcessCommandLine\r\n" +
		"2025-11-03T10:00:00Z," + devA + ",InboundConnectionAccepted,77.90.185.20,50000,443,\"cmd.exe /c \"\"echo, hi\"\"\"\r\n" +
		"2025-11-03T10:00:01Z," + devB + ",ConnectionSuccess,1.1.1.1,443,50001,\r\n"
	tests := []struct {
		name      string
		file      string
		content   []byte
		want      []string
		wantSkips []string
	}{
		{name: "ndjson", file: "e.ndjson", content: ndjson, want: []string{"L1 " + wantA, "L2 " + wantB}},
		{name: "gzip content under a .ndjson name", file: "e.ndjson", content: gzipBytes(t, ndjson), want: []string{"L1 " + wantA, "L2 " + wantB}},
		{name: "plain content under a .gz name", file: "e.ndjson.gz", content: ndjson, want: []string{"L1 " + wantA, "L2 " + wantB}},
		{name: "CSV content under a .json name", file: "e.json", content: []byte(csvText), want: []string{"L2 " + wantA, "L3 " + wantB}},
		{name: "gzipped CSV", file: "export.csv.gz", content: gzipBytes(t, []byte(csvText)), want: []string{"L2 " + wantA, "L3 " + wantB}},
		{name: "JSON array on one line", file: "e.json", content: []byte("[" + rowA + "," + rowB + "]"), want: []string{"L1 " + wantA, "L1 " + wantB}},
		{
			name:    "pretty-printed JSON array",
			file:    "e.json",
			content: []byte("[\n  {\n    \"Timestamp\": \"2025-11-03T10:00:00Z\",\n    \"DeviceId\": \"" + devA + "\",\n    \"ActionType\": \"InboundConnectionAccepted\",\n    \"RemoteIP\": \"77.90.185.20\",\n    \"RemotePort\": 50000,\n    \"LocalPort\": 443\n  },\n  " + rowB + "\n]\n"),
			want:    []string{"L2 " + wantA, "L10 " + wantB},
		},
		{
			name:    "pretty-printed Event Hub batch",
			file:    "batch.json",
			content: []byte("{\n  \"records\": [\n    {\n      \"time\": \"2025-11-03T10:00:02Z\",\n      \"properties\": " + rowA + "\n    },\n    {\n      \"properties\": " + rowB + "\n    }\n  ]\n}\n"),
			want:    []string{"L3 " + wantA, "L7 " + wantB},
		},
		{
			name:    "pretty-printed objects one after the other",
			file:    "e.json",
			content: []byte("{\n\"Timestamp\":\"2025-11-03T10:00:00Z\",\"DeviceId\":\"" + devA + "\",\"ActionType\":\"InboundConnectionAccepted\",\"RemoteIP\":\"77.90.185.20\",\"RemotePort\":50000,\"LocalPort\":443}\n" + rowB + "\n"),
			want:    []string{"L1 " + wantA, "L3 " + wantB},
		},
		{
			name:      "broken pretty-printed document stops that file, counted",
			file:      "e.json",
			content:   []byte("[\n" + rowA + ",\n" + rowB + "\n" + rowB + "\n]"),
			want:      []string{"L2 " + wantA, "L3 " + wantB},
			wantSkips: []string{reasonBadDocument + "@4"},
		},
		{name: "empty file", file: "e.ndjson", content: nil},
		{name: "blank file", file: "e.ndjson", content: []byte("\n \n\t\n")},
		{name: "empty gzip", file: "e.ndjson.gz", content: gzipBytes(t, nil)},
		{name: "empty JSON array", file: "e.json", content: []byte("[]")},
		{name: "byte order mark", file: "e.ndjson", content: append([]byte("\ufeff"), ndjson...), want: []string{"L1 " + wantA, "L2 " + wantB}},
		{
			name:      "CSV row with the wrong number of cells",
			file:      "e.csv",
			content:   []byte("Timestamp,DeviceId,ActionType,RemoteIP,LocalPort\r\n2025-11-03T10:00:00Z," + devA + ",A,,\r\n502 Bad Gateway\r\nx,y\r\n2025-11-03T10:00:01Z," + devB + ",B,,\r\n"),
			want:      []string{"L2 " + devA + " A (-) -1>-1 2025-11-03T10:00:00Z", "L5 " + devB + " B (-) -1>-1 2025-11-03T10:00:01Z"},
			wantSkips: []string{"bad CSV row@3,4"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := writeTemp(t, tc.file, tc.content)
			evs, rep := readEvents(t, Options{NetworkEvents: []string{p}}, connectors.EventQuery{})
			if diff := cmp.Diff(tc.want, evSummaries(evs)); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantSkips, skips(rep)); diff != "" {
				t.Errorf("skips (-want +got):\n%s", diff)
			}
			if rep.Read != int64(len(tc.want))+rep.SkippedTotal() || rep.Passed != int64(len(tc.want)) {
				t.Errorf("Read=%d Passed=%d Skipped=%d", rep.Read, rep.Passed, rep.SkippedTotal())
			}
		})
	}
}

func TestCSVRawIsAnAdvancedHuntingRow(t *testing.T) {
	csvText := "Timestamp,DeviceId,ActionType,RemoteIP,RemotePort,LocalPort,IsInitiatingProcessRemoteSession,InitiatingProcessCommandLine,RemoteUrl\n" +
		"2025-11-03T10:00:00Z," + devA + ",InboundConnectionAccepted,77.90.185.20,50000,0443x,false,\"a \"\"b\"\"\",\n"
	p := writeTemp(t, "e.csv", []byte(csvText))
	evs, _ := readEvents(t, Options{NetworkEvents: []string{p}}, connectors.EventQuery{})
	if len(evs) != 1 {
		t.Fatalf("got %d events", len(evs))
	}
	want := `{"Timestamp":"2025-11-03T10:00:00Z","DeviceId":"` + devA + `","ActionType":"InboundConnectionAccepted","RemoteIP":"77.90.185.20","RemotePort":50000,"LocalPort":"0443x","IsInitiatingProcessRemoteSession":false,"InitiatingProcessCommandLine":"a \"b\""}`
	if string(evs[0].Raw) != want {
		t.Errorf("Raw =\n%s\nwant\n%s", evs[0].Raw, want)
	}
}

func TestInputErrors(t *testing.T) {
	good := writeTemp(t, "good.ndjson", lines(rowA))
	badGzip := writeTemp(t, "bad.ndjson", []byte{0x1f, 0x8b, 0x08, 0, 1, 2, 3})
	truncated := gzipBytes(t, []byte(strings.Repeat(rowA+"\n", 200)))
	truncGzip := writeTemp(t, "trunc.ndjson.gz", truncated[:len(truncated)/2])
	dir := t.TempDir()
	tests := []struct {
		name    string
		path    string
		wantIn  string
		wantErr error
	}{
		{"missing file", "/nonexistent/events.ndjson", "/nonexistent/events.ndjson", fs.ErrNotExist},
		{"bad gzip header", badGzip, badGzip, nil},
		{"truncated gzip", truncGzip, truncGzip, nil},
		{"a directory", dir, dir, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, workers := range []int{1, 2} {
				// The good file first: its rows are read, then the bad one stops the read.
				_, rep, err := readEventsErr(Options{NetworkEvents: []string{good, tc.path}, Workers: workers}, connectors.EventQuery{})
				if err == nil || !strings.Contains(err.Error(), tc.wantIn) {
					t.Fatalf("err = %v, want one naming %s", err, tc.wantIn)
				}
				if strings.Count(err.Error(), tc.wantIn) != 1 {
					t.Errorf("err names the file more than once: %v", err)
				}
				if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
					t.Errorf("err = %v, want it to wrap %v", err, tc.wantErr)
				}
				if rep.Read < 1 {
					t.Errorf("report lost the good file's rows: %+v", rep)
				}
				var n int
				_, err = New(Options{DeviceInfo: []string{tc.path}}).DeviceInfo(context.Background(), connectors.FacingQuery{}, func(*correlation.DeviceInfo) error { n++; return nil })
				if err == nil || !strings.Contains(err.Error(), tc.wantIn) {
					t.Errorf("DeviceInfo err = %v, want one naming %s", err, tc.wantIn)
				}
			}
		})
	}
}

func TestFS(t *testing.T) {
	fsys := fstest.MapFS{
		"sample/events.ndjson.gz": {Data: gzipBytes(t, lines(rowA, rowB))},
		"sample/device_info.json": {Data: []byte(`[{"Timestamp":"2025-11-01T00:00:00Z","DeviceId":"` + devA + `","IsInternetFacing":true,"AdditionalFields":{"InternetFacingLocalPort":443}}]`)},
	}
	src := New(Options{FS: fsys, DeviceInfo: []string{"sample/device_info.json"}, NetworkEvents: []string{"sample/events.ndjson.gz"}})
	var devs, evs int
	if _, err := src.DeviceInfo(context.Background(), connectors.FacingQuery{}, func(*correlation.DeviceInfo) error { devs++; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := src.NetworkEvents(context.Background(), connectors.EventQuery{}, func(*correlation.NetworkEvent) error { evs++; return nil }); err != nil {
		t.Fatal(err)
	}
	if devs != 1 || evs != 2 {
		t.Errorf("read %d device rows and %d events, want 1 and 2", devs, evs)
	}
	if _, err := New(Options{FS: fsys, NetworkEvents: []string{"sample/nope.ndjson"}}).NetworkEvents(context.Background(), connectors.EventQuery{}, func(*correlation.NetworkEvent) error { return nil }); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "sample/nope.ndjson") {
		t.Errorf("missing file in FS: err = %v", err)
	}
}

func TestProgress(t *testing.T) {
	plain := lines(rowA, rowB, rowA)
	zipped := gzipBytes(t, plain)
	p1 := writeTemp(t, "a.ndjson", plain)
	p2 := writeTemp(t, "b.json.gz", zipped)
	want := int64(len(plain) + len(zipped))
	for _, workers := range []int{1, 2} {
		var calls []int64
		var lastTotal int64
		q := connectors.EventQuery{Progress: func(done, total int64, unit string) {
			if unit != "bytes" {
				t.Errorf("unit %q", unit)
			}
			calls = append(calls, done)
			lastTotal = total
		}}
		if _, err := New(Options{NetworkEvents: []string{p1, p2}, Workers: workers}).NetworkEvents(context.Background(), q, func(*correlation.NetworkEvent) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if len(calls) == 0 || calls[len(calls)-1] != want || lastTotal != want {
			t.Errorf("workers=%d progress calls %v (total %d), want the last to be %d of %d", workers, calls, lastTotal, want, want)
		}
	}
	var done int64
	if _, err := New(Options{DeviceInfo: []string{p1}}).DeviceInfo(context.Background(), connectors.FacingQuery{Progress: func(d, _ int64, _ string) { done = d }}, func(*correlation.DeviceInfo) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if done != int64(len(plain)) {
		t.Errorf("DeviceInfo progress ended at %d, want %d", done, len(plain))
	}
}
