package file

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/edgewatch/edgewatch/connectors"
	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/internal/gen"
	"github.com/edgewatch/edgewatch/internal/testenv"
)

// The reference below is the seed query written the plain way, sharing no
// code with this package or with correlation: encoding/json and
// encoding/csv into maps, a map for the arg_max, a map for the feed. The
// detection through the connector (push-down included) and correlation must
// find exactly what it finds.

type refRow struct {
	line int
	m    map[string]any
}

// refRows reads every row of a generated file. It knows the format from
// the name (the test wrote it); unreadable rows are dropped.
func refRows(t *testing.T, path string) []refRow {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	var rows []refRow
	if strings.Contains(path, ".csv") {
		cr := csv.NewReader(r)
		cr.FieldsPerRecord = -1
		header, err := cr.Read()
		if err != nil {
			t.Fatal(err)
		}
		for line := 2; ; line++ {
			rec, err := cr.Read()
			if err == io.EOF {
				break
			}
			if err != nil || len(rec) != len(header) {
				continue
			}
			m := map[string]any{}
			for i, v := range rec {
				if v != "" {
					m[header[i]] = v
				}
			}
			rows = append(rows, refRow{line, m})
		}
		return rows
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 16<<20)
	for line := 1; sc.Scan(); line++ {
		var v map[string]any
		d := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		d.UseNumber()
		if d.Decode(&v) != nil {
			continue
		}
		if recs, ok := v["records"].([]any); ok {
			for _, rec := range recs {
				if m, ok := rec.(map[string]any); ok {
					rows = append(rows, refRow{line, unwrapRecord(m)})
				}
			}
			continue
		}
		rows = append(rows, refRow{line, unwrapRecord(v)})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// unwrapRecord returns a Streaming API record's properties (with the
// envelope time when the row has none), or the row itself.
func unwrapRecord(m map[string]any) map[string]any {
	p, ok := m["properties"].(map[string]any)
	if !ok {
		return m
	}
	if _, ok := p["Timestamp"]; !ok {
		p["Timestamp"] = m["time"]
	}
	return p
}

func refString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	}
	return ""
}

func refInt(v any) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(refString(v)))
	return n, err == nil
}

func refTime(m map[string]any) (time.Time, bool) {
	s := refString(m["Timestamp"])
	if s == "" {
		s = refString(m["TimeGenerated"])
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

// refDetect returns "path:line report=ID" for every event the seed query
// would report.
func refDetect(t *testing.T, diPath, evPath, feedPath string) []string {
	type pair struct {
		dev  string
		port int
	}
	type latest struct {
		t      time.Time
		facing bool
	}
	// summarize arg_max(Timestamp, *) by DeviceId, InternetFacingLocalPort | where IsInternetFacing
	facing := map[pair]latest{}
	for _, r := range refRows(t, diPath) {
		dev := refString(r.m["DeviceId"])
		ts, ok := refTime(r.m)
		if dev == "" || !ok {
			continue
		}
		var af map[string]any
		switch x := r.m["AdditionalFields"].(type) {
		case map[string]any:
			af = x
		case string:
			d := json.NewDecoder(strings.NewReader(x))
			d.UseNumber()
			if d.Decode(&af) != nil {
				continue
			}
		default:
			continue
		}
		port, ok := refInt(af["InternetFacingLocalPort"])
		if !ok {
			continue
		}
		isFacing := r.m["IsInternetFacing"] == true || r.m["IsInternetFacing"] == "true"
		k := pair{dev, port}
		if cur, ok := facing[k]; !ok || !ts.Before(cur.t) {
			facing[k] = latest{ts, isFacing}
		}
	}
	// The feed: every address, '#' comments, first column.
	feed := map[netip.Addr]bool{}
	b, err := os.ReadFile(feedPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if a, err := netip.ParseAddr(f[0]); err == nil && a.Unmap().IsGlobalUnicast() && !a.Unmap().IsPrivate() {
			feed[a.Unmap()] = true
		}
	}
	// DeviceNetworkEvents | where ActionType == 'InboundConnectionAccepted'
	// | join facing on DeviceId | where LocalPort == InternetFacingLocalPort
	// | where RemoteIP in (MaliciousIP)
	var out []string
	for _, r := range refRows(t, evPath) {
		if refString(r.m["ActionType"]) != "InboundConnectionAccepted" {
			continue
		}
		port, ok := refInt(r.m["LocalPort"])
		if !ok || !facing[pair{refString(r.m["DeviceId"]), port}].facing {
			continue
		}
		a, err := netip.ParseAddr(refString(r.m["RemoteIP"]))
		if err != nil || !feed[a.Unmap()] {
			continue
		}
		out = append(out, fmt.Sprintf("%s:%d report=%s", evPath, r.line, refString(r.m["ReportId"])))
	}
	return out
}

// TestDetectionEqualsReference runs the file-mode detection (connector
// with push-down, FacingBuilder, Matcher) over generated data in every
// format, and compares it with the reference.
func TestDetectionEqualsReference(t *testing.T) {
	realFeed := filepath.Join(testenv.IPsumDir(t), "levels", "1.txt")
	type variant struct {
		name   string
		format string
		gzip   bool
		feed   string
	}
	var variants []variant
	for _, f := range genFormats {
		variants = append(variants, variant{f.name, f.format, f.gzip, ""})
	}
	variants = append(variants, variant{"ndjson with the real IPsum level 1 feed", gen.FormatNDJSON, false, realFeed})
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			ds := genDataset(t, gen.Config{Devices: 400, Events: 8000, Seed: 99, Format: v.format, Gzip: v.gzip,
				FeedPath: v.feed, BadRows: 20, InboundShare: 0.3, FeedHitShare: 0.1})
			want := refDetect(t, ds.DeviceInfoPath, ds.NetworkEventsPath, ds.FeedPath)
			if len(want) < 20 {
				t.Fatalf("reference found %d detections: the dataset is not testing anything", len(want))
			}

			ind := loadFeed(t, ds.FeedPath)
			src := New(Options{DeviceInfo: []string{ds.DeviceInfoPath}, NetworkEvents: []string{ds.NetworkEventsPath}})
			facing := buildFacing(t, src)
			m := correlation.NewMatcher(facing, ind, correlation.MatchOptions{})
			var got []string
			if _, err := src.NetworkEvents(context.Background(), connectors.EventQuery{Facing: facing, Indicators: ind}, func(ev *correlation.NetworkEvent) error {
				if _, _, ok := m.Match(ev); ok {
					got = append(got, eventKey(ev))
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			slices.Sort(want)
			slices.Sort(got)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("detections (-reference +edgewatch):\n%s", diff)
			}
		})
	}
}
