package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/edgewatch/edgewatch/internal/testenv"
	"github.com/google/go-cmp/cmp"

	"github.com/edgewatch/edgewatch/internal/version"
	"github.com/edgewatch/edgewatch/plugin"
)

// The build the package tests inspect: stamped with a fixed identity, so
// that what the binaries print can be checked exactly.
var testBuild = version.Info{
	Version: "v9.8.7-3-gabcdef1",
	Commit:  "abcdef1234567890abcdef1234567890abcdef12",
	Date:    "2025-06-07T08:09:10Z",
}

const testPkgVersion = "9.8.7+3.gabcdef1"

var (
	buildOnce sync.Once
	builtDir  string
	built     map[string]string // format → path, linux/amd64
	builtErr  error
)

// artefacts builds the amd64 .deb, .rpm and .tar.gz once per test binary,
// through Build — the code `make package` runs.
func artefacts(t *testing.T) map[string]string {
	t.Helper()
	buildOnce.Do(func() {
		builtDir, builtErr = os.MkdirTemp("", "edgewatch-package-test-")
		if builtErr != nil {
			return
		}
		var arts []Artifact
		arts, builtErr = Build(context.Background(), Options{Root: "..", Out: builtDir, Arches: []string{"amd64"},
			Formats: []string{FormatDeb, FormatRPM, FormatTar}, Build: testBuild})
		built = map[string]string{}
		for _, a := range arts {
			built[a.Format] = a.Path
		}
	})
	if builtErr != nil {
		t.Fatal(builtErr)
	}
	return built
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builtDir != "" {
		os.RemoveAll(builtDir)
	}
	os.Exit(code)
}

// requireTool returns the path of a tool the test needs: a missing one
// skips the test, or fails it when packaging is required (CI=true or
// EDGEWATCH_REQUIRE_PACKAGE=1; see internal/testenv).
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		testenv.Unavailable(t, testenv.Packaging, name+" not installed")
	}
	return p
}

// run runs a command and returns its exit code, stdout and stderr.
func run(t *testing.T, env []string, name string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode(), out.String(), errb.String()
	case err != nil:
		t.Fatalf("%s: %v", name, err)
	}
	return 0, out.String(), errb.String()
}

