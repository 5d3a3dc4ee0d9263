package file

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/edgewatch/edgewatch/connectors"
	"github.com/edgewatch/edgewatch/correlation"
)

// TestRowTooLarge: a row above the maximum row size, terminated or not, is
// one skipped row with its line, and the read goes on after it.
func TestRowTooLarge(t *testing.T) {
	const max = 400
	long := `{"Timestamp":"2025-11-03T10:00:00Z","DeviceId":"` + devA + `","ActionType":"A","DeviceName":"` + strings.Repeat("x", max) + `"}`
	exact := `{"Timestamp":"2025-11-03T10:00:00Z","DeviceId":"` + devB + `","ActionType":"B","DeviceName":"`
	exact += strings.Repeat("y", max-len(exact)-2) + `"}`
	garbage := strings.Repeat("\x00garbage", 2*max)
	csvHead := "Timestamp,DeviceId,ActionType,RemoteIP,LocalPort,IsInternetFacing,AdditionalFields\n" // both tables' columns
	csvA := "2025-11-03T10:00:00Z," + devA + ",InboundConnectionAccepted,77.90.185.20,443,,\n"
	tests := []struct {
		name      string
		file      string
		content   string
		want      []string // event lines
		wantSkips []string
		wantErr   string
	}{
		{name: "NDJSON: a long line between rows", file: "e.ndjson", content: rowA + "\n" + long + "\n" + rowB + "\n",
			want: []string{"1", "3"}, wantSkips: []string{"row too large@2"}},
		{name: "NDJSON: a row of exactly the maximum is read", file: "e.ndjson", content: rowA + "\n" + exact + "\n" + rowB,
			want: []string{"1", "2", "3"}},
		{name: "NDJSON: an unterminated long last line", file: "e.ndjson", content: rowA + "\n" + rowB + "\n" + long,
			want: []string{"1", "2"}, wantSkips: []string{"row too large@3"}},
		{name: "NDJSON: long lines one after the other", file: "e.ndjson", content: rowA + "\n" + long + "\n" + long + "\n" + garbage + "\n" + rowB + "\n",
			want: []string{"1", "5"}, wantSkips: []string{"row too large@2,3,4"}},
		{name: "NDJSON: the first line is long", file: "e.ndjson", content: long + "\n" + rowA + "\n",
			want: []string{"2"}, wantSkips: []string{"row too large@1"}},
		{name: "JSON array: a long element", file: "e.json", content: "[\n" + rowA + ",\n" + long + ",\n" + rowB + "\n]",
			want: []string{"2", "4"}, wantSkips: []string{"row too large@3"}},
		{name: "pretty-printed: a long value that never ends", file: "e.json", content: "{\n\"a\": 1}\n{\n\"b\": \"" + strings.Repeat("z", 2*max),
			wantSkips: []string{"bad JSON document (rest of file not read)@3", "missing DeviceId@1"}},
		{name: "one long line of garbage, nothing else", file: "e.bin", content: garbage,
			wantSkips: []string{"row too large@1"}},
		{name: "CSV: a long data line", file: "e.csv", content: csvHead + csvA + "2025-11-03T10:00:00Z," + devA + "," + strings.Repeat("x", max) + ",1.1.1.1,443,,\n" + csvA,
			want: []string{"2", "4"}, wantSkips: []string{"row too large@3"}},
		{name: "CSV: a long header", file: "e.csv", content: strings.Repeat("Timestamp,", max) + "\n" + csvA,
			wantErr: `e.csv:1: bad input: .*longer than 400 bytes where the CSV header should be`},
		{name: "CSV: a quoted field left open", file: "e.csv", content: csvHead + csvA + "2025-11-03T10:00:00Z,\"" + devA + "\n" + strings.Repeat(csvA, 20),
			want: []string{"2"}, wantErr: `e.csv:3: bad input: a CSV record longer than 400 bytes`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := writeTemp(t, tc.file, []byte(tc.content))
			var tooLarge int64
			for _, workers := range []int{1, 3} {
				evs, rep, err := readEventsErr(Options{NetworkEvents: []string{p}, Workers: workers, MaxRowBytes: max}, connectors.EventQuery{})
				if tc.wantErr != "" {
					if err == nil || !regexp.MustCompile(tc.wantErr).MatchString(err.Error()) || !errors.Is(err, connectors.ErrInput) {
						t.Errorf("err = %v, want ErrInput matching %q", err, tc.wantErr)
					}
				} else if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, ev := range evs {
					got = append(got, strconv.Itoa(ev.Loc.Line))
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("workers=%d: events at lines (-want +got):\n%s", workers, diff)
				}
				if diff := cmp.Diff(tc.wantSkips, skips(rep)); diff != "" {
					t.Errorf("workers=%d: skips (-want +got):\n%s", workers, diff)
				}
				if rep.Read != rep.Passed+rep.SkippedTotal() {
					t.Errorf("workers=%d: read %d, passed %d, skipped %d", workers, rep.Read, rep.Passed, rep.SkippedTotal())
				}
				tooLarge = rep.Skipped[reasonTooLarge]
			}
			// DeviceInfo reads the same way.
			_, drep, err := readDevicesErr(Options{DeviceInfo: []string{p}, MaxRowBytes: max})
			if (err != nil) != (tc.wantErr != "") {
				t.Errorf("DeviceInfo err = %v", err)
			}
			if drep.Skipped[reasonTooLarge] != tooLarge {
				t.Errorf("DeviceInfo skips %v, want %d too large", drep.Skipped, tooLarge)
			}
		})
	}
}

