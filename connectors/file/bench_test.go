package file

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/edgewatch/edgewatch/connectors"
	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/internal/gen"
	"github.com/edgewatch/edgewatch/internal/testenv"
)

// benchDataset generates 100k flat events (about 47 MB) with their
// DeviceInfo; the feed is IPsum level 1 (testdata/ipsum).
func benchDataset(b *testing.B) (gen.Result, *correlation.IndicatorSet) {
	b.Helper()
	feed := filepath.Join(testenv.IPsumDir(b), "levels", "1.txt")
	ds, err := gen.Generate(gen.Config{Devices: 2000, Events: 100_000, Seed: 1, FeedPath: feed}, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	return ds, loadFeed(b, ds.FeedPath)
}

// BenchmarkNetworkEvents measures the read the detection does: a
// pushed-down read of 100k events against the facing set and the feed,
// each candidate passed to the Matcher.
func BenchmarkNetworkEvents(b *testing.B) {
	ds, ind := benchDataset(b)
	facing := buildFacing(b, New(Options{DeviceInfo: []string{ds.DeviceInfoPath}}))
	m := correlation.NewMatcher(facing, ind, correlation.MatchOptions{})
	cases := []struct {
		name    string
		workers int
		q       connectors.EventQuery
	}{
		{"filtered/workers=1", 1, connectors.EventQuery{Facing: facing, Indicators: ind}},
		{"filtered/workers=" + strconv.Itoa(runtime.GOMAXPROCS(0)), 0, connectors.EventQuery{Facing: facing, Indicators: ind}},
		{"unfiltered/workers=" + strconv.Itoa(runtime.GOMAXPROCS(0)), 0, connectors.EventQuery{}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			src := New(Options{NetworkEvents: []string{ds.NetworkEventsPath}, Workers: c.workers})
			b.SetBytes(ds.EventBytes)
			var rows int64
			for b.Loop() {
				rep, err := src.NetworkEvents(context.Background(), c.q, func(ev *correlation.NetworkEvent) error {
					m.Match(ev)
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				rows += rep.Read
			}
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// baselineRow is what a plain encoding/json reader would decode a network
// event into.
type baselineRow struct {
	Timestamp                    string          `json:"Timestamp"`
	DeviceID                     string          `json:"DeviceId"`
	DeviceName                   string          `json:"DeviceName"`
	ActionType                   string          `json:"ActionType"`
	RemoteIP                     string          `json:"RemoteIP"`
	RemotePort                   json.RawMessage `json:"RemotePort"`
	LocalIP                      string          `json:"LocalIP"`
	LocalPort                    json.RawMessage `json:"LocalPort"`
	Protocol                     string          `json:"Protocol"`
	InitiatingProcessFileName    string          `json:"InitiatingProcessFileName"`
	InitiatingProcessFolderPath  string          `json:"InitiatingProcessFolderPath"`
	InitiatingProcessCommandLine string          `json:"InitiatingProcessCommandLine"`
	InitiatingProcessID          int64           `json:"InitiatingProcessId"`
	ReportID                     int64           `json:"ReportId"`
}

// BenchmarkEncodingJSON is the baseline: the same file, each line decoded
// with encoding/json into a struct, nothing else.
func BenchmarkEncodingJSON(b *testing.B) {
	ds, _ := benchDataset(b)
	b.SetBytes(ds.EventBytes)
	var rows int64
	for b.Loop() {
		f, err := os.Open(ds.NetworkEventsPath)
		if err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(bufio.NewReaderSize(f, 1<<20))
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			var r baselineRow
			json.Unmarshal(sc.Bytes(), &r)
			rows++
		}
		f.Close()
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "events/s")
}
