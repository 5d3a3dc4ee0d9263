package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGenMain(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if err := genMain([]string{"--devices", "20", "--events", "300", "--seed", "3", "--format", "streaming", "--gzip", "--out", dir}, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	var res struct {
		NetworkEvents string `json:"network_events"`
		Feed          string `json:"feed"`
		Events        int    `json:"events"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("stdout is not the JSON result: %v\n%s", err, out.String())
	}
	if res.NetworkEvents != filepath.Join(dir, "network_events.ndjson.gz") || res.Feed != filepath.Join(dir, "feed.txt") || res.Events < 300 {
		t.Errorf("result %+v", res)
	}
	for _, f := range []string{"device_info.ndjson.gz", "network_events.ndjson.gz", "feed.txt"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}

// TestGenMainShape: --shape alert-heavy sets the fleet and shares, and an
// explicit flag still wins.
func TestGenMainShape(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if err := genMain([]string{"--shape", "alert-heavy", "--events", "2000", "--out", dir}, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	var res struct {
		Events         int `json:"events"`
		DeviceInfoRows int `json:"device_info_rows"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	// 300 devices, 5 DeviceInfo rows each; 2000 events (plus duplicates).
	if res.DeviceInfoRows != 1500 || res.Events < 2000 || res.Events > 2010 {
		t.Errorf("result %+v, want 1500 DeviceInfo rows and ~2000 events", res)
	}
}

func TestGenMainErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no out", []string{"--events", "10"}, "--out DIR is required"},
		{"unknown format", []string{"--format", "xml", "--out", t.TempDir()}, `unknown format "xml"`},
		{"unknown flag", []string{"--nope"}, "flag provided but not defined"},
		{"missing feed", []string{"--feed", "/nonexistent/feed.txt", "--out", t.TempDir()}, "/nonexistent/feed.txt"},
		{"stray argument", []string{"--out", t.TempDir(), "extra"}, `unexpected argument "extra"`},
		{"unknown shape", []string{"--shape", "huge", "--out", t.TempDir()}, `unknown shape "huge"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := genMain(tc.args, &out, &errb)
			if err == nil || !strings.Contains(err.Error()+errb.String(), tc.want) {
				t.Errorf("err = %v (stderr %q), want %q", err, errb.String(), tc.want)
			}
		})
	}
}

func TestBench(t *testing.T) {
	generateInChild = false
	defer func() { generateInChild = true }()
	dir := t.TempDir()
	var out, errb bytes.Buffer
	args := []string{"--events", "5000", "--devices", "100", "--dir", dir, "--json"}
	if err := benchMain(args, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	var res benchResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if res.Events < 5000 || res.Alerts == 0 || int64(res.Alerts) != res.Candidates || res.PeakRSSMB <= 0 || res.BaselineEPS <= 0 || res.EventsPerSec <= 0 {
		t.Errorf("result %+v", res)
	}
	// The second run reuses the dataset.
	entries, _ := os.ReadDir(dir)
	out.Reset()
	if err := benchMain(args, &out, &errb); err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadDir(dir)
	if len(entries) != 1 || len(again) != 1 {
		t.Errorf("datasets: %d then %d, want one reused", len(entries), len(again))
	}
	var res2 benchResult
	if err := json.Unmarshal(out.Bytes(), &res2); err != nil || res2.Alerts != res.Alerts {
		t.Errorf("rerun found %d alerts, first run %d (%v)", res2.Alerts, res.Alerts, err)
	}
}
