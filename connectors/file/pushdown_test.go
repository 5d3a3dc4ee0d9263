package file

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/edgewatch/edgewatch/connectors"
	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/internal/gen"
)

func TestPushDown(t *testing.T) {
	ev := func(action, dev, port, remote string) string {
		s := `{"Timestamp":"2025-11-03T10:00:00Z"`
		if dev != "" {
			s += `,"DeviceId":"` + dev + `"`
		}
		s += `,"ActionType":"` + action + `"`
		if remote != "" {
			s += `,"RemoteIP":"` + remote + `"`
		}
		if port != "" {
			s += `,"LocalPort":` + port
		}
		return s + `}`
	}
	const in, ti = "InboundConnectionAccepted", "77.90.185.20"
	file := lines(
		ev(in, devA, "443", ti),                          // 1 candidate
		ev(in, devA, "8080", ti),                         // 2 port not facing
		ev(in, devB, "443", ti),                          // 3 device not facing
		ev("ConnectionSuccess", devA, "443", ti),         // 4 not inbound
		ev("inboundconnectionaccepted", devA, "443", ti), // 5 candidate (any case, as the Matcher)
		ev(in, devA, `"443"`, "::ffff:"+ti),              // 6 candidate: string port, mapped remote
		ev(in, devA, "443", "5.5.5.5"),                   // 7 not an indicator
		ev(in, devA, "443", "45.0.0.7"),                  // 8 candidate: in a CIDR indicator
		ev(in, devA, `"https"`, ti),                      // 9 bad port
		ev(in, devA, "443", "999.0.0.1"),                 // 10 bad remote
		ev(in, devA, "443", ""),                          // 11 no remote
		ev(in, "", "443", ti),                            // 12 no device
		ev("ConnectionSuccess", devA, "443", "junk"),     // 13 not inbound: not looked at further
		ev(in, devA, "", ti),                             // 14 no port
		`{"Timestamp":"2025-11-03T10:00:00Z","DeviceId":"`+devA+`","ActionType":"`+in+`","LocalPort":443,"RemoteIP":"`+ti+`"`, // 15 truncated
		ev(in, devA, "3389", ti), // 16 candidate
	)
	p := writeTemp(t, "events.ndjson", file)
	facing := facingSet(map[string][]int{devA: {443, 3389}})
	ind := indicatorSet(t, ti, "45.0.0.0/24")
	tests := []struct {
		name      string
		q         connectors.EventQuery
		want      []int
		wantSkips []string
	}{
		{
			name:      "facing and indicators",
			q:         connectors.EventQuery{Facing: facing, Indicators: ind},
			want:      []int{1, 5, 6, 8, 16},
			wantSkips: []string{"bad JSON@15", "bad LocalPort@9", "bad RemoteIP@10", "missing DeviceId@12", "missing LocalPort@14", "missing RemoteIP@11"},
		},
		{
			name:      "facing only",
			q:         connectors.EventQuery{Facing: facing},
			want:      []int{1, 5, 6, 7, 8, 10, 11, 16},
			wantSkips: []string{"bad JSON@15", "bad LocalPort@9", "missing DeviceId@12", "missing LocalPort@14"},
		},
		{
			name:      "indicators only",
			q:         connectors.EventQuery{Indicators: ind},
			want:      []int{1, 2, 3, 5, 6, 8, 9, 14, 16},
			wantSkips: []string{"bad JSON@15", "bad RemoteIP@10", "missing DeviceId@12", "missing RemoteIP@11"},
		},
		{
			name:      "no filter",
			q:         connectors.EventQuery{},
			want:      []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 16},
			wantSkips: []string{"bad JSON@15", "missing DeviceId@12"},
		},
		{
			name:      "empty facing set drops every row",
			q:         connectors.EventQuery{Facing: facingSet(nil), Indicators: ind},
			wantSkips: []string{"bad JSON@15", "missing DeviceId@12"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, workers := range []int{1, 2} {
				evs, rep := readEvents(t, Options{NetworkEvents: []string{p}, Workers: workers}, tc.q)
				var got []int
				for _, e := range evs {
					got = append(got, e.Loc.Line)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("workers=%d candidates (-want +got):\n%s", workers, diff)
				}
				if diff := cmp.Diff(tc.wantSkips, skips(rep)); diff != "" {
					t.Errorf("workers=%d skips (-want +got):\n%s", workers, diff)
				}
				if rep.Read != 16 || rep.Passed != int64(len(tc.want)) {
					t.Errorf("workers=%d Read=%d Passed=%d", workers, rep.Read, rep.Passed)
				}
			}
		})
	}
}

