package engine

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

var update = flag.Bool("update", false, "rewrite golden files")

type collect struct {
	alerts   []*correlation.Alert
	docs     [][]byte // the documents, one per alert
	batches  []Batch
	progress []wire.Progress
}

func (c *collect) Progress(p wire.Progress) { c.progress = append(c.progress, p) }
func (c *collect) Alerts(_ context.Context, b Batch) error {
	c.batches = append(c.batches, b)
	c.alerts = append(c.alerts, b.Alerts...)
	for line := range bytes.Lines(b.NDJSON) {
		c.docs = append(c.docs, bytes.TrimSuffix(line, []byte("\n")))
	}
	if len(c.docs) != len(c.alerts) || len(b.NDJSON) == 0 || b.NDJSON[len(b.NDJSON)-1] != '\n' {
		return fmt.Errorf("batch of %d alerts with %d bytes of NDJSON: %d documents for %d alerts so far",
			len(b.Alerts), len(b.NDJSON), len(c.docs), len(c.alerts))
	}
	return nil
}

var fixedNow = func() time.Time { return time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC) }

func sampleSettings() wire.Settings {
	return wire.Settings{
		DeviceInfo:    []string{"../../../../testdata/sample/device_info.ndjson"},
		NetworkEvents: []string{"../../../../testdata/sample/network_events.ndjson"},
		Feeds:         []string{"../../../../testdata/sample/feed.txt"},
	}
}

// TestSampleGolden runs the bundled sample end to end and compares the alert
// documents with testdata/sample/alerts.golden.ndjson (-update rewrites it).
func TestSampleGolden(t *testing.T) {
	s := sampleSettings()
	be, err := Open(context.Background(), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	var obs collect
	sum, err := RunWith(context.Background(), s, be, &obs, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	runID := []byte(`,"run_id":"` + sum.RunID + `"`) // random per run
	for _, doc := range obs.docs {
		b.Write(bytes.Replace(doc, runID, nil, 1)) // the document every sink writes
		b.WriteByte('\n')
	}
	golden := filepath.Join("..", "..", "..", "..", "testdata", "sample", "alerts.golden.ndjson")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/edgewatch-defender-ti/internal/engine -run TestSampleGolden -update)", err)
	}
	if b.String() != string(want) {
		got, wantLines := strings.Split(b.String(), "\n"), strings.Split(string(want), "\n")
		for i := range max(len(got), len(wantLines)) {
			var g, w string
			if i < len(got) {
				g = got[i]
			}
			if i < len(wantLines) {
				w = wantLines[i]
			}
			if g != w {
				t.Errorf("alerts differ from %s at line %d (rerun with -update and review the diff)\ngot:  %.300s\nwant: %.300s", golden, i+1, g, w)
				break
			}
		}
	}
	if sum.Alerts.Matched == 0 || sum.Outcome != "success" {
		t.Errorf("summary = %+v", sum.Alerts)
	}
	if sum.Events.SkippedTotal() == 0 {
		t.Errorf("the sample plants a malformed row; summary counted none skipped")
	}
}

func TestRunErrors(t *testing.T) {
	cases := []struct {
		name    string
		mutate  func(*wire.Settings)
		wantErr string
		config  bool
	}{
		{"no feed", func(s *wire.Settings) { s.Feeds = nil }, "no indicator feed", true},
		{"missing feed file", func(s *wire.Settings) { s.Feeds = []string{"nope.txt"} }, "nope.txt", true},
		{"missing events file", func(s *wire.Settings) { s.NetworkEvents = []string{"missing.ndjson"} }, "missing.ndjson", false},
		{"no device info", func(s *wire.Settings) { s.DeviceInfo = nil }, "--device-info", true},
		{"bad allow", func(s *wire.Settings) { s.Allow = []string{"not-a-cidr"} }, "not-a-cidr", true},
		{"bad port", func(s *wire.Settings) { s.ExcludePorts = []int{70000} }, "70000", true},
		{"unknown source", func(s *wire.Settings) { s.Source = "kafka" }, "kafka", true},
		{"window backwards", func(s *wire.Settings) {
			s.From = time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)
			s.To = s.From.Add(-time.Hour)
		}, "not before", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := sampleSettings()
			tc.mutate(&s)
			_, err := Run(context.Background(), s, nil, nil)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.wantErr)
			}
			if got := errors.Is(err, ErrConfig); got != tc.config {
				t.Errorf("errors.Is(err, ErrConfig) = %v, want %v (%v)", got, tc.config, err)
			}
		})
	}
}