// mustRun runs a command that must succeed and returns its stdout.
func mustRun(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	code, out, errOut := run(t, env, name, args...)
	if code != 0 {
		t.Fatalf("%s %s: exit %d\n%s%s", name, strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func TestPackageVersion(t *testing.T) {
	cases := map[string]string{
		"v1.2.3":                       "1.2.3",
		"1.2.3":                        "1.2.3",
		"v1.2.3-4-gabc1234":            "1.2.3+4.gabc1234",
		"v1.2.3-dirty":                 "1.2.3+dirty",
		"v1.2.3-4-gabc1234-dirty":      "1.2.3+4.gabc1234.dirty",
		"v1.3.0-rc1":                   "1.3.0~rc1",
		"v1.3.0-rc.2-5-gabc1234-dirty": "1.3.0~rc.2+5.gabc1234.dirty",
		"7f721a7":                      "0.0.0+git.7f721a7",
		"7f721a7-dirty":                "0.0.0+git.7f721a7.dirty",
		version.Dev:                    "0.0.0~dev",
		"nightly/2025":                 "0.0.0~nightly~2025",
	}
	for in, want := range cases {
		t.Run(in, func(t *testing.T) {
			if got := packageVersion(in); got != want {
				t.Errorf("packageVersion(%q) = %q, want %q", in, got, want)
			}
		})
	}
}

func TestBuildInfoFromGit(t *testing.T) {
	requireTool(t, "git")
	head := strings.TrimSpace(mustRun(t, nil, "git", "-C", "..", "rev-parse", "HEAD"))
	describe := strings.TrimSpace(mustRun(t, nil, "git", "-C", "..", "describe", "--tags", "--always", "--dirty"))
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	got, err := buildInfo(context.Background(), "..", version.Info{})
	if err != nil {
		t.Fatal(err)
	}
	if want := (version.Info{Version: describe, Commit: head, Date: "2023-11-14T22:13:20Z"}); got != want {
		t.Errorf("buildInfo = %+v, want %+v", got, want)
	}
	// A given identity is kept as given.
	if got, _ := buildInfo(context.Background(), "..", testBuild); got != testBuild {
		t.Errorf("buildInfo(%+v) = %+v", testBuild, got)
	}
}

// openGzip opens a gzipped file for the length of the test.
func openGzip(t *testing.T, path string) io.Reader {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	return zr
}

// debEntry is one line of `dpkg-deb -c`.
type debEntry struct{ Perm, Owner string }

func debListing(t *testing.T, deb string) map[string]debEntry {
	t.Helper()
	out := mustRun(t, nil, "dpkg-deb", "-c", deb)
	files := map[string]debEntry{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 6 {
			t.Fatalf("dpkg-deb -c line %q", sc.Text())
		}
		files[strings.TrimPrefix(f[5], ".")] = debEntry{f[0], f[1]}
	}
	return files
}

// sampleFiles are the names in testdata/sample, which the packages ship.
func sampleFiles(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir("../testdata/sample")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// wantDebFiles is every regular file of the .deb but the man pages, with
// its mode and owner.
func wantDebFiles(t *testing.T) map[string]debEntry {
	file, exe := debEntry{"-rw-r--r--", "root/root"}, debEntry{"-rwxr-xr-x", "root/root"}
	want := map[string]debEntry{
		"/usr/bin/edgewatch": exe,
		"/usr/lib/edgewatch/plugins/edgewatch-defender-ti":    exe,
		"/etc/edgewatch/edgewatch.yaml":                       {"-rw-r-----", "root/edgewatch"},
		"/usr/lib/systemd/system/edgewatch.service":           file,
		"/usr/share/doc/edgewatch/README.md":                  file,
		"/usr/share/bash-completion/completions/edgewatch":    file,
		"/usr/share/zsh/vendor-completions/_edgewatch":        file,
		"/usr/share/fish/vendor_completions.d/edgewatch.fish": file,
	}
	for _, n := range sampleFiles(t) {
		want["/usr/share/edgewatch/sample/"+n] = file
	}
	return want
}

// TestDebContents: the .deb's file list, modes and owners, its control
// fields, the configuration file marked as a conffile, and the maintainer
// scripts from packaging/scripts.
func TestDebContents(t *testing.T) {
	requireTool(t, "dpkg-deb")
	deb := artefacts(t)[FormatDeb]
	if filepath.Base(deb) != "edgewatch_"+testPkgVersion+"-1_amd64.deb" {
		t.Errorf("file name %s", filepath.Base(deb))
	}
	files := debListing(t, deb)
	got := map[string]debEntry{}
	var man []string
	for p, e := range files {
		switch {
		case strings.HasSuffix(p, "/"):
			if !strings.HasPrefix(e.Perm, "d") {
				t.Errorf("%s: %s", p, e.Perm)
			}
		case strings.HasPrefix(p, "/usr/share/man/man1/"):
			man = append(man, strings.TrimPrefix(p, "/usr/share/man/man1/"))
			if e != (debEntry{"-rw-r--r--", "root/root"}) {
				t.Errorf("%s: %v", p, e)
			}
		default:
			got[p] = e
		}
	}
	if diff := cmp.Diff(wantDebFiles(t), got); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	for _, m := range []string{"edgewatch.1.gz", "edgewatch-run.1.gz", "edgewatch-serve.1.gz", "edgewatch-plugins.1.gz", "edgewatch-feed-load.1.gz"} {
		if !slices.Contains(man, m) {
			t.Errorf("man page %s missing (have %v)", m, man)
		}
	}
	for dir, want := range map[string]debEntry{
		"/etc/edgewatch/":             {"drwxr-x---", "root/edgewatch"},
		"/usr/lib/edgewatch/plugins/": {"drwxr-xr-x", "root/root"},
	} {
		if files[dir] != want {
			t.Errorf("%s: %v, want %v", dir, files[dir], want)
		}
	}

	if got := mustRun(t, nil, "dpkg-deb", "-I", deb, "conffiles"); got != "/etc/edgewatch/edgewatch.yaml\n" {
		t.Errorf("conffiles %q", got)
	}
	fields := mustRun(t, nil, "dpkg-deb", "-f", deb, "Package", "Version", "Architecture", "Pre-Depends")
	if want := "Package: edgewatch\nVersion: " + testPkgVersion + "-1\nArchitecture: amd64\nPre-Depends: passwd\n"; fields != want {
		t.Errorf("control fields:\n%s\nwant\n%s", fields, want)
	}
	ctrl := t.TempDir()
	mustRun(t, nil, "dpkg-deb", "-e", deb, ctrl)
	for script, src := range map[string]string{"preinst": "preinstall.sh", "postinst": "postinstall.sh", "prerm": "preremove.sh", "postrm": "postremove.sh"} {
		got, err := os.ReadFile(filepath.Join(ctrl, script))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := os.ReadFile(filepath.Join("scripts", src))
		if !bytes.Equal(got, want) {
			t.Errorf("%s is not scripts/%s", script, src)
		}
	}
}

// extractDeb unpacks the .deb into a new root directory.
func extractDeb(t *testing.T) string {
	t.Helper()
	requireTool(t, "dpkg-deb")
	root := t.TempDir()
	mustRun(t, nil, "dpkg-deb", "-x", artefacts(t)[FormatDeb], root)
	return root
}

// pluginRow is the row of `edgewatch plugins` for edgewatch-defender-ti.
func pluginRow(t *testing.T, out string) []string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == "edgewatch-defender-ti" {
			return f
		}
	}
	t.Fatalf("no plugin row in:\n%s", out)
	return nil
}

// checkPluginRow compares the listing of the packaged plugin with what
// its stamp says, ignoring the operations column.
func checkPluginRow(t *testing.T, got []string, path, sha string) {
	t.Helper()
	want := []string{"edgewatch-defender-ti", testBuild.Version, testBuild.Commit[:12], testBuild.Date, "1", "OPS", sha, path, "ok"}
	if len(got) == len(want) {
		want[5] = got[5]
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("plugins row (-want +got):\n%s", diff)
	}
}

// goldenIDs are the finding ids of the sample's golden alerts.
func goldenIDs(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return alertIDs(t, string(b))
}

func alertIDs(t *testing.T, ndjson string) []string {
	t.Helper()
	var ids []string
	for _, l := range strings.Split(strings.TrimSpace(ndjson), "\n") {
		var a struct {
			Event struct {
				ID string `json:"id"`
			} `json:"event"`
		}
		if err := json.Unmarshal([]byte(l), &a); err != nil || a.Event.ID == "" {
			t.Fatalf("alert line %q: %v", l, err)
		}
		ids = append(ids, a.Event.ID)
	}
	slices.Sort(ids)
	return ids
}

// demo runs the detection over a sample directory and checks it finds the
// golden alerts.
func demo(t *testing.T, host, sample string, extra ...string) {
	t.Helper()
	args := append(extra, "run", "--device-info", filepath.Join(sample, "device_info.ndjson"),
		"--network-events", filepath.Join(sample, "network_events.ndjson"), "--feed", filepath.Join(sample, "feed.txt"),
		"--format", "ndjson", "--out", "-")
	out := mustRun(t, nil, host, args...)
	want := goldenIDs(t, filepath.Join(sample, "alerts.golden.ndjson"))
	if diff := cmp.Diff(want, alertIDs(t, out)); diff != "" || len(want) == 0 {
		t.Errorf("demo over %s: finding ids (-golden +got):\n%s", sample, diff)
	}
}

// TestDebRuns: the unpacked .deb works: its edgewatch reports the stamped
// version and the plugin checksum compiled in, finds the packaged plugin
// and verifies it, refuses a tampered one, runs the demo over the packaged
// sample, accepts the packaged configuration with systemd credentials, and
// completes commands.
func TestDebRuns(t *testing.T) {
	root := extractDeb(t)
	host := filepath.Join(root, "usr/bin/edgewatch")
	plugins := filepath.Join(root, "usr/lib/edgewatch/plugins")
	pluginPath := filepath.Join(plugins, "edgewatch-defender-ti")
	sum, err := plugin.FileSHA256(pluginPath)
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{host: 0o755, pluginPath: 0o755, filepath.Join(root, "etc/edgewatch/edgewatch.yaml"): 0o640,
		filepath.Join(root, "etc/edgewatch"): 0o750 | os.ModeDir} {
		if fi, err := os.Stat(p); err != nil || fi.Mode() != want {
			t.Errorf("%s: %v %v, want %v", p, fi.Mode(), err, want)
		}
	}

	cfg := filepath.Join(root, "etc/edgewatch/edgewatch.yaml")
	creds := t.TempDir()
	for name, v := range map[string]string{"edgewatch-webhook-token": "0123456789abcdef0123\n", "edgewatch-cluster-password": "pw\n"} {
		if err := os.WriteFile(filepath.Join(creds, name), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	credsEnv := []string{"CREDENTIALS_DIRECTORY=" + creds}

	out := mustRun(t, nil, host, "version")
	for _, want := range []string{"edgewatch " + testBuild.Version + "\n", "commit:          " + testBuild.Commit + "\n",
		"built:           " + testBuild.Date + "\n", "plugin sha256:   edgewatch-defender-ti " + sum + " (compiled in"} {
		if !strings.Contains(out, want) {
			t.Errorf("edgewatch version lacks %q:\n%s", want, out)
		}
	}

	out = mustRun(t, nil, host, "--plugin-dir", plugins, "plugins")
	checkPluginRow(t, pluginRow(t, out), pluginPath, "verified")

	t.Run("tampered plugin refused", func(t *testing.T) {
		dir := t.TempDir()
		b, err := os.ReadFile(pluginPath)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "edgewatch-defender-ti"), append(b, 0), 0o755); err != nil {
			t.Fatal(err)
		}
		code, out, _ := run(t, nil, host, "--plugin-dir", dir, "plugins")
		if code != 1 || !strings.Contains(out, "error: plugin checksum mismatch") {
			t.Errorf("plugins with a tampered plugin: exit %d\n%s", code, out)
		}
		sample := filepath.Join(root, "usr/share/edgewatch/sample")
		code, out, errOut := run(t, nil, host, "--plugin-dir", dir, "run", "--device-info", filepath.Join(sample, "device_info.ndjson"),
			"--network-events", filepath.Join(sample, "network_events.ndjson"), "--feed", filepath.Join(sample, "feed.txt"))
		if code != 1 || out != "" || !strings.HasPrefix(errOut, "edgewatch: plugin checksum mismatch") {
			t.Errorf("run with a tampered plugin: exit %d\nstdout %q\nstderr %q", code, out, errOut)
		}
		code, _, errOut = run(t, credsEnv, host, "serve", "--config", cfg, "--plugin-dir", dir, "--check")
		if code != 1 || !strings.Contains(errOut, "plugin checksum mismatch") {
			t.Errorf("serve with a tampered plugin: exit %d\nstderr %q", code, errOut)
		}
	})

	t.Run("demo over the packaged sample", func(t *testing.T) {
		demo(t, host, filepath.Join(root, "usr/share/edgewatch/sample"), "--plugin-dir", plugins)
	})

	t.Run("packaged config with credentials", func(t *testing.T) {
		out := mustRun(t, credsEnv, host, "serve", "--config", cfg, "--plugin-dir", plugins, "--check")
		if !strings.Contains(out, "configuration OK (1 detections, plugin "+pluginPath+")") {
			t.Errorf("serve --check: %s", out)
		}
		code, _, errOut := run(t, []string{"CREDENTIALS_DIRECTORY="}, host, "serve", "--config", cfg, "--plugin-dir", plugins, "--check")
		if code != 2 || !strings.Contains(errOut, "CREDENTIALS_DIRECTORY is not set") {
			t.Errorf("serve --check without credentials: exit %d: %s", code, errOut)
		}
	})

	t.Run("completions and man pages", func(t *testing.T) {
		out := mustRun(t, nil, host, "__complete", "")
		for _, c := range []string{"run\t", "serve\t", "plugins\t", "version\t"} {
			if !strings.Contains(out, c) {
				t.Errorf("edgewatch __complete lacks %q:\n%s", c, out)
			}
		}
		if bash, err := exec.LookPath("bash"); err == nil {
			mustRun(t, nil, bash, "-n", filepath.Join(root, "usr/share/bash-completion/completions/edgewatch"))
		}
		page, err := io.ReadAll(openGzip(t, filepath.Join(root, "usr/share/man/man1/edgewatch-serve.1.gz")))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(page, []byte(".nh\n.TH \"EDGEWATCH\" \"1\"")) || !bytes.Contains(page, []byte("edgewatch-serve - Run the detections")) {
			t.Errorf("edgewatch-serve.1:\n%.300s", page)
		}
	})

	t.Run("systemd-analyze verify", func(t *testing.T) { verifyUnit(t, root) })
}

// verifyUnit checks the packaged unit with systemd-analyze: `verify`
// (directives, the ExecStart= binary, the man page it documents) must say
// nothing, and `security` must rate it OK. The unit names /usr/bin/edgewatch,
// which an unpacked root does not have: a copy names the unpacked one
// (--root would need the system's own units and /bin/kill in the root).
func verifyUnit(t *testing.T, root string) {
	sa := requireTool(t, "systemd-analyze")
	b, err := os.ReadFile(filepath.Join(root, "usr/lib/systemd/system/edgewatch.service"))
	if err != nil {
		t.Fatal(err)
	}
	host := filepath.Join(root, "usr/bin/edgewatch")
	if !bytes.Contains(b, []byte("ExecStart=/usr/bin/edgewatch serve --config /etc/edgewatch/edgewatch.yaml\n")) {
		t.Fatalf("unexpected ExecStart in:\n%s", b)
	}
	unit := filepath.Join(t.TempDir(), "edgewatch.service")
	if err := os.WriteFile(unit, bytes.ReplaceAll(b, []byte("/usr/bin/edgewatch"), []byte(host)), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"verify"}
	if _, err := exec.LookPath("man"); err != nil {
		t.Log("man is not installed: systemd-analyze verify --man=no (Documentation=man:edgewatch-serve(1) not checked)")
		args = append(args, "--man=no")
	}
	code, out, errOut := run(t, []string{"MANPATH=" + filepath.Join(root, "usr/share/man")}, sa, append(args, unit)...)
	if code != 0 || out+errOut != "" {
		t.Errorf("systemd-analyze verify: exit %d\n%s%s", code, out, errOut)
	}
	// Exposure 0–10 in tenths: 20 is "2.0 OK" at most.
	code, out, errOut = run(t, nil, sa, "security", "--offline=yes", "--threshold=20", unit)
	if code != 0 {
		t.Errorf("systemd-analyze security: exit %d\n%s%s", code, out, errOut)
	}
	for _, d := range []string{"NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
		"StateDirectory=edgewatch", "Restart=on-failure", "KillMode=mixed", "TimeoutStopSec=45s", "User=edgewatch",
		"LoadCredential=edgewatch-cluster-password"} {
		if !bytes.Contains(b, []byte("\n"+d+"\n")) {
			t.Errorf("unit lacks %s", d)
		}
	}
}

// TestRPM: the .rpm's header, file list, modes, owners, config marking and
// scripts, read with rpm itself.
func TestRPM(t *testing.T) {
	rpm := requireTool(t, "rpm")
	pkg := artefacts(t)[FormatRPM]
	if filepath.Base(pkg) != "edgewatch-"+testPkgVersion+"-1.x86_64.rpm" {
		t.Errorf("file name %s", filepath.Base(pkg))
	}
	if got := mustRun(t, nil, rpm, "-qp", "--qf", "%{NAME} %{VERSION} %{RELEASE} %{ARCH}", pkg); got != "edgewatch "+testPkgVersion+" 1 x86_64" {
		t.Errorf("header %q", got)
	}
	got := map[string]debEntry{}
	out := mustRun(t, nil, rpm, "-qp", "--qf", "[%{FILEMODES:perms} %{FILEUSERNAME}/%{FILEGROUPNAME} %{FILEFLAGS:fflags} %{FILENAMES}\n]", pkg)
	var config []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(l)
		if len(f) == 3 { // no flags
			f = []string{f[0], f[1], "", f[2]}
		}
		if len(f) != 4 {
			t.Fatalf("rpm line %q", l)
		}
		if strings.Contains(f[2], "c") {
			config = append(config, f[2]+" "+f[3])
		}
		if !strings.HasPrefix(f[0], "d") && !strings.HasPrefix(f[3], "/usr/share/man/") {
			got[f[3]] = debEntry{f[0], f[1]}
		}
	}
	want := wantDebFiles(t)
	want["/usr/share/zsh/site-functions/_edgewatch"] = want["/usr/share/zsh/vendor-completions/_edgewatch"]
	delete(want, "/usr/share/zsh/vendor-completions/_edgewatch")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"cn /etc/edgewatch/edgewatch.yaml"}, config); diff != "" {
		t.Errorf("config files (-want +got): %s", diff)
	}
	scripts := mustRun(t, nil, rpm, "-qp", "--scripts", pkg)
	for _, want := range []string{"preinstall scriptlet", "useradd --system", "postinstall scriptlet", "preuninstall scriptlet",
		"systemctl --no-reload disable edgewatch.service", "postuninstall scriptlet"} {
		if !strings.Contains(scripts, want) {
			t.Errorf("rpm scripts lack %q", want)
		}
	}
}