// genDataset writes a small generated dataset into a temp dir.
func genDataset(t testing.TB, cfg gen.Config) gen.Result {
	t.Helper()
	res, err := gen.Generate(cfg, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// loadFeed parses a feed file into an indicator set.
func loadFeed(t testing.TB, path string) *correlation.IndicatorSet {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	set := correlation.NewIndicatorSet("")
	if _, err := correlation.ParseFeed(f, path, correlation.FeedOptions{}, set); err != nil {
		t.Fatal(err)
	}
	return set
}

// buildFacing reads DeviceInfo through the connector into a FacingSet.
func buildFacing(t testing.TB, src *Source) *correlation.FacingSet {
	t.Helper()
	var b correlation.FacingBuilder
	if _, err := src.DeviceInfo(context.Background(), connectors.FacingQuery{}, func(di *correlation.DeviceInfo) error {
		b.Add(di)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return b.Build()
}

// eventKey names an event for set comparisons.
func eventKey(ev *correlation.NetworkEvent) string {
	return fmt.Sprintf("%s:%d report=%s", ev.Loc.Source, ev.Loc.Line, ev.ReportID)
}

var genFormats = []struct {
	name   string
	format string
	gzip   bool
}{
	{"ndjson", gen.FormatNDJSON, false},
	{"ndjson gzip", gen.FormatNDJSON, true},
	{"sentinel", gen.FormatSentinel, false},
	{"streaming", gen.FormatStreaming, false},
	{"eventhub", gen.FormatEventHub, false},
	{"csv", gen.FormatCSV, false},
	{"csv gzip", gen.FormatCSV, true},
}

// TestPushDownEqualsMatcher: on generated data in every format, a filtered
// read passes exactly the events that an unfiltered read followed by the
// Matcher accepts: never fewer (the push-down would lose alerts), and no
// more (it would be doing less than it can).
func TestPushDownEqualsMatcher(t *testing.T) {
	for _, f := range genFormats {
		t.Run(f.name, func(t *testing.T) {
			ds := genDataset(t, gen.Config{Devices: 300, Events: 8000, Seed: 7, Format: f.format, Gzip: f.gzip, BadRows: 25,
				InboundShare: 0.3, FeedHitShare: 0.2})
			ind := loadFeed(t, ds.FeedPath)
			src := New(Options{DeviceInfo: []string{ds.DeviceInfoPath}, NetworkEvents: []string{ds.NetworkEventsPath}})
			facing := buildFacing(t, src)
			if facing.Len() == 0 {
				t.Fatal("no facing pairs: the dataset is not testing anything")
			}
			m := correlation.NewMatcher(facing, ind, correlation.MatchOptions{})

			all, allRep := readEvents(t, Options{NetworkEvents: []string{ds.NetworkEventsPath}}, connectors.EventQuery{})
			var want []string
			for i := range all {
				if _, _, ok := m.Match(&all[i]); ok {
					want = append(want, eventKey(&all[i]))
				}
			}
			if len(want) < 20 {
				t.Fatalf("only %d matches in the unfiltered read: the dataset is not testing anything", len(want))
			}
			for _, workers := range []int{1, 2, 5} {
				cands, rep := readEvents(t, Options{NetworkEvents: []string{ds.NetworkEventsPath}, Workers: workers},
					connectors.EventQuery{Facing: facing, Indicators: ind})
				var got []string
				for i := range cands {
					got = append(got, eventKey(&cands[i]))
					if _, why, ok := m.Match(&cands[i]); !ok {
						t.Errorf("candidate %s does not match: %s", eventKey(&cands[i]), why)
					}
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("workers=%d filtered read vs unfiltered+Matcher (-want +got):\n%s", workers, diff)
				}
				if rep.Read != allRep.Read {
					t.Errorf("workers=%d Read=%d, unfiltered Read=%d", workers, rep.Read, allRep.Read)
				}
				if rep.SkippedTotal() < 15 {
					t.Errorf("workers=%d skipped %d rows, want the planted bad rows counted: %v", workers, rep.SkippedTotal(), skips(rep))
				}
			}
		})
	}
}

func TestCancelAndCallbackError(t *testing.T) {
	ds := genDataset(t, gen.Config{Devices: 50, Events: 30000, Seed: 3})
	for _, workers := range []int{1, 2} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			src := New(Options{NetworkEvents: []string{ds.NetworkEventsPath}, Workers: workers})
			stop := errors.New("stop")
			n := 0
			_, err := src.NetworkEvents(context.Background(), connectors.EventQuery{}, func(*correlation.NetworkEvent) error {
				n++
				if n == 100 {
					return stop
				}
				return nil
			})
			if !errors.Is(err, stop) || n != 100 {
				t.Errorf("err = %v after %d events, want the callback's error after 100", err, n)
			}

			ctx, cancel := context.WithCancel(context.Background())
			n = 0
			rep, err := src.NetworkEvents(ctx, connectors.EventQuery{}, func(*correlation.NetworkEvent) error {
				n++
				if n == 10 {
					cancel()
				}
				return nil
			})
			if !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want context.Canceled", err)
			}
			if rep.Read >= 30000 {
				t.Errorf("read all %d rows despite the cancel", rep.Read)
			}
		})
	}
}

