package plugin

import (
	"bytes"
	"debug/buildinfo"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// NamePrefix starts the file name of every edgewatch plugin executable
// ("edgewatch-defender-ti").
const NamePrefix = "edgewatch-"

// DefaultPlugin is the detector the host runs unless configured otherwise.
const DefaultPlugin = "edgewatch-defender-ti"

// Found is a plugin executable found by Discover.
type Found struct {
	Name string // file name, e.g. "edgewatch-defender-ti"
	Path string // absolute path
}

// Discover lists the plugin executables in dirs, in order: for a name found
// in several directories the first wins, so --plugin-dir overrides the
// plugins installed next to the host. self (the host executable) is never a
// plugin. A candidate is an executable regular file named edgewatch-* that
// holds the handshake cookie key (see mayBePlugin): other edgewatch-*
// programs (a data generator, say) are skipped without being run. Missing
// directories are skipped.
func Discover(dirs []string, self string) ([]Found, error) {
	seen := map[string]bool{}
	var selfInfo os.FileInfo
	if self != "" {
		selfInfo, _ = os.Stat(self)
	}
	var out []Found
	for _, dir := range dirs {
		if dir == "" {
			continue
		}
		entries, err := os.ReadDir(dir)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("plugin dir %s: %w", dir, err)
		}
		for _, e := range entries {
			name := e.Name()
			if !strings.HasPrefix(name, NamePrefix) || seen[name] || skipName(name) {
				continue
			}
			path, err := filepath.Abs(filepath.Join(dir, name))
			if err != nil {
				continue
			}
			fi, err := os.Stat(path)
			if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
				continue
			}
			if selfInfo != nil && os.SameFile(fi, selfInfo) {
				continue
			}
			if !mayBePlugin(path) {
				continue
			}
			seen[name] = true
			out = append(out, Found{Name: name, Path: path})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// skipName rejects files that share the prefix but are not executables we
// would start: checksums, archives, editor and build leftovers, test binaries.
func skipName(name string) bool {
	for _, suf := range []string{".sha256", ".sum", ".txt", ".md", ".json", ".yaml", ".yml", ".tmp", ".test", ".tar.gz", ".zip", ".sh", "~"} {
		if strings.HasSuffix(name, suf) {
			return true
		}
	}
	return strings.HasPrefix(name, ".")
}

// mayBePlugin tells plugins from other edgewatch-* programs without running
// them. A Go binary whose build information lists its dependencies must link
// github.com/hashicorp/go-plugin; any candidate must contain the handshake's
// MagicCookieKey, which every edgewatch plugin compares at start-up.
func mayBePlugin(path string) bool {
	if bi, err := buildinfo.ReadFile(path); err == nil && len(bi.Deps) > 0 {
		linked := false
		for _, d := range bi.Deps {
			if d.Path == "github.com/hashicorp/go-plugin" {
				linked = true
				break
			}
		}
		if !linked {
			return false
		}
	}
	return containsBytes(path, []byte(MagicCookieKey))
}

// containsBytes reports whether the file holds needle, reading it in chunks.
func containsBytes(path string, needle []byte) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	buf := make([]byte, 1<<20+len(needle))
	carry := 0
	for {
		n, err := f.Read(buf[carry:])
		if n > 0 {
			if bytes.Contains(buf[:carry+n], needle) {
				return true
			}
			// Keep the tail in case the needle straddles two reads.
			keep := min(len(needle)-1, carry+n)
			copy(buf, buf[carry+n-keep:carry+n])
			carry = keep
		}
		if err != nil {
			return false
		}
	}
}

// Find returns the plugin called name: the first dirs/name that is an
// executable file. A name containing a path separator is taken as a path.
// Unlike Discover it does not inspect the file: naming a plugin is explicit.
func Find(name string, dirs []string, self string) (string, error) {
	if strings.ContainsRune(name, os.PathSeparator) {
		if err := checkExecutable(name); err != nil {
			return "", err
		}
		return name, nil
	}
	var searched []string
	for _, d := range dirs {
		if d == "" {
			continue
		}
		searched = append(searched, d)
		p := filepath.Join(d, name)
		if checkExecutable(p) == nil {
			return filepath.Abs(p)
		}
	}
	return "", fmt.Errorf("%w: %s (searched %s; build it with `go build -o bin/ ./cmd/...` or pass --plugin-dir)",
		ErrPluginNotFound, name, strings.Join(searched, ", "))
}

// SystemDir is where the packages install plugins (the host binary is
// /usr/bin/edgewatch). A distribution that uses another layout sets it
// with -ldflags "-X github.com/edgewatch/edgewatch/plugin.SystemDir=DIR".
var SystemDir = "/usr/lib/edgewatch/plugins"

// SearchDirs is the plugin search path: the configured directories first,
// then the directory of the host executable (a tarball, a `go install`
// into $GOBIN, bin/ of a checkout), then SystemDir.
func SearchDirs(configured []string, self string) []string {
	dirs := append([]string(nil), configured...)
	if self != "" {
		dirs = append(dirs, filepath.Dir(self))
	}
	if SystemDir != "" {
		dirs = append(dirs, SystemDir)
	}
	return dirs
}