// TestTarball: the .tar.gz is one directory that works where it is
// unpacked: the host finds the plugin beside itself and verifies it
// against the checksum compiled in, with no flags.
func TestTarball(t *testing.T) {
	tgz := artefacts(t)[FormatTar]
	base := "edgewatch_" + testPkgVersion + "_linux_amd64"
	if filepath.Base(tgz) != base+".tar.gz" {
		t.Errorf("file name %s", filepath.Base(tgz))
	}
	zr := openGzip(t, tgz)
	dir := t.TempDir()
	modes := map[string]int64{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(h.Name, base+"/") || h.Uname != "root" || h.Gname != "root" {
			t.Errorf("entry %s (%s/%s)", h.Name, h.Uname, h.Gname)
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if h.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		modes[strings.TrimPrefix(h.Name, base+"/")] = h.Mode
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, os.FileMode(h.Mode)); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]int64{"edgewatch": 0o755, "edgewatch-defender-ti": 0o755, "README.md": 0o644, "edgewatch.yaml": 0o644,
		"edgewatch.service": 0o644, "completions/edgewatch.bash": 0o644, "completions/_edgewatch": 0o644, "completions/edgewatch.fish": 0o644}
	for _, n := range sampleFiles(t) {
		want["sample/"+n] = 0o644
	}
	got := maps.Clone(modes)
	maps.DeleteFunc(got, func(k string, _ int64) bool { return strings.HasPrefix(k, "man/man1/") })
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tarball files (-want +got):\n%s", diff)
	}
	if _, ok := modes["man/man1/edgewatch-serve.1.gz"]; !ok {
		t.Error("tarball lacks man/man1/edgewatch-serve.1.gz")
	}

	top := filepath.Join(dir, base)
	host := filepath.Join(top, "edgewatch")
	out := mustRun(t, nil, host, "plugins")
	checkPluginRow(t, pluginRow(t, out), filepath.Join(top, "edgewatch-defender-ti"), "verified")
	demo(t, host, filepath.Join(top, "sample"))
}