func TestExclusionsAndWindow(t *testing.T) {
	run := func(t *testing.T, s wire.Settings) []*correlation.Alert {
		t.Helper()
		var got collect
		if _, err := Run(context.Background(), s, nil, &got); err != nil {
			t.Fatal(err)
		}
		return got.alerts
	}
	base := sampleSettings()
	all := run(t, base)
	if len(all) < 2 {
		t.Fatalf("sample yields %d alerts; need at least 2", len(all))
	}
	first := all[0]

	t.Run("exclude port drops that port only", func(t *testing.T) {
		s := base
		s.ExcludePorts = []int{first.Dest.Port}
		got := run(t, s)
		for _, a := range got {
			if a.Dest.Port == first.Dest.Port {
				t.Errorf("alert on excluded port %d", a.Dest.Port)
			}
		}
		if len(got) >= len(all) {
			t.Errorf("exclusion removed nothing: %d >= %d", len(got), len(all))
		}
	})
	t.Run("allow drops that remote only", func(t *testing.T) {
		s := base
		s.Allow = []string{first.Source.IP}
		for _, a := range run(t, s) {
			if a.Source.IP == first.Source.IP {
				t.Errorf("alert from allowed remote %s", a.Source.IP)
			}
		}
	})
	t.Run("window keeps events inside it", func(t *testing.T) {
		s := base
		s.From = first.Timestamp
		s.To = first.Timestamp.Add(time.Nanosecond)
		got := run(t, s)
		if len(got) == 0 {
			t.Fatalf("window [%s, +1ns) lost the alert at its start", first.Timestamp)
		}
		for _, a := range got {
			if a.Timestamp.Before(s.From) || !a.Timestamp.Before(s.To) {
				t.Errorf("alert at %s outside [%s, %s)", a.Timestamp, s.From, s.To)
			}
		}
	})
	t.Run("same input same ids", func(t *testing.T) {
		again := run(t, base)
		if len(again) != len(all) {
			t.Fatalf("%d alerts then %d", len(all), len(again))
		}
		for i := range again {
			if again[i].Event.ID != all[i].Event.ID {
				t.Errorf("alert %d id changed between runs", i)
			}
		}
	})
}

// TestRunRecordOf: the state index's run record carries the settings'
// detection, trigger and retro-hunt mark, every skipped row and the lag
// behind the window's end at the run's own finish time.
func TestRunRecordOf(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	sum := &wire.Summary{RunID: "r1", Started: t0, Finished: t0.Add(2 * time.Second), DurationMS: 2000, Outcome: wire.StatusSuccess,
		Window: wire.RunWindow{From: t0.Add(-time.Hour), To: t0.Add(-time.Minute)}}
	sum.Events.Read, sum.Events.Skipped = 100, map[string]int64{"bad JSON": 2, "bad RemoteIP": 1}
	sum.DeviceInfo.Skipped = map[string]int64{"bad JSON": 4}
	sum.Alerts.Matched, sum.Alerts.Created, sum.Alerts.AlreadyPresent = 3, 2, 1
	tests := map[string]struct {
		settings           wire.Settings
		detection, trigger string
		retro              bool
	}{
		"cli run":    {settings: wire.Settings{Trigger: "cli"}, detection: "default", trigger: "cli"},
		"schedule":   {settings: wire.Settings{Detection: "prod", Trigger: "schedule"}, detection: "prod", trigger: "schedule"},
		"retro-hunt": {settings: wire.Settings{Detection: "prod", Trigger: "retro-hunt", RetroHunt: true}, detection: "prod", trigger: "retro-hunt", retro: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rec := RunRecordOf(tc.settings, sum)
			if rec.Detection != tc.detection || rec.Trigger != tc.trigger || rec.RetroHunt != tc.retro || rec.RunID != "r1" {
				t.Errorf("identity %+v", rec)
			}
			if rec.Counts.Skipped != 7 || rec.Counts.EventsScanned != 100 || rec.Counts.AlertsCreated != 2 || rec.Counts.AlertsAlreadyPresent != 1 {
				t.Errorf("counts %+v", rec.Counts)
			}
			if rec.LagMS != (time.Minute + 2*time.Second).Milliseconds() {
				t.Errorf("lag %d ms", rec.LagMS)
			}
		})
	}
}

// TestFeedNamedAfterFile: a feed file that is not IPsum is labelled as
// itself in the alerts; feed_name overrides (issue 18).
func TestFeedNamedAfterFile(t *testing.T) {
	list := filepath.Join(t.TempDir(), "corp-blocklist.txt")
	if err := os.WriteFile(list, []byte("# corp blocklist\n77.90.185.20\n2.57.122.0/24\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ feedName, want string }{{"", "corp-blocklist"}, {"corp", "corp"}} {
		s := sampleSettings()
		s.Feeds, s.FeedName = []string{list}, tc.feedName
		var obs collect
		sum, err := Run(context.Background(), s, nil, &obs)
		if err != nil {
			t.Fatal(err)
		}
		if len(obs.alerts) == 0 || len(sum.Indicators.Feeds) != 1 || sum.Indicators.Feeds[0].Name != tc.want {
			t.Fatalf("feed_name %q: %d alerts, feeds %+v", tc.feedName, len(obs.alerts), sum.Indicators.Feeds)
		}
		for _, a := range obs.alerts {
			if a.Threat.Feed.Name != tc.want || a.Threat.Indicator.Provider != tc.want ||
				!strings.Contains(a.Event.Reason, "listed by "+tc.want+".") || a.Edgewatch.Indicator.Count != 0 {
				t.Errorf("feed_name %q: alert feed %q provider %q reason %q", tc.feedName, a.Threat.Feed.Name, a.Threat.Indicator.Provider, a.Event.Reason)
			}
		}
	}
}