func readDevicesErr(opts Options) ([]correlation.DeviceInfo, connectors.Report, error) {
	var out []correlation.DeviceInfo
	rep, err := New(opts).DeviceInfo(context.Background(), connectors.FacingQuery{}, func(di *correlation.DeviceInfo) error {
		out = append(out, *di)
		return nil
	})
	return out, rep, err
}

// streamFS serves one file, "big", whose content is made as it is read:
// a test can read a 50 MB line without 50 MB on disk or in memory.
type streamFS struct{ parts func() []io.Reader }

func (s streamFS) Open(name string) (fs.File, error) {
	if name != "big" {
		return nil, fs.ErrNotExist
	}
	return &streamFile{Reader: io.MultiReader(s.parts()...)}, nil
}

type streamFile struct{ io.Reader }

func (f *streamFile) Stat() (fs.FileInfo, error) { return streamInfo{}, nil }
func (f *streamFile) Close() error               { return nil }

type streamInfo struct{}

func (streamInfo) Name() string       { return "big" }
func (streamInfo) Size() int64        { return -1 }
func (streamInfo) Mode() fs.FileMode  { return 0 }
func (streamInfo) ModTime() time.Time { return time.Time{} }
func (streamInfo) IsDir() bool        { return false }
func (streamInfo) Sys() any           { return nil }

// repeatReader yields n bytes of b repeated.
type repeatReader struct {
	b []byte
	n int64
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.n {
		p = p[:r.n]
	}
	for i := range p {
		p[i] = r.b[i%len(r.b)]
	}
	// Keep the pattern aligned across reads.
	k := len(p) % len(r.b)
	r.b = append(r.b[k:], r.b[:k]...)
	r.n -= int64(len(p))
	return len(p), nil
}

