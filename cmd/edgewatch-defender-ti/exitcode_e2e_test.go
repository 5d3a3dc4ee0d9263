package main

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/edgewatch/edgewatch/connectors/cluster/clustertest"
)

// The exit-code taxonomy through the real host and plugin: every input
// error (a flag, the config file, an input file that is missing, a
// directory, truncated or without indicators, an index that does not
// exist) exits 2 whatever the command and whichever side found it; a
// cluster that cannot be reached exits 1. README "Exit codes".

// truncatedGzip writes src gzipped, cut in the middle of its stream.
func truncatedGzip(t *testing.T, src, name string) string {
	t.Helper()
	raw, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	for len(raw) < 64<<10 { // long enough that the cut lands in the data
		raw = append(raw, raw...)
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, _ = zw.Write(raw)
	_ = zw.Close()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b.Bytes()[:b.Len()/2], 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExitCodes(t *testing.T) {
	binaries(t)
	td, _ := filepath.Abs("../../plugin/testdata")
	di, ev, feed := filepath.Join(td, "DeviceInfo.ndjson"), filepath.Join(td, "DeviceNetworkEvents.ndjson"), filepath.Join(td, "ipsum.txt")
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	emptyFeed := write("empty.txt", "# nothing here\nnot-an-ip\n10.0.0.1\n")
	badConfig := write("bad.yaml", "source: file\nnonsense: 1\n")
	missing := filepath.Join(dir, "missing.ndjson")
	cutFeed := truncatedGzip(t, feed, "ipsum.txt.gz")
	cutEvents := truncatedGzip(t, ev, "events.ndjson.gz")
	down := []string{"--opensearch", "http://127.0.0.1:1"} // nothing listens on port 1
	out := filepath.Join(dir, "out.ndjson")
	run := func(extra ...string) []string {
		return append([]string{"run", "--out", out}, extra...)
	}
	files := func(di, ev, feed string) []string {
		return []string{"--device-info", di, "--network-events", ev, "--feed", feed}
	}

	tests := []struct {
		name string
		args []string
		want int
		says string // the error line names this
	}{
		{name: "run: success", args: run(files(di, ev, feed)...), want: 0},
		{name: "run: missing file", args: run(files(missing, ev, feed)...), want: 2, says: missing},
		{name: "run: unreadable file (a directory)", args: run(files(di, dir, feed)...), want: 2, says: dir},
		{name: "run: bad flag", args: run(append(files(di, ev, feed), "--min-level", "x")...), want: 2, says: "--min-level"},
		{name: "run: bad flag value", args: run(append(files(di, ev, feed), "--format", "xml")...), want: 2, says: "--format"},
		{name: "run: bad config", args: append([]string{"--config", badConfig}, run(files(di, ev, feed)...)...), want: 2, says: "nonsense"},
		{name: "run: missing config", args: append([]string{"--config", missing}, run(files(di, ev, feed)...)...), want: 2, says: missing},
		{name: "run: empty feed", args: run(files(di, ev, emptyFeed)...), want: 2, says: "no indicator"},
		{name: "run: empty feed allowed", args: run(append(files(di, ev, emptyFeed), "--allow-empty-feed")...), want: 0},
		{name: "run: truncated gzip feed", args: run(files(di, ev, cutFeed)...), want: 2, says: cutFeed},
		{name: "run: truncated gzip events", args: run(files(di, cutEvents, feed)...), want: 2, says: cutEvents},
		{name: "run: output directory missing", args: append([]string{"run", "--out", filepath.Join(dir, "no-such-dir", "out.ndjson")},
			files(di, ev, feed)...), want: 2, says: "no-such-dir"},
		{name: "run: cluster down", args: []string{"run", "--source", "opensearch", "--url", "http://127.0.0.1:1",
			"--device-info-index", "di", "--network-events-index", "ev", "--feed", feed}, want: 1, says: "connection refused"},
		{name: "feed load: missing file", args: append([]string{"feed", "load", "--file", missing}, down...), want: 2, says: missing},
		{name: "feed load: unreadable file (a directory)", args: append([]string{"feed", "load", "--file", dir}, down...), want: 2, says: dir},
		{name: "feed load: empty feed", args: append([]string{"feed", "load", "--file", emptyFeed}, down...), want: 2, says: "no indicator"},
		{name: "feed load: truncated gzip", args: append([]string{"feed", "load", "--file", cutFeed}, down...), want: 2, says: cutFeed},
		{name: "feed load: bad flag", args: append([]string{"feed", "load", "--file", feed, "--min-level", "x"}, down...), want: 2},
		{name: "feed load: bad config", args: append([]string{"--config", badConfig, "feed", "load", "--file", feed}, down...), want: 2},
		{name: "feed load: cluster down", args: append([]string{"feed", "load", "--file", feed}, down...), want: 1, says: "connection refused"},
		{name: "feed status: bad flag", args: append([]string{"feed", "status", "--nonsense"}, down...), want: 2},
		{name: "feed status: cluster down", args: append([]string{"feed", "status"}, down...), want: 1},
		{name: "report: missing file", args: []string{"report", "--alerts", missing, "--out", filepath.Join(dir, "r.html")}, want: 2, says: missing},
		{name: "report: bad config", args: []string{"--config", badConfig, "report", "--alerts", missing}, want: 2},
		{name: "report: cluster down", args: append([]string{"report", "--out", filepath.Join(dir, "r.html")}, down...), want: 1},
		{name: "install: bad flag", args: append([]string{"install", "--retention-days", "x"}, down...), want: 2},
		{name: "install: cluster down", args: append([]string{"install"}, down...), want: 1},
		{name: "status: cluster down", args: append([]string{"status"}, down...), want: 1},
		{name: "serve: missing config", args: []string{"serve", "--check", "--config", missing}, want: 2, says: missing},
		{name: "serve: bad config", args: []string{"serve", "--check", "--config", badConfig}, want: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := host(t, "", tc.args...)
			if code != tc.want {
				t.Fatalf("exit %d, want %d\n%s", code, tc.want, stderr)
			}
			if tc.want != 0 && (!strings.HasPrefix(stderr, "edgewatch: ") && !strings.Contains(stderr, "\nedgewatch: ")) {
				t.Errorf("no one-line error on stderr:\n%s", stderr)
			}
			if tc.says != "" && !strings.Contains(stderr, tc.says) {
				t.Errorf("stderr does not name %q:\n%s", tc.says, stderr)
			}
		})
	}
}

// TestExitCodesOnClusters: a run over indices (or a lookup feed) that the
// cluster does not have is an input error (exit 2) that names the index.
func TestExitCodesOnClusters(t *testing.T) {
	clustertest.Run(t, func(t *testing.T, tg clustertest.Target) {
		binaries(t)
		feed, _ := filepath.Abs("../../plugin/testdata/ipsum.txt")
		suffix := randSuffix()
		di, ev := "edgewatch-nope-"+suffix+"-di", "edgewatch-nope-"+suffix+"-ev"
		base := append([]string{"run", "--no-index", "--profile", "advanced-hunting", "--out", os.DevNull,
			"--device-info-index", di, "--network-events-index", ev}, clusterArgs(t, tg)...)
		for _, tc := range []struct {
			name string
			args []string
			says string
		}{
			{"missing indices", slices.Concat(base, []string{"--feed", feed}), di},
			{"missing lookup feed", slices.Concat(base, []string{"--indicator-feed", "nope-" + suffix}), "nope-" + suffix},
			{"empty feed", slices.Concat(base, []string{"--feed", filepath.Join(t.TempDir(), "none.txt")}), "no indicator"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if strings.HasSuffix(tc.args[len(tc.args)-1], "none.txt") {
					if err := os.WriteFile(tc.args[len(tc.args)-1], []byte("# empty\n"), 0o600); err != nil {
						t.Fatal(err)
					}
				}
				code, _, stderr := host(t, "", tc.args...)
				if code != 2 || !strings.Contains(stderr, tc.says) {
					t.Errorf("exit %d, want 2 naming %q:\n%s", code, tc.says, stderr)
				}
			})
		}
	})
}