// TestWorkersAgree: the parallel decoder delivers the same events, in the
// same order, with the same report, as the sequential one.
func TestWorkersAgree(t *testing.T) {
	ds := genDataset(t, gen.Config{Devices: 200, Events: 20000, Seed: 11, BadRows: 40})
	one, rep1 := readEvents(t, Options{NetworkEvents: []string{ds.NetworkEventsPath}, Workers: 1}, connectors.EventQuery{})
	for _, w := range []int{2, 7} {
		many, repN := readEvents(t, Options{NetworkEvents: []string{ds.NetworkEventsPath}, Workers: w}, connectors.EventQuery{})
		if !slices.EqualFunc(one, many, func(a, b correlation.NetworkEvent) bool {
			return evSummary(&a) == evSummary(&b) && string(a.Raw) == string(b.Raw)
		}) {
			t.Errorf("workers=%d: events differ from the sequential read", w)
		}
		if diff := cmp.Diff(rep1, repN); diff != "" {
			t.Errorf("workers=%d report (-1 +N):\n%s", w, diff)
		}
	}
	// 40 bad rows, 8 of each kind: truncated, bad RemoteIP, bad LocalPort,
	// no DeviceId, not JSON. Unfiltered, the bad IP and port pass as
	// invalid values; the other three kinds are skipped.
	if rep1.Read != int64(ds.Events) || rep1.SkippedTotal() != 24 || rep1.Passed != rep1.Read-24 {
		t.Errorf("rows written %d; report %+v", ds.Events, rep1)
	}
}