// TestFiftyMegabyteLine: a 50 MB line without a newline, read with the
// default maximum row size and with a small one, is one skipped row, and the
// read allocates far less than the line: it is never held whole.
func TestFiftyMegabyteLine(t *testing.T) {
	const size = 50 << 20
	tests := []struct {
		name     string
		head     string // what comes before the long line
		line     string // the long line's pattern
		maxRow   int
		maxAlloc uint64
		want     []string
	}{
		{"NDJSON rows, then a long JSON line, default maximum", rowA + "\n" + rowB + "\n", `{"DeviceName":"` + strings.Repeat("a", 100), 0, 40 << 20, []string{"row too large@3"}},
		{"NDJSON rows, then a long JSON line, 1 MiB maximum", rowA + "\n" + rowB + "\n", `{"DeviceName":"` + strings.Repeat("a", 100), 1 << 20, 8 << 20, []string{"row too large@3"}},
		{"a long line of garbage alone", "", "garbage ", 1 << 20, 8 << 20, []string{"row too large@1"}},
		{"a long JSON value alone", "", `{"DeviceName":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa`, 1 << 20, 8 << 20, []string{"bad JSON document (rest of file not read)@1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fsys := streamFS{parts: func() []io.Reader {
				return []io.Reader{strings.NewReader(tc.head), &repeatReader{b: []byte(tc.line), n: size}}
			}}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, rep, err := readEventsErr(Options{FS: fsys, NetworkEvents: []string{"big"}, Workers: 1, MaxRowBytes: tc.maxRow}, connectors.EventQuery{})
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, skips(rep)); diff != "" {
				t.Errorf("skips (-want +got):\n%s", diff)
			}
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("allocated %d MiB", alloc>>20)
			if alloc > tc.maxAlloc {
				t.Errorf("the read allocated %d MiB for a %d MiB line, want at most %d MiB", alloc>>20, size>>20, tc.maxAlloc>>20)
			}
		})
	}
}

// TestCorruptGzip: a gzip stream that is cut short or damaged ends the read
// with an input error naming the file and the compressed byte offset, in
// every layout; nothing half-read passes as a complete read.
func TestCorruptGzip(t *testing.T) {
	var nd bytes.Buffer
	for i := 0; i < 30000; i++ { // several MiB: past the sniffer's first megabyte
		nd.WriteString(`{"Timestamp":"2025-11-03T10:00:00Z","DeviceId":"` + devA + `","ActionType":"InboundConnectionAccepted","RemoteIP":"77.90.185.` + strconv.Itoa(i%250) + `","LocalPort":443,"ReportId":` + strconv.Itoa(i) + "}\n")
	}
	ndjson := nd.Bytes()
	arr := append(append([]byte("[\n"), bytes.ReplaceAll(bytes.TrimSuffix(ndjson, []byte("\n")), []byte("\n"), []byte(",\n"))...), "\n]\n"...)
	var cs bytes.Buffer
	cs.WriteString("Timestamp,DeviceId,ActionType,RemoteIP,LocalPort,ReportId,IsInternetFacing,AdditionalFields\n")
	for i := 0; i < 60000; i++ {
		cs.WriteString("2025-11-03T10:00:00Z," + devA + ",InboundConnectionAccepted,77.90.185.20,443," + strconv.Itoa(i) + ",,\n")
	}
	damage := []struct {
		name string
		cut  func([]byte) []byte
	}{
		{"cut in half", func(b []byte) []byte { return b[:len(b)/2] }},
		{"trailer cut off", func(b []byte) []byte { return b[:len(b)-4] }},
		{"cut right after the header", func(b []byte) []byte { return b[:12] }},
		{"a byte flipped in the middle", func(b []byte) []byte {
			c := bytes.Clone(b)
			c[len(c)/2] ^= 0xff
			return c
		}},
		{"checksum wrong", func(b []byte) []byte {
			c := bytes.Clone(b)
			c[len(c)-6] ^= 0xff
			return c
		}},
	}
	layouts := []struct {
		name    string
		content []byte
	}{{"NDJSON", ndjson}, {"JSON array", arr}, {"CSV", cs.Bytes()}}
	offset := regexp.MustCompile(`: bad input: gzip data truncated or corrupt at compressed byte (\d+) of (\d+): `)
	for _, l := range layouts {
		gz := gzipBytes(t, l.content)
		for _, d := range damage {
			t.Run(l.name+"/"+d.name, func(t *testing.T) {
				bad := d.cut(gz)
				p := writeTemp(t, "events.gz", bad)
				for _, workers := range []int{1, 3} {
					_, rep, err := readEventsErr(Options{NetworkEvents: []string{p}, Workers: workers}, connectors.EventQuery{})
					checkGzipErr(t, err, p, len(bad), offset)
					if rows := int64(bytes.Count(l.content, []byte("\n"))); d.name == "cut in half" && rep.Read >= rows/2+1 {
						t.Errorf("workers=%d: %d rows read of half a stream of %d", workers, rep.Read, rows)
					}
				}
				_, _, err := readDevicesErr(Options{DeviceInfo: []string{p}})
				checkGzipErr(t, err, p, len(bad), offset)
			})
		}
	}
}

