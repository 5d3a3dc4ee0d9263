package gen

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/csv"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readAll(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if b, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func sum(t *testing.T, paths ...string) [32]byte {
	h := sha256.New()
	for _, p := range paths {
		h.Write(readAll(t, p))
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

func TestDeterministic(t *testing.T) {
	cfg := Config{Devices: 100, Events: 5000, Seed: 42, BadRows: 5}
	a, err := Generate(cfg, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate(cfg, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if sum(t, a.DeviceInfoPath, a.NetworkEventsPath, a.FeedPath) != sum(t, b.DeviceInfoPath, b.NetworkEventsPath, b.FeedPath) {
		t.Error("same config, different bytes")
	}
	cfg.Seed = 43
	c, err := Generate(cfg, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if sum(t, a.NetworkEventsPath) == sum(t, c.NetworkEventsPath) {
		t.Error("different seeds, same events")
	}
	// More events leave the fleet (and so DeviceInfo) unchanged.
	cfg.Seed, cfg.Events = 42, 6000
	d, err := Generate(cfg, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if sum(t, a.DeviceInfoPath) != sum(t, d.DeviceInfoPath) {
		t.Error("the event count changed DeviceInfo")
	}
}

// TestDatasetCoversTheRules checks the generated data holds every case the
// detection must get right.
func TestDatasetCoversTheRules(t *testing.T) {
	res, err := Generate(Config{Devices: 300, Events: 20000, Seed: 5, BadRows: 10}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	info := string(readAll(t, res.DeviceInfoPath))
	events := string(readAll(t, res.NetworkEventsPath))
	for _, c := range []struct{ name, text, in string }{
		{"facing report", `\"InternetFacingLocalPort\":`, info},
		{"string facing port", `\"InternetFacingLocalPort\":\"`, info},
		{"Defender's scanned-key spelling", `InternetFacingPublicScannedIp`, info},
		{"the seed's scanned-key spelling", `InternetFacingScannedPublicIp`, info},
		{"port that stopped facing", `"IsInternetFacing":false`, info},
		{"inbound accepts", `"ActionType":"InboundConnectionAccepted"`, events},
		{"outbound traffic", `"ActionType":"ConnectionSuccess"`, events},
		{"IPv4-mapped remote", `"RemoteIP":"::ffff:`, events},
		{"string local port", `"LocalPort":"`, events},
		{"bad remote", `"RemoteIP":"999.12.1.300"`, events},
		{"not JSON", "502 Bad Gateway", events},
	} {
		if !strings.Contains(c.in, c.text) {
			t.Errorf("%s: %q not found", c.name, c.text)
		}
	}
	var heartbeats, rows int
	for _, line := range strings.Split(strings.TrimSpace(info), "\n") {
		rows++
		if !strings.Contains(line, "AdditionalFields") {
			heartbeats++
		}
	}
	if rows < 1500 || heartbeats < rows/10 {
		t.Errorf("%d DeviceInfo rows, %d heartbeats", rows, heartbeats)
	}
	if rows != res.DeviceInfoRows {
		t.Errorf("Result says %d DeviceInfo rows, file has %d", res.DeviceInfoRows, rows)
	}

	// Every line is one JSON object except the planted bad rows; rows
	// average about 450 bytes.
	var bad, n int
	seen := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(events))
	for sc.Scan() {
		n++
		seen[sc.Text()]++
		var v map[string]any
		if json.Unmarshal(sc.Bytes(), &v) != nil {
			bad++
		}
	}
	if bad != 4 { // 10 bad rows: 2 truncated + 2 not JSON are not JSON; bad IP/port/no DeviceId are
		t.Errorf("%d lines are not JSON, want 4", bad)
	}
	if n != res.Events {
		t.Errorf("Result says %d events, file has %d lines", res.Events, n)
	}
	dups := 0
	for _, c := range seen {
		if c > 1 {
			dups++
		}
	}
	if dups == 0 {
		t.Error("no duplicate rows")
	}
	if avg := len(events) / n; avg < 400 || avg > 520 {
		t.Errorf("rows average %d bytes, want about 450", avg)
	}
}

func TestFormats(t *testing.T) {
	for _, f := range Formats {
		t.Run(f, func(t *testing.T) {
			res, err := Generate(Config{Devices: 50, Events: 500, Seed: 1, Format: f, Gzip: f == FormatCSV}, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{res.DeviceInfoPath, res.NetworkEventsPath} {
				b := readAll(t, p)
				if f == FormatCSV {
					recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
					if err != nil {
						t.Fatalf("%s: %v", p, err)
					}
					if len(recs) < 2 || recs[0][0] != "Timestamp" {
						t.Errorf("%s: header %v", p, recs[0])
					}
					continue
				}
				for i, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
					var v map[string]any
					if err := json.Unmarshal(line, &v); err != nil {
						t.Fatalf("%s:%d: %v", p, i+1, err)
					}
					switch f {
					case FormatStreaming:
						if v["properties"] == nil || v["category"] == nil {
							t.Fatalf("%s:%d: not a Streaming API record", p, i+1)
						}
					case FormatEventHub:
						if _, ok := v["records"].([]any); !ok {
							t.Fatalf("%s:%d: not an Event Hub batch", p, i+1)
						}
					case FormatSentinel:
						if v["TimeGenerated"] == nil || v["Timestamp"] != nil {
							t.Fatalf("%s:%d: not a Sentinel row", p, i+1)
						}
						if af, ok := v["AdditionalFields"]; ok {
							if _, obj := af.(map[string]any); !obj {
								t.Fatalf("%s:%d: AdditionalFields is not an object", p, i+1)
							}
						}
					}
				}
			}
			if filepath.Ext(res.NetworkEventsPath) == ".gz" && !bytes.HasPrefix(mustRead(t, res.NetworkEventsPath), []byte{0x1f, 0x8b}) {
				t.Error("--gzip output is not gzip")
			}
		})
	}
}

func mustRead(t *testing.T, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []Config{{Format: "xml"}, {Columns: "some"}, {Events: -1}, {FeedPath: "/nonexistent/feed.txt"}} {
		if _, err := Generate(cfg, t.TempDir()); err == nil {
			t.Errorf("Generate(%+v) succeeded", cfg)
		}
	}
}

func TestApplyShape(t *testing.T) {
	tests := []struct {
		name     string
		shape    string
		explicit map[string]bool
		in, want Config
		wantErr  bool
	}{
		{name: "default leaves the config alone", shape: ShapeDefault, in: Config{Devices: 7}, want: Config{Devices: 7}},
		{name: "alert-heavy", shape: ShapeAlertHeavy, in: Config{Devices: 2000, Events: 100000},
			want: Config{Devices: 300, Events: 1_000_000, FacingShare: 0.25, FeedHitShare: 0.15, InboundShare: alertHeavyInbound}},
		{name: "explicit flags win", shape: ShapeAlertHeavy, explicit: map[string]bool{"events": true, "feed-hit-share": true},
			in:   Config{Devices: 2000, Events: 5000, FeedHitShare: 0.5},
			want: Config{Devices: 300, Events: 5000, FacingShare: 0.25, FeedHitShare: 0.5, InboundShare: alertHeavyInbound}},
		{name: "unknown shape", shape: "huge", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.in
			err := c.ApplyShape(tt.shape, tt.explicit)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !tt.wantErr && c != tt.want {
				t.Errorf("config %+v, want %+v", c, tt.want)
			}
		})
	}
}

// TestAlertHeavyShape: the alert-heavy shape plants many more matching
// inbound events than the default, in the proportions issue 14 describes
// (about 15% of remotes from the feed, a quarter of devices facing).
func TestAlertHeavyShape(t *testing.T) {
	var c Config
	if err := c.ApplyShape(ShapeAlertHeavy, nil); err != nil {
		t.Fatal(err)
	}
	c.Events, c.Seed = 20000, 3
	res, err := Generate(c, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWorld(c)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(w.facing); n < 50 || n > 100 {
		t.Errorf("%d of 300 devices facing, want about a quarter", n)
	}
	feed := map[string]bool{}
	for _, a := range w.feed {
		feed[a.String()] = true
	}
	var rows, fromFeed, inbound int
	sc := bufio.NewScanner(bytes.NewReader(readAll(t, res.NetworkEventsPath)))
	for sc.Scan() {
		var r struct{ RemoteIP, ActionType string }
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		rows++
		if feed[strings.TrimPrefix(r.RemoteIP, "::ffff:")] {
			fromFeed++
		}
		if r.ActionType == "InboundConnectionAccepted" {
			inbound++
		}
	}
	if share := float64(fromFeed) / float64(rows); share < 0.13 || share > 0.17 {
		t.Errorf("%.3f of remotes from the feed, want about 0.15", share)
	}
	if share := float64(inbound) / float64(rows); share < 0.40 || share > 0.46 {
		t.Errorf("%.3f of events inbound, want about %.2f", share, alertHeavyInbound)
	}
}