// TestGoInstall: `go install ./cmd/...` (what the README's `go install
// github.com/edgewatch/edgewatch/cmd/...@latest` does from a checkout) puts
// the host and the plugin into one $GOBIN, where the host finds the plugin
// beside itself. Such a build
// carries no plugin checksum (nothing to verify against) and its version
// comes from the Go build information.
func TestGoInstall(t *testing.T) {
	gobin := t.TempDir()
	cmd := exec.Command("go", "install", "./cmd/...")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "GOBIN="+gobin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go install: %v\n%s", err, out)
	}
	host := filepath.Join(gobin, "edgewatch")
	out := mustRun(t, nil, host, "plugins")
	// edgewatch-gen and edgewatch-bench-cluster are installed too, and are
	// not taken for plugins.
	if n := strings.Count(strings.TrimSpace(out), "\n"); n != 1 {
		t.Errorf("plugins lists %d rows:\n%s", n, out)
	}
	row := pluginRow(t, out)
	if len(row) != 9 || row[6] != "-" || row[7] != filepath.Join(gobin, "edgewatch-defender-ti") || row[8] != "ok" {
		t.Errorf("plugins row %v", row)
	}
	if v := mustRun(t, nil, host, "version"); !strings.HasPrefix(v, "edgewatch ") || !strings.Contains(v, "plugin sha256:   none compiled in") {
		t.Errorf("version:\n%s", v)
	}
	demo(t, host, "../testdata/sample")
}