func checkGzipErr(t *testing.T, err error, path string, size int, offset *regexp.Regexp) {
	t.Helper()
	if err == nil {
		t.Fatalf("read succeeded")
	}
	if !errors.Is(err, connectors.ErrInput) || !strings.HasPrefix(err.Error(), path+": ") {
		t.Errorf("err = %v, want an input error naming %s", err, path)
	}
	m := offset.FindStringSubmatch(err.Error())
	if m == nil {
		t.Fatalf("err = %v, want the compressed byte offset", err)
	}
	off, _ := strconv.Atoi(m[1])
	total, _ := strconv.Atoi(m[2])
	if off <= 0 || off > size || total != size {
		t.Errorf("offset %d of %d, want within the %d-byte file", off, total, size)
	}
}

// TestCSVMissingColumns: a CSV export without a column its table needs is
// named once (Report.MissingColumns and the error), not counted row by row;
// when no row could ever be used the read fails as an input error.
func TestCSVMissingColumns(t *testing.T) {
	row := func(cols ...string) string { return strings.Join(cols, ",") + "\n" }
	tests := []struct {
		name       string
		table      string // "events" or "devices"
		content    string
		wantErr    string
		wantMiss   []string
		wantRead   int64
		wantOthers map[string]int64
	}{
		{
			name:    "network events without RemoteIP",
			table:   "events",
			content: row("Timestamp", "DeviceId", "ActionType", "LocalPort") + row("2025-11-03T10:00:00Z", devA, "InboundConnectionAccepted", "443"),
			wantErr: `e.csv: bad input: the CSV header has no RemoteIP column: no DeviceNetworkEvents row can be used`, wantMiss: []string{"RemoteIP"},
		},
		{
			name:    "network events without RemoteIP, LocalPort and a time",
			table:   "events",
			content: row("DeviceId", "ActionType") + row(devA, "InboundConnectionAccepted"),
			wantErr: `e.csv: bad input: the CSV header has no RemoteIP, LocalPort, Timestamp or TimeGenerated column`, wantMiss: []string{"RemoteIP", "LocalPort", "Timestamp or TimeGenerated"},
		},
		{
			name:    "a DeviceInfo export given as network events",
			table:   "events",
			content: row("Timestamp", "DeviceId", "IsInternetFacing", "AdditionalFields") + row("2025-11-03T10:00:00Z", devA, "true", `"{""InternetFacingLocalPort"":443}"`),
			wantErr: `no ActionType, RemoteIP, LocalPort column`, wantMiss: []string{"ActionType", "RemoteIP", "LocalPort"},
		},
		{
			name:    "device info without AdditionalFields",
			table:   "devices",
			content: row("TimeGenerated", "DeviceId", "IsInternetFacing") + row("2025-11-03T10:00:00Z", devA, "true"),
			wantErr: `the CSV header has no AdditionalFields column: no DeviceInfo row can be used`, wantMiss: []string{"AdditionalFields"},
		},
		{
			name:    "a header only is still named",
			table:   "events",
			content: row("Timestamp", "DeviceId", "ActionType", "LocalPort"),
			wantErr: `no RemoteIP column`, wantMiss: []string{"RemoteIP"},
		},
		{
			name:  "a Log Analytics export of other tables only: named, not an error",
			table: "events",
			content: row("TimeGenerated", "DeviceId", "ActionType", "FileName", "Type") +
				row("2025-11-03T10:00:00Z", devA, "ProcessCreated", "cmd.exe", "DeviceProcessEvents") +
				row("2025-11-03T10:00:00Z", devA, "FileCreated", "a.txt", "DeviceFileEvents"),
			wantMiss: []string{"RemoteIP", "LocalPort"}, wantOthers: map[string]int64{"DeviceProcessEvents": 1, "DeviceFileEvents": 1},
		},
		{
			name:  "a Log Analytics export with a row of the table read but not its columns",
			table: "events",
			content: row("TimeGenerated", "DeviceId", "ActionType", "FileName", "Type") +
				row("2025-11-03T10:00:00Z", devA, "ProcessCreated", "cmd.exe", "DeviceProcessEvents") +
				row("2025-11-03T10:00:00Z", devA, "InboundConnectionAccepted", "", "DeviceNetworkEvents"),
			wantErr: `e.csv:3: bad input: a DeviceNetworkEvents row, but the CSV header has no RemoteIP, LocalPort column`, wantMiss: []string{"RemoteIP", "LocalPort"},
			wantOthers: map[string]int64{"DeviceProcessEvents": 1},
		},
		{
			name:     "all the columns, in any order and case of the time column",
			table:    "events",
			content:  row("LocalPort", "RemoteIP", "TimeGenerated", "ActionType", "DeviceId") + row("443", "77.90.185.20", "2025-11-03T10:00:00Z", "InboundConnectionAccepted", devA),
			wantRead: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := writeTemp(t, "e.csv", []byte(tc.content))
			var rep connectors.Report
			var err error
			if tc.table == "events" {
				_, rep, err = readEventsErr(Options{NetworkEvents: []string{p}}, connectors.EventQuery{})
			} else {
				_, rep, err = readDevicesErr(Options{DeviceInfo: []string{p}})
			}
			if tc.wantErr == "" && err != nil {
				t.Fatal(err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, connectors.ErrInput)) {
				t.Errorf("err = %v, want an input error with %q", err, tc.wantErr)
			}
			var want map[string][]string
			if tc.wantMiss != nil {
				want = map[string][]string{p: tc.wantMiss}
			}
			if diff := cmp.Diff(want, rep.MissingColumns); diff != "" {
				t.Errorf("missing columns (-want +got):\n%s", diff)
			}
			if rep.Read != tc.wantRead || len(rep.Skipped) != 0 {
				t.Errorf("read %d, skipped %v; want %d read, none skipped (no row counted as missing a field)", rep.Read, rep.Skipped, tc.wantRead)
			}
			if diff := cmp.Diff(tc.wantOthers, rep.OtherTables); diff != "" {
				t.Errorf("other tables (-want +got):\n%s", diff)
			}
		})
	}
}

