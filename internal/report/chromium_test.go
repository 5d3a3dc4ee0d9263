package report

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/internal/testenv"
)

// These tests load the rendered page in headless Chromium (Debian's
// `chromium` package) and read back the DOM after the page's script ran. They
// skip when the browser is absent, except under CI=true (or
// EDGEWATCH_REQUIRE_CHROMIUM=1), where a missing browser fails the run
// (testenv.ChromiumPath; EDGEWATCH_CHROMIUM names another browser).

// dumpDOM renders page in headless Chromium, opening it at #fragment, and
// returns the serialised DOM and the browser's stderr (console log).
func dumpDOM(t *testing.T, bin string, page []byte, fragment string) (dom, console string) {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "report.html")
	if err := os.WriteFile(file, page, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	url := "file://" + file
	if fragment != "" {
		url += "#" + fragment
	}
	cmd := exec.CommandContext(ctx, bin,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--no-first-run", "--user-data-dir="+filepath.Join(dir, "profile"),
		"--enable-logging=stderr", "--v=0",
		"--dump-dom", url)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\nstderr:\n%s", err, stderr.String())
	}
	return stdout.String(), stderr.String()
}

// consoleProblems returns the browser log lines that report a script error or
// any console message (the page logs nothing when it works, and CSP
// violations are console errors too).
func consoleProblems(stderr string) []string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, "Uncaught") || strings.Contains(l, "CONSOLE") || strings.Contains(l, "Content Security Policy") {
			out = append(out, l)
		}
	}
	return out
}

func idText(dom, id string) string {
	m := regexp.MustCompile(`id="` + regexp.QuoteMeta(id) + `"[^>]*>([^<]*)<`).FindStringSubmatch(dom)
	if m == nil {
		return "(missing)"
	}
	return m[1]
}

func TestChromiumRendersCounts(t *testing.T) {
	bin := testenv.ChromiumPath(t)
	dom, stderr := dumpDOM(t, bin, renderSample(t, Options{}), "")
	if p := consoleProblems(stderr); len(p) > 0 {
		t.Errorf("console problems:\n%s", strings.Join(p, "\n"))
	}
	if !regexp.MustCompile(`<html[^>]*data-js="ready"`).MatchString(dom) {
		t.Fatalf("the page script did not finish (no data-js=\"ready\"); DOM head:\n%.2000s", dom)
	}
	if regexp.MustCompile(`<html[^>]*data-js-errors=`).MatchString(dom) {
		t.Errorf("window.onerror fired: %s", idText(dom, "js-errors"))
	}
	for id, want := range map[string]string{
		"count-total": "13", "count-events": "13", "count-critical": "4", "count-high": "3", "count-medium": "4", "count-low": "2",
		"count-devices": "5", "count-ips": "4", "count-retro": "1", "latest-shown": "13",
		"feed-total": "1450", "bad-count": "2",
	} {
		if got := idText(dom, id); got != want {
			t.Errorf("#%s = %q, want %q", id, got, want)
		}
	}
	// The hostile host name stayed text: no script element was injected.
	if strings.Count(dom, "<script") != 3 {
		t.Errorf("DOM has %d script elements, want 3", strings.Count(dom, "<script"))
	}
}

// TestChromiumDrillDown opens the page with a filter in the fragment (what a
// click on a top-IP row sets) and checks the latest-alerts table.
func TestChromiumDrillDown(t *testing.T) {
	bin := testenv.ChromiumPath(t)
	page := renderSample(t, Options{})
	tests := []struct {
		fragment  string
		shown     string
		chips     []string
		visibleIP string
	}{
		{"ip=203.0.113.7", "6", []string{"ip"}, "203.0.113.7"},
		{"host=mail-01&port=25", "3", []string{"host", "port"}, "198.51.100.23"},
		{"ip=192.0.2.1", "0", []string{"ip"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.fragment, func(t *testing.T) {
			dom, stderr := dumpDOM(t, bin, page, tc.fragment)
			if p := consoleProblems(stderr); len(p) > 0 {
				t.Errorf("console problems:\n%s", strings.Join(p, "\n"))
			}
			if got := idText(dom, "latest-shown"); got != tc.shown {
				t.Errorf("#latest-shown = %q, want %s", got, tc.shown)
			}
			for _, c := range tc.chips {
				if !strings.Contains(dom, `data-chip="`+c+`"`) {
					t.Errorf("no filter chip for %s", c)
				}
			}
			// Count visible rows of the latest table from the DOM itself.
			rows := regexp.MustCompile(`<tr data-ip="([^"]*)"[^>]*?( hidden="")?>`).FindAllStringSubmatch(dom, -1)
			visible := 0
			for _, r := range rows {
				if r[2] == "" {
					visible++
					if tc.visibleIP != "" && r[1] != tc.visibleIP {
						t.Errorf("row for %s visible under filter %s", r[1], tc.fragment)
					}
				}
			}
			if tc.shown != "" && visible != int(tc.shown[0]-'0') {
				t.Errorf("%d rows visible, want %s", visible, tc.shown)
			}
		})
	}
}

// TestChromiumDetectsScriptErrors proves the two detectors above can fail: a
// page whose script throws is caught by window.onerror and by the console.
func TestChromiumDetectsScriptErrors(t *testing.T) {
	bin := testenv.ChromiumPath(t)
	dom, stderr := dumpDOM(t, bin, renderSample(t, Options{testScript: `throw new Error("planted failure");`}), "")
	if !regexp.MustCompile(`<html[^>]*data-js-errors="1"`).MatchString(dom) || !strings.Contains(idText(dom, "js-errors"), "planted failure") {
		t.Errorf("window.onerror did not record the planted error")
	}
	if p := consoleProblems(stderr); len(p) == 0 {
		t.Errorf("the console log does not show the planted error; stderr:\n%s", stderr)
	}
}