// TestInstallDeb installs the .deb with dpkg, checks the service user, the
// configuration's owner and mode, and that the installed edgewatch finds and
// verifies the plugin in /usr/lib/edgewatch/plugins with no flags; then
// `dpkg -r` must leave nothing but the (changed) configuration and `dpkg -P`
// nothing at all. It changes the machine, so it runs only when required
// (CI=true or EDGEWATCH_REQUIRE_PACKAGE_INSTALL=1), as root, and refuses a
// machine where edgewatch is already installed.
func TestInstallDeb(t *testing.T) {
	testenv.Require(t, testenv.PackageInstall)
	for _, tool := range []string{"dpkg", "dpkg-query", "getent"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is required: %v", tool, err)
		}
	}
	if code, out, _ := run(t, nil, "dpkg-query", "-W", "-f", "${Status}", "edgewatch"); code == 0 && !strings.Contains(out, "not-installed") {
		t.Fatalf("edgewatch is already known to dpkg here (%s): the install test would replace it", out)
	}
	if code, _, _ := run(t, nil, "getent", "passwd", "edgewatch"); code == 0 {
		t.Fatal("a user edgewatch exists without the package: the purge would delete it")
	}
	deb := artefacts(t)[FormatDeb]
	t.Cleanup(func() { _, _, _ = run(t, nil, "dpkg", "--purge", "edgewatch") })

	out := mustRun(t, nil, "dpkg", "--install", deb)
	if !strings.Contains(out, "systemctl enable --now edgewatch") {
		t.Errorf("dpkg -i output lacks the post-install hint:\n%s", out)
	}
	passwd := strings.Split(strings.TrimSpace(mustRun(t, nil, "getent", "passwd", "edgewatch")), ":")
	if len(passwd) != 7 || passwd[5] != "/var/lib/edgewatch" || passwd[6] != "/usr/sbin/nologin" {
		t.Errorf("user edgewatch: %v", passwd)
	}
	group := strings.Split(strings.TrimSpace(mustRun(t, nil, "getent", "group", "edgewatch")), ":")
	stat := strings.TrimSpace(mustRun(t, nil, "stat", "-c", "%a %U %G", "/etc/edgewatch/edgewatch.yaml", "/etc/edgewatch"))
	if stat != "640 root edgewatch\n750 root edgewatch" || len(group) < 3 || group[2] != passwd[3] {
		t.Errorf("configuration: %q, group %v", stat, group)
	}
	sum, err := plugin.FileSHA256("/usr/lib/edgewatch/plugins/edgewatch-defender-ti")
	if err != nil {
		t.Fatal(err)
	}
	if v := mustRun(t, nil, "/usr/bin/edgewatch", "version"); !strings.Contains(v, "edgewatch-defender-ti "+sum) {
		t.Errorf("installed version:\n%s", v)
	}
	out = mustRun(t, nil, "/usr/bin/edgewatch", "plugins")
	checkPluginRow(t, pluginRow(t, out), "/usr/lib/edgewatch/plugins/edgewatch-defender-ti", "verified")
	demo(t, "/usr/bin/edgewatch", "/usr/share/edgewatch/sample")

	// Enable the unit (systemctl works on the files without a running
	// systemd): removal must not leave the enablement link behind.
	wants := "/etc/systemd/system/multi-user.target.wants/edgewatch.service"
	if _, err := exec.LookPath("systemctl"); err == nil {
		mustRun(t, nil, "systemctl", "enable", "edgewatch.service")
		if _, err := os.Lstat(wants); err != nil {
			t.Errorf("systemctl enable made no link: %v", err)
		}
	}
	// An operator's change to the configuration.
	cfg, err := os.OpenFile("/etc/edgewatch/edgewatch.yaml", os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(cfg, "# changed by the operator")
	cfg.Close()

	listed := strings.Fields(mustRun(t, nil, "dpkg-query", "-L", "edgewatch"))
	var files []string
	for _, p := range listed {
		if fi, err := os.Lstat(p); err == nil && !fi.IsDir() {
			files = append(files, p)
		}
	}
	if len(files) < 20 {
		t.Fatalf("dpkg -L lists %d files:\n%v", len(files), listed)
	}

	mustRun(t, nil, "dpkg", "--remove", "edgewatch")
	for _, p := range append(files, "/usr/lib/edgewatch", "/usr/share/edgewatch", "/usr/share/doc/edgewatch", wants) {
		_, err := os.Lstat(p)
		if p == "/etc/edgewatch/edgewatch.yaml" {
			if err != nil {
				t.Errorf("dpkg -r removed the configuration: %v", err)
			} else if b, _ := os.ReadFile(p); !bytes.Contains(b, []byte("# changed by the operator")) {
				t.Error("dpkg -r replaced the changed configuration")
			}
			continue
		}
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("after dpkg -r, %s is still there (%v)", p, err)
		}
	}
	if status := mustRun(t, nil, "dpkg-query", "-W", "-f", "${Status}", "edgewatch"); status != "deinstall ok config-files" {
		t.Errorf("status after dpkg -r: %q", status)
	}

	mustRun(t, nil, "dpkg", "--purge", "edgewatch")
	for _, p := range []string{"/etc/edgewatch", "/var/lib/edgewatch"} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("after dpkg -P, %s is still there (%v)", p, err)
		}
	}
	for _, db := range []string{"passwd", "group"} {
		if code, out, _ := run(t, nil, "getent", db, "edgewatch"); code == 0 {
			t.Errorf("after dpkg -P, %s still has edgewatch: %s", db, out)
		}
	}
	if code, out, _ := run(t, nil, "dpkg-query", "-W", "-f", "${Status}", "edgewatch"); code == 0 && !strings.Contains(out, "not-installed") {
		t.Errorf("after dpkg -P dpkg still knows edgewatch: %q", out)
	}
}