// TestInvalidUTF8: a row saved in cp1252 (invalid UTF-8) is read like any
// other: its decoded fields are valid UTF-8 (each bad byte U+FFFD, as
// encoding/json decodes it) in every layout, and Raw keeps the bytes as
// they were.
func TestInvalidUTF8(t *testing.T) {
	// "Müller-PC" and "Jérôme" in cp1252.
	name, user := "M\xfcller-PC.contoso.com", "J\xe9r\xf4me"
	wantName, wantUser := "M\uFFFDller-PC.contoso.com", "J\uFFFDr\uFFFDme"
	devC := devA[:39] + "\xe9" // a device id with a bad byte: push-down and full decode agree
	csvText := "Timestamp,DeviceId,DeviceName,ActionType,RemoteIP,LocalPort,InitiatingProcessAccountName\r\n" +
		"2025-11-03T10:00:00Z," + devA + "," + name + ",InboundConnectionAccepted,77.90.185.20,443," + user + "\r\n" +
		"2025-11-03T10:00:01Z," + devC + "," + name + ",InboundConnectionAccepted,77.90.185.20,443," + user + "\r\n"
	ndjsonRow := func(dev string) string {
		return `{"Timestamp":"2025-11-03T10:00:00Z","DeviceId":"` + dev + `","DeviceName":"` + name + `","ActionType":"InboundConnectionAccepted","RemoteIP":"77.90.185.20","LocalPort":443,"InitiatingProcessAccountName":"` + user + `"}`
	}
	tests := []struct {
		name, file, content string
		rawHas              string // bytes Raw must hold
	}{
		// A CSV row's raw object is built from its cells (JSON-escaped as
		// encoding/json does: an invalid byte becomes \ufffd), so it stays
		// a valid JSON object; JSON inputs keep their bytes as they were.
		{"CSV export re-saved as cp1252", "e.csv", csvText, `"DeviceName":"M\ufffdller-PC.contoso.com"`},
		{"NDJSON", "e.ndjson", string(lines(ndjsonRow(devA), ndjsonRow(devC))), ndjsonRow(devA)},
		{"Streaming API record", "e.ndjson", string(lines(`{"time":"2025-11-03T10:00:00Z","properties":`+ndjsonRow(devA)+`}`, `{"properties":`+ndjsonRow(devC)+`}`)), ndjsonRow(devA)},
	}
	facing := facingSet(map[string][]int{devA: {443}, strings.ToValidUTF8(devC, "\uFFFD"): {443}})
	ind := indicatorSet(t, "77.90.185.20")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := writeTemp(t, tc.file, []byte(tc.content))
			for _, q := range []connectors.EventQuery{{}, {Facing: facing, Indicators: ind}} {
				evs, rep := readEvents(t, Options{NetworkEvents: []string{p}}, q)
				if len(evs) != 2 || rep.Passed != 2 || len(rep.Skipped) != 0 {
					t.Fatalf("pushed=%v: %d events, report %+v; want both rows", q.Facing != nil, len(evs), rep)
				}
				ev := evs[0]
				if ev.DeviceName != wantName || ev.Process.AccountName != wantUser {
					t.Errorf("DeviceName %q, AccountName %q; want %q, %q", ev.DeviceName, ev.Process.AccountName, wantName, wantUser)
				}
				for _, e := range evs {
					for _, s := range []string{e.DeviceID, e.DeviceName, e.Process.AccountName, e.RemoteIPRaw, e.ActionType} {
						if !utf8.ValidString(s) {
							t.Errorf("field %q is not valid UTF-8", s)
						}
					}
				}
				if evs[1].DeviceID != devA[:39]+"\uFFFD" {
					t.Errorf("DeviceID = %q", evs[1].DeviceID)
				}
				if !bytes.Contains(ev.Raw, []byte(tc.rawHas)) {
					t.Errorf("Raw = %q, want it to hold %q verbatim", ev.Raw, tc.rawHas)
				}
			}
		})
	}
	// DeviceInfo rows decode the same way.
	p := writeTemp(t, "d.ndjson", lines(`{"Timestamp":"2025-11-03T10:00:00Z","DeviceId":"`+devA+`","DeviceName":"`+name+`","IsInternetFacing":true,"AdditionalFields":{"InternetFacingLocalPort":443,"InternetFacingReason":"`+user+`"}}`))
	devs, _ := readDevices(t, Options{DeviceInfo: []string{p}}, connectors.FacingQuery{})
	if len(devs) != 1 || devs[0].DeviceName != wantName || !utf8.ValidString(devs[0].Facing.Reason) {
		t.Errorf("device info: %+v", devs)
	}
}