// TestRawOutlivesCallback: chunk buffers are reused, but the Raw handed to
// fn must still hold its row after the read (alerts keep it).
func TestRawOutlivesCallback(t *testing.T) {
	ds := genDataset(t, gen.Config{Devices: 100, Events: 12000, Seed: 5})
	b, err := os.ReadFile(ds.NetworkEventsPath)
	if err != nil {
		t.Fatal(err)
	}
	fileLines := bytes.Split(b, []byte("\n"))
	for _, workers := range []int{1, 2} {
		type kept struct {
			line int
			raw  []byte
		}
		var all []kept
		if _, err := New(Options{NetworkEvents: []string{ds.NetworkEventsPath}, Workers: workers}).NetworkEvents(context.Background(), connectors.EventQuery{}, func(ev *correlation.NetworkEvent) error {
			all = append(all, kept{ev.Loc.Line, ev.Raw}) // no copy on purpose
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(all) < 12000 {
			t.Fatalf("read %d events", len(all))
		}
		for _, k := range all {
			if !bytes.Equal(k.raw, fileLines[k.line-1]) {
				t.Fatalf("workers=%d line %d: Raw changed after the callback:\n%s", workers, k.line, k.raw)
			}
		}
	}
}

// TestScanStopsAtNonFacingDevice: the scan stops at ActionType for an
// inbound row whose device has no facing pair, before LocalPort and
// RemoteIP. Whatever those hold (missing, bad, matching or not), the row
// must count exactly as it does when they come first and are read: the
// same report, the same events.
func TestScanStopsAtNonFacingDevice(t *testing.T) {
	const in = "InboundConnectionAccepted"
	type fields struct{ ts, dev, action, port, remote string }
	row := func(f fields, portFirst bool) []byte {
		kv := func(k, v string) string {
			if v == "" {
				return ""
			}
			return `"` + k + `":` + v + `,`
		}
		head := kv("Timestamp", f.ts) + kv("DeviceId", f.dev) + kv("ActionType", f.action)
		tail := kv("LocalPort", f.port) + kv("RemoteIP", f.remote)
		s := head + tail
		if portFirst {
			s = tail + head
		}
		return []byte("{" + strings.TrimSuffix(s, ",") + "}")
	}
	q := func(s string) string { return `"` + s + `"` }
	facing := facingSet(map[string][]int{devA: {443}})
	ind := indicatorSet(t, "77.90.185.20")
	from := time.Date(2025, 11, 3, 0, 0, 0, 0, time.UTC)
	filters := map[string]*eventFilter{
		"facing and indicators, window": newEventFilter(connectors.EventQuery{From: from, To: from.Add(24 * time.Hour), Facing: facing, Indicators: ind}),
		"facing only":                   newEventFilter(connectors.EventQuery{Facing: facing}),
		"no facing pair at all":         newEventFilter(connectors.EventQuery{Facing: facingSet(map[string][]int{}), Indicators: ind}),
	}
	var rows []fields
	for _, dev := range []string{q(devA), q(devB), `42`, `null`, q(`ffee\u0064dcc`)} {
		for _, ts := range []string{q("2025-11-03T10:00:00Z"), q("2025-11-05T10:00:00Z"), q("yesterday"), ""} {
			for _, port := range []string{"443", "8080", q("https"), ""} {
				for _, remote := range []string{q("77.90.185.20"), q("5.5.5.5"), q("999.0.0.1"), ""} {
					rows = append(rows, fields{ts, dev, q(in), port, remote})
				}
			}
		}
	}
	for name, f := range filters {
		t.Run(name, func(t *testing.T) {
			for _, r := range rows {
				read, early := newEventDecoder(f, "t", false), newEventDecoder(f, "t", false)
				read.row(row(r, true), rowCtx{line: 1})
				early.row(row(r, false), rowCtx{line: 1})
				if diff := cmp.Diff(read.rep, early.rep); diff != "" {
					t.Errorf("%s: report differs when LocalPort and RemoteIP come last (-first +last):\n%s", row(r, false), diff)
				}
				if len(read.out) != len(early.out) {
					t.Errorf("%s: %d events when LocalPort and RemoteIP come first, %d when last", row(r, false), len(read.out), len(early.out))
				}
			}
		})
	}
}
