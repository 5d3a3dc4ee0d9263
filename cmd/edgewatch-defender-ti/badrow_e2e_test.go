package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadRowsThroughThePlugin is issue 12's first failure, end to end
// through the real host and plugin: the bundled sample's CSV export (9
// alerts) re-saved as Windows-1252 with a non-ASCII device name on one
// matching row, and a 50 MB command line on another. The run succeeds;
// the cp1252 row's alert is written with the bad bytes as U+FFFD (in the
// document and the table); the 50 MB row's alert is a counted skip with
// its file and line; the other 7 alerts are written as they are.
func TestBadRowsThroughThePlugin(t *testing.T) {
	binaries(t)
	src, err := os.ReadFile(filepath.Join(sampleDir, "network_events.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(src, []byte("\n"))
	header := strings.Split(string(lines[0]), ",")
	cmdCol := -1
	for i, h := range header {
		if h == "InitiatingProcessCommandLine" {
			cmdCol = i
		}
	}
	if cmdCol < 0 {
		t.Fatal("the sample CSV has no InitiatingProcessCommandLine column")
	}
	cp1252, huge := -1, -1
	for i, l := range lines {
		switch {
		case bytes.Contains(l, []byte("80.82.77.33")): // a matching row
			// "RDP-MÜNCHEN-€" in Windows-1252: Ü is 0xDC, € is 0x80.
			lines[i] = bytes.Replace(l, []byte("rdp-gw-01.contoso.com"), []byte("RDP-M\xdcNCHEN-\x80"), 1)
			cp1252 = i + 1
		case bytes.Contains(l, []byte("71.6.135.131")): // another one
			f := bytes.Split(l, []byte(","))
			f[cmdCol] = append(append([]byte(`"`), bytes.Repeat([]byte("A"), 50<<20)...), '"')
			lines[i] = bytes.Join(f, []byte(","))
			huge = i + 1
		}
	}
	if cp1252 < 0 || huge < 0 {
		t.Fatal("the sample's matching rows moved")
	}
	events := filepath.Join(t.TempDir(), "network_events.cp1252.csv")
	if err := os.WriteFile(events, bytes.Join(lines, []byte("\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "alerts.ndjson")
	args := []string{"run", "--device-info", filepath.Join(sampleDir, "device_info.ndjson"), "--network-events", events,
		"--feed", filepath.Join(sampleDir, "feed.txt")}

	code, _, stderr := host(t, "", append(args, "--out", out)...)
	if code != 0 {
		t.Fatalf("exit %d, want 0:\n%s", code, stderr)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var hosts []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 32<<20)
	for sc.Scan() {
		var a struct {
			Host struct {
				Name string `json:"name"`
			} `json:"host"`
			Source struct {
				IP string `json:"ip"`
			} `json:"source"`
		}
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatalf("alert line is not JSON: %v", err)
		}
		if a.Source.IP == "71.6.135.131" {
			t.Error("the 50 MB row's alert was written")
		}
		hosts = append(hosts, a.Host.Name)
	}
	if len(hosts) != 8 {
		t.Fatalf("%d alerts written, want the sample's 9 minus the 50 MB row's", len(hosts))
	}
	if !strings.Contains(strings.Join(hosts, "|"), "RDP-M\uFFFDNCHEN-\uFFFD") {
		t.Errorf("no alert names the cp1252 device with U+FFFD: %q", hosts)
	}
	for _, want := range []string{"too large", fmt.Sprintf("%s:%d", events, huge), "8 written"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("summary lacks %q:\n%s", want, stderr)
		}
	}

	// The table carries the display columns over the plugin boundary as
	// protobuf strings: the cp1252 name arrives sanitised, not as an error.
	code, table, stderr := host(t, "", append(args, "--format", "table")...)
	if code != 0 {
		t.Fatalf("table: exit %d, want 0:\n%s", code, stderr)
	}
	if n := strings.Count(strings.TrimSpace(table), "\n"); n != 8 || !strings.Contains(table, "RDP-M\uFFFDNCHEN-\uFFFD") {
		t.Errorf("table with %d rows, want 8 and the sanitised name:\n%s", n, table)
	}
}
