package file

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"
	"unicode/utf8"

	"github.com/edgewatch/edgewatch/connectors"
	"github.com/edgewatch/edgewatch/connectors/internal/jsonscan"
	"github.com/edgewatch/edgewatch/correlation"
)

// FuzzDecodeRow feeds arbitrary bytes to the row decoders. Beyond never
// panicking, it checks the push-down's promise on every input: each event
// the unfiltered decode yields that the Matcher accepts is also yielded by
// the filtered decode, and the filtered decode yields nothing the
// unfiltered one does not. It also checks that the scanner accepts every
// object encoding/json calls valid.
func FuzzDecodeRow(f *testing.F) {
	for _, s := range []string{
		rowA, rowB, `{}`, `[]`, `{"records":[` + rowA + `]}`,
		`{"time":"2025-11-03T10:00:00Z","properties":{"DeviceId":"` + devA + `","ActionType":"InboundConnectionAccepted","LocalPort":"443","RemoteIP":"::ffff:77.90.185.20"}}`,
		`{"TimeGenerated":"2025-11-03T10:00:00Z","DeviceId":"` + devA + `","ActionType":"inboundconnectionaccepted","LocalPort":443.0,"RemoteIP":" 45.0.0.9 "}`,
		`{"Timestamp":"2025-11-01T08:00:00Z","DeviceId":"` + devA + `","IsInternetFacing":"1","AdditionalFields":"{\"InternetFacingLocalPort\":\"22\"}"}`,
		`{"Device\u0049d":"x","ActionType":"Inbound\u0043onnectionAccepted"}`,
		`{"a":[{"b":"}]"}]}`, `{"a":"\\"}`, `{"a":"\`, `{"records":[1,[],{}]}`,
	} {
		f.Add([]byte(s))
	}
	// The bundled sample's rows.
	for _, name := range []string{"network_events.ndjson", "device_info.ndjson"} {
		if fh, err := os.Open(samplePath(name)); err == nil {
			sc := bufio.NewScanner(fh)
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				f.Add(slices.Clone(sc.Bytes()))
			}
			fh.Close()
		}
	}
	facing := facingSet(map[string][]int{devA: {443, 22}, "x": {0}})
	ind := correlation.NewIndicatorSet("fuzz")
	for _, a := range []string{"77.90.185.20/32", "45.0.0.0/24", "2001:db8:1::/48"} {
		ind.Add(correlation.Indicator{Prefix: mustPrefix(a)}, true)
	}
	all := newEventFilter(connectors.EventQuery{})
	pushed := newEventFilter(connectors.EventQuery{Facing: facing, Indicators: ind})
	m := correlation.NewMatcher(facing, ind, correlation.MatchOptions{})

	f.Fuzz(func(t *testing.T, b []byte) {
		u := newEventDecoder(all, "fuzz", true)
		u.row(b, rowCtx{line: 1})
		d := newDeviceDecoder(time.Time{}, time.Time{}, "fuzz")
		d.row(b, rowCtx{line: 1})
		unfiltered := map[string]bool{}
		for i := range u.out {
			unfiltered[evSummary(&u.out[i])+string(u.out[i].Raw)] = true
		}
		for _, anyKeyOrder := range []bool{true, false} {
			p := newEventDecoder(pushed, "fuzz", anyKeyOrder)
			p.row(b, rowCtx{line: 1})
			// Reading every key, the push-down counts each row as the full
			// decode does; stopping early, it may count a row of another
			// table (named after ActionType) as read.
			if anyKeyOrder && (u.rep.Read != p.rep.Read || !maps.Equal(u.rep.OtherTables, p.rep.OtherTables)) {
				t.Errorf("rows counted: unfiltered %d %v, filtered %d %v", u.rep.Read, u.rep.OtherTables, p.rep.Read, p.rep.OtherTables)
			}
			if u.rep.Read+sum(u.rep.OtherTables) != p.rep.Read+sum(p.rep.OtherTables) {
				t.Errorf("anyKeyOrder=%v: rows seen: unfiltered %d, filtered %d", anyKeyOrder, u.rep.Read+sum(u.rep.OtherTables), p.rep.Read+sum(p.rep.OtherTables))
			}
			filtered := map[string]bool{}
			for i := range p.out {
				k := evSummary(&p.out[i]) + string(p.out[i].Raw)
				filtered[k] = true
				if !unfiltered[k] {
					t.Errorf("anyKeyOrder=%v: filtered decode yielded %s, the unfiltered one did not", anyKeyOrder, k)
				}
			}
			for i := range u.out {
				if _, _, ok := m.Match(&u.out[i]); ok && !filtered[evSummary(&u.out[i])+string(u.out[i].Raw)] {
					t.Errorf("anyKeyOrder=%v: push-down lost a match: %s", anyKeyOrder, evSummary(&u.out[i]))
				}
			}
		}
		// Raw is the record as read: a whole JSON object.
		for i := range u.out {
			if raw := u.out[i].Raw; !bytes.Contains(b, raw) || !isCompleteValue(raw) {
				t.Errorf("Raw %q is not an object of the input", raw)
			}
		}
		if json.Valid(b) {
			tb := jsonscan.TrimSpace(b)
			if len(tb) > 0 && tb[0] == '{' {
				it := jsonscan.NewObjIter(tb)
				for it.Next() {
				}
				if err := it.Rest(); err != nil {
					t.Errorf("scanner rejects valid JSON %q: %v", b, err)
				}
			}
		}
	})
}

// FuzzReadFile feeds arbitrary files (any layout: NDJSON, JSON documents,
// CSV, gzip) through both readers. They must never panic or hang, and an
// error may only name the file.
func FuzzReadFile(f *testing.F) {
	for _, s := range []string{
		string(lines(rowA, rowB)), "[" + rowA + "," + rowB + "]", "[\n" + rowA + ",\n", "{\n\"records\": [\n" + rowA + "\n]\n}",
		"Timestamp,DeviceId,ActionType\n2025-11-03T10:00:00Z,x,y\n", "\"a,b\n", "{\n", "[", "]", "}{", "\ufeff[]", "{\"a\":1}\n{",
		string(gzipBytes(f, lines(rowA))), "\x1f\x8b", "  \n\t",
		rowA + "\n" + strings.Repeat("x", 100) + "\n" + rowB, "[" + rowA + "," + strings.Repeat(" ", 80) + rowB + "]",
		"Timestamp,DeviceId,ActionType,RemoteIP,LocalPort,Type\nx,y,z,1.1.1.1,443,DeviceEvents\n\"" + strings.Repeat("q\n", 40),
		`{"records":[{"category":"AdvancedHunting-DeviceInfo","properties":{"DeviceId":"x"}},` + rowA + `]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fsys := fstest.MapFS{"f": {Data: b}}
		for _, maxRow := range []int{0, 64} { // the default, and one small enough to reach the too-large paths
			src := New(Options{FS: fsys, DeviceInfo: []string{"f"}, NetworkEvents: []string{"f"}, Workers: 2, MaxRowBytes: maxRow})
			rep, err := src.NetworkEvents(context.Background(), connectors.EventQuery{}, func(ev *correlation.NetworkEvent) error {
				if !isCompleteValue(ev.Raw) || ev.Raw[0] != '{' {
					t.Errorf("Raw %q is not one JSON object", ev.Raw)
				}
				if !utf8.ValidString(ev.DeviceID) || !utf8.ValidString(ev.DeviceName) || !utf8.ValidString(ev.ActionType) {
					t.Errorf("decoded fields are not valid UTF-8: %+v", ev)
				}
				return nil
			})
			if err != nil && !strings.HasPrefix(err.Error(), "f:") {
				t.Errorf("error does not start with the file name: %v", err)
			}
			if err == nil && rep.Read != rep.Passed+rep.SkippedTotal() {
				t.Errorf("unfiltered read: %d read, %d passed, %d skipped", rep.Read, rep.Passed, rep.SkippedTotal())
			}
			if _, err := src.DeviceInfo(context.Background(), connectors.FacingQuery{}, func(*correlation.DeviceInfo) error { return nil }); err != nil && !strings.HasPrefix(err.Error(), "f:") {
				t.Errorf("error does not start with the file name: %v", err)
			}
		}
	})
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}
