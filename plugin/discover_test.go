package plugin

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDiscover(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	write := func(dir, name string, mode os.FileMode, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	link := func(dir, name string) string {
		p := filepath.Join(dir, name)
		if err := os.Symlink(self(t), p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	link(dir, "edgewatch-fake")                                                // a Go binary linking go-plugin
	write(dir, "edgewatch-script", 0o755, "#!/bin/sh\n# "+MagicCookieKey+"\n") // not Go, checks the cookie: a candidate
	write(dir, "edgewatch-tool", 0o755, "#!/bin/sh\nexit 1\n")                 // not Go, no cookie: not a plugin
	write(dir, "edgewatch-fake.sha256", 0o755, "abc")                          // checksum file
	write(dir, "edgewatch-noexec", 0o644, "#!/bin/sh\n")                       // not executable
	write(dir, "other-tool", 0o755, "#!/bin/sh\n")                             // wrong prefix
	host := write(dir, "edgewatch", 0o755, "#!/bin/sh\n")                      // the host itself
	if err := os.Mkdir(filepath.Join(dir, "edgewatch-dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A Go program that does not link go-plugin (a data generator, say) is
	// skipped without being run.
	gen := filepath.Join(t.TempDir(), "main.go")
	write(filepath.Dir(gen), "main.go", 0o644, "package main\nfunc main() {}\n")
	write(filepath.Dir(gen), "go.mod", 0o644, "module gen\ngo 1.22\n")
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "edgewatch-gen"), ".")
	build.Dir = filepath.Dir(gen)
	build.Env = append(os.Environ(), "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// A plugin of the same name in an earlier directory wins.
	override := link(other, "edgewatch-fake")

	got, err := Discover([]string{other, filepath.Join(dir, "missing"), dir}, host)
	if err != nil {
		t.Fatal(err)
	}
	abs := func(p string) string { a, _ := filepath.Abs(p); return a }
	want := []Found{
		{Name: "edgewatch-fake", Path: abs(override)},
		{Name: "edgewatch-script", Path: abs(filepath.Join(dir, "edgewatch-script"))},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Discover (-want +got):\n%s", diff)
	}

	path, err := Find("edgewatch-script", []string{dir}, host)
	if err != nil || path != want[1].Path {
		t.Errorf("Find: %q, %v", path, err)
	}
	_, err = Find("edgewatch-defender-ti", []string{dir}, host)
	if !errors.Is(err, ErrPluginNotFound) || !strings.Contains(err.Error(), dir) {
		t.Errorf("Find missing: %v, want ErrPluginNotFound naming the searched dir", err)
	}
	if _, err := Find(filepath.Join(dir, "edgewatch-noexec"), nil, ""); !errors.Is(err, ErrPluginNotFound) {
		t.Errorf("Find by path of a non-executable: %v", err)
	}
}

func TestSearchDirs(t *testing.T) {
	t.Parallel()
	got := SearchDirs([]string{"/opt/p"}, "/usr/local/bin/edgewatch")
	if diff := cmp.Diff([]string{"/opt/p", "/usr/local/bin", "/usr/lib/edgewatch/plugins"}, got); diff != "" {
		t.Error(diff)
	}
}

func TestPluginEnv(t *testing.T) {
	t.Parallel()
	in := []string{"PATH=/bin", "EDGEWATCH_PASSWORD=x", "EDGEWATCH_API_KEY=y", "AWS_SECRET_ACCESS_KEY=z",
		"GITHUB_TOKEN=t", "db_password=p", MagicCookieKey + "=c", "PLUGIN_PROTOCOL_VERSIONS=1", "HOME=/root", "TZ=UTC"}
	want := []string{"PATH=/bin", "HOME=/root", "TZ=UTC"}
	if diff := cmp.Diff(want, pluginEnv(in)); diff != "" {
		t.Errorf("pluginEnv (-want +got):\n%s", diff)
	}
}

func TestParseSHA256(t *testing.T) {
	t.Parallel()
	if _, err := ParseSHA256(strings.Repeat("ab", 32)); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"", "abc", strings.Repeat("zz", 32), strings.Repeat("ab", 31)} {
		if _, err := ParseSHA256(bad); err == nil {
			t.Errorf("ParseSHA256(%q) accepted", bad)
		}
	}
}
