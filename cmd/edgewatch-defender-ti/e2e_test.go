package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/detector"
	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/engine"
	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/plugin/wire"
	"github.com/google/go-cmp/cmp"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binaries builds the host and the plugin once per test binary, into a
// temporary directory (the plugin next to the host, as installed), static
// as `make build` and the packages build them.
func binaries(tb testing.TB) string {
	tb.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "edgewatch-e2e-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", binDir+string(os.PathSeparator),
			"github.com/edgewatch/edgewatch/cmd/edgewatch", "github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		var out []byte
		out, buildErr = cmd.CombinedOutput()
		if buildErr != nil {
			buildErr = &buildError{err: buildErr, out: string(out)}
		}
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return binDir
}

type buildError struct {
	err error
	out string
}

func (b *buildError) Error() string { return "go build: " + b.err.Error() + "\n" + b.out }

func TestMain(m *testing.M) {
	if raw := os.Getenv(envInProcess); raw != "" {
		// Helper process for BenchmarkFileRun/in-process-fresh: one engine
		// run in a fresh process, as the plugin process does it.
		if err := runInProcess(raw); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	code := m.Run()
	for _, d := range []string{binDir, benchDir} {
		if d != "" {
			os.RemoveAll(d)
		}
	}
	os.Exit(code)
}

// host runs the built edgewatch binary.
func host(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binaries(t), "edgewatch"), args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

type dataset struct {
	name                      string
	deviceInfo, events, feeds []string
	extra                     []string // run flags
	settings                  wire.Settings
}

func datasets(t *testing.T) []dataset {
	td := "../../plugin/testdata"
	abs := func(p string) string { a, _ := filepath.Abs(p); return a }
	sets := []dataset{{
		name:       "plugin testdata",
		deviceInfo: []string{abs(td + "/DeviceInfo.ndjson")},
		events:     []string{abs(td + "/DeviceNetworkEvents.ndjson")},
		feeds:      []string{abs(td + "/ipsum.txt")},
		extra:      []string{"--min-level", "2", "--exclude-port", "3389"},
		settings:   wire.Settings{MinLevel: 2, ExcludePorts: []int{3389}},
	}}
	// The bundled sample (testdata/sample), when present.
	s := "../../testdata/sample"
	if _, err := os.Stat(s + "/device_info.ndjson"); err == nil {
		sets = append(sets, dataset{
			name:       "bundled sample",
			deviceInfo: []string{abs(s + "/device_info.ndjson")},
			events:     []string{abs(s + "/network_events.ndjson")},
			feeds:      []string{abs(s + "/feed.txt")},
		}, dataset{
			name:       "bundled sample grouped",
			deviceInfo: []string{abs(s + "/device_info.ndjson")},
			events:     []string{abs(s + "/network_events.ndjson")},
			feeds:      []string{abs(s + "/feed.txt")},
			extra:      []string{"--group-by", "host.id,source.ip", "--group-window", "7d"},
			settings:   wire.Settings{GroupBy: []string{"host.id", "source.ip"}, GroupWindow: wire.Duration(7 * 24 * time.Hour)},
		})
	}
	return sets
}

// collector is an in-process engine observer that keeps the alert JSON.
type collector struct{ docs []json.RawMessage }

func (c *collector) Progress(wire.Progress) {}
func (c *collector) Alerts(_ context.Context, batch engine.Batch) error {
	for line := range bytes.Lines(batch.NDJSON) {
		c.docs = append(c.docs, bytes.TrimSuffix(line, []byte("\n")))
	}
	return nil
}

// normalise removes what differs between two runs over the same data: the
// creation time and the run id.
func normalise(t *testing.T, docs []json.RawMessage) []map[string]any {
	t.Helper()
	out := make([]map[string]any, 0, len(docs))
	for _, d := range docs {
		var m map[string]any
		if err := json.Unmarshal(d, &m); err != nil {
			t.Fatalf("%v: %s", err, d)
		}
		if ev, ok := m["event"].(map[string]any); ok {
			delete(ev, "created")
		}
		if ew, ok := m["edgewatch"].(map[string]any); ok {
			delete(ew, "run_id")
		}
		out = append(out, m)
	}
	return out
}

// TestEndToEndMatchesInProcess: host → plugin over real files writes the
// same alerts as the engine run in-process.
func TestEndToEndMatchesInProcess(t *testing.T) {
	for _, ds := range datasets(t) {
		t.Run(ds.name, func(t *testing.T) {
			s := ds.settings
			s.Source = "file"
			s.DeviceInfo, s.NetworkEvents, s.Feeds = ds.deviceInfo, ds.events, ds.feeds
			col := &collector{}
			if _, err := engine.Run(context.Background(), s, nil, col); err != nil {
				t.Fatalf("in-process run: %v", err)
			}
			if len(col.docs) == 0 {
				t.Fatal("the in-process run found no alerts; the comparison would prove nothing")
			}

			out := filepath.Join(t.TempDir(), "alerts.ndjson")
			args := []string{"run", "--out", out}
			for _, p := range ds.deviceInfo {
				args = append(args, "--device-info", p)
			}
			for _, p := range ds.events {
				args = append(args, "--network-events", p)
			}
			for _, p := range ds.feeds {
				args = append(args, "--feed", p)
			}
			args = append(args, ds.extra...)
			code, stdout, stderr := host(t, "", args...)
			if code != 0 {
				t.Fatalf("edgewatch exit %d:\n%s", code, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout not empty with --out: %q", stdout)
			}
			var got []json.RawMessage
			f, err := os.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			sc := bufio.NewScanner(f)
			sc.Buffer(nil, 16<<20)
			for sc.Scan() {
				got = append(got, append(json.RawMessage(nil), sc.Bytes()...))
			}
			if diff := cmp.Diff(normalise(t, col.docs), normalise(t, got)); diff != "" {
				t.Errorf("alerts through the plugin differ from in-process (-in-process +plugin):\n%s", diff)
			}
			if !strings.Contains(stderr, "alerts:") || !strings.Contains(stderr, "file "+out+": "+itoa(len(col.docs))+" written") {
				t.Errorf("no summary on stderr:\n%s", stderr)
			}

			// The table shows the same alerts' display columns.
			code, table, stderr := host(t, "", append(args[:1], append(args[3:], "--format", "table")...)...)
			if code != 0 {
				t.Fatalf("table run exit %d:\n%s", code, stderr)
			}
			lines := strings.Split(strings.TrimSpace(table), "\n")
			if len(lines) != len(col.docs)+1 {
				t.Fatalf("table has %d rows, want %d:\n%s", len(lines)-1, len(col.docs), table)
			}
			if grouped := len(s.GroupBy) > 0; grouped != strings.HasSuffix(lines[0], " Count") || grouped != strings.Contains(stderr, "  groups: ") {
				t.Errorf("grouped %v: table header %q, summary:\n%s", grouped, lines[0], stderr)
			}
			var wantRows, gotRows []string
			for _, d := range col.docs {
				var a correlation.Alert
				_ = json.Unmarshal(d, &a)
				r := detector.RowOf(&a)
				proc := r.InitiatingProcessFileName
				if proc == "" {
					proc = "-"
				}
				wantRows = append(wantRows, strings.Join([]string{r.Timestamp.UTC().Format(time.RFC3339Nano), r.DeviceName,
					r.ThreatIntelligenceIP, itoa(r.LocalPort), proc}, " "))
			}
			for _, l := range lines[1:] {
				f := strings.Fields(l)
				gotRows = append(gotRows, strings.Join(f[:5], " "))
			}
			sort.Strings(wantRows)
			sort.Strings(gotRows)
			if diff := cmp.Diff(wantRows, gotRows); diff != "" {
				t.Errorf("table rows (-want +got):\n%s", diff)
			}
		})
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestPluginRunByHand(t *testing.T) {
	cmd := exec.Command(filepath.Join(binaries(t), "edgewatch-defender-ti"))
	out, err := cmd.CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 1 {
		t.Fatalf("run by hand: %v, want exit 1", err)
	}
	for _, w := range []string{"edgewatch-defender-ti", "is an edgewatch detector plugin", "edgewatch run", "edgewatch plugins"} {
		if !strings.Contains(string(out), w) {
			t.Errorf("message lacks %q:\n%s", w, out)
		}
	}
}

func TestPluginsListsRealPlugin(t *testing.T) {
	dir := binaries(t)
	code, out, stderr := host(t, "", "plugins")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("listing:\n%s", out)
	}
	f := strings.Fields(lines[1])
	if len(f) != 9 || f[0] != "edgewatch-defender-ti" || f[4] != "1" || f[7] != filepath.Join(dir, "edgewatch-defender-ti") || f[8] != "ok" {
		t.Errorf("row %v", f)
	}
}

func TestChecksumThroughHost(t *testing.T) {
	dir := binaries(t)
	b, err := os.ReadFile(filepath.Join(dir, "edgewatch-defender-ti"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	good := hex.EncodeToString(sum[:])
	ds := datasets(t)[0]
	args := []string{"run", "--device-info", ds.deviceInfo[0], "--network-events", ds.events[0], "--feed", ds.feeds[0]}
	if code, _, stderr := host(t, "", append([]string{"--plugin-sha256", good}, args...)...); code != 0 {
		t.Errorf("right checksum: exit %d\n%s", code, stderr)
	}
	code, stdout, stderr := host(t, "", append([]string{"--plugin-sha256", strings.Repeat("0", 64)}, args...)...)
	if code != 1 || stdout != "" || !strings.HasPrefix(stderr, "edgewatch: plugin checksum mismatch: ") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("wrong checksum: exit %d\nstdout %q\nstderr %q", code, stdout, stderr)
	}
}

// TestOpThroughHost: an Admin operation goes host → plugin; one the plugin
// does not offer fails with a clear one-line error.
func TestOpThroughHost(t *testing.T) {
	// `edgewatch plugins` shows only a count once a plugin offers more than
	// four operations, so ask each op: an offered one answers with its own
	// result or error, an unregistered one with "not available".
	for _, op := range []string{"status", "install", "report"} {
		code, _, stderr := host(t, "", op)
		want := "operation \"" + op + "\" is not available in plugin edgewatch-defender-ti"
		if !strings.Contains(stderr, "is not available in plugin") {
			continue // offered
		}
		if code != 1 || !strings.Contains(stderr, want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%s: exit %d, stderr %q, want one line containing %q", op, code, stderr, want)
		}
		return
	}
	t.Log("status, install and report are all offered; nothing unregistered to try")
}
