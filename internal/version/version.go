package version

import (
	"runtime/debug"
	"slices"
	"strings"
)

// Set at link time, e.g.
//
//	-X github.com/edgewatch/edgewatch/internal/version.version=v1.2.3
//	-X github.com/edgewatch/edgewatch/internal/version.commit=<sha>
//	-X github.com/edgewatch/edgewatch/internal/version.date=2025-01-02T03:04:05Z
//	-X github.com/edgewatch/edgewatch/internal/version.pluginSHA256=edgewatch-defender-ti=<hex>
var (
	version      string
	commit       string
	date         string
	pluginSHA256 string
)

// Package is the import path the -X flags name.
const Package = "github.com/edgewatch/edgewatch/internal/version"

// Dev is the version of a build that carries none.
const Dev = "0.0.0-dev"

// Info is one executable's build identity. Empty fields are unknown.
type Info struct {
	Version string
	Commit  string
	Date    string
}

// Get returns this executable's build identity: the stamped values, else
// what the Go toolchain recorded (the module version of `go install
// …@v1.2.3`, the VCS revision and time of a build inside a checkout), else
// Dev.
func Get() Info {
	i := Info{Version: version, Commit: commit, Date: date}
	if bi, ok := debug.ReadBuildInfo(); ok {
		i = i.fill(bi)
	}
	if i.Version == "" {
		i.Version = Dev
	}
	return i
}

// fill completes the fields that were not stamped from the build info.
func (i Info) fill(bi *debug.BuildInfo) Info {
	if i.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		i.Version = bi.Main.Version
	}
	var rev, when string
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if i.Commit == "" && rev != "" {
		i.Commit = rev
		if dirty {
			i.Commit += "-dirty"
		}
	}
	if i.Date == "" {
		i.Date = when
	}
	return i
}

// String is the one-line form the plugin reports as its version in
// Describe and `edgewatch version` prints: "v1.2.3 (commit 0123abc, built
// 2025-01-02T03:04:05Z)", the parenthesis omitted when both are unknown.
// Parse reads it back.
func (i Info) String() string {
	var extra []string
	if i.Commit != "" {
		extra = append(extra, "commit "+i.Commit)
	}
	if i.Date != "" {
		extra = append(extra, "built "+i.Date)
	}
	if len(extra) == 0 {
		return i.Version
	}
	return i.Version + " (" + strings.Join(extra, ", ") + ")"
}

// Parse reads the String form; a plain version (a plugin that reports
// only that) gives an Info with Commit and Date empty.
func Parse(s string) Info {
	s = strings.TrimSpace(s)
	v, rest, ok := strings.Cut(s, " (")
	if !ok || !strings.HasSuffix(rest, ")") {
		return Info{Version: s}
	}
	i := Info{Version: v}
	for _, part := range strings.Split(strings.TrimSuffix(rest, ")"), ", ") {
		switch k, val, _ := strings.Cut(part, " "); k {
		case "commit":
			i.Commit = val
		case "built":
			i.Date = val
		default:
			return Info{Version: s}
		}
	}
	return i
}

// PluginSHA256 is the hex SHA-256 of the plugin called name recorded when
// this executable was built (packaging stamps the host with the checksum
// of the plugin it ships beside it), or "" when none was recorded.
func PluginSHA256(name string) string {
	for _, e := range strings.Split(pluginSHA256, ",") {
		if n, sum, ok := strings.Cut(strings.TrimSpace(e), "="); ok && n == name {
			return sum
		}
	}
	return ""
}

// LinkFlags are the -ldflags -X arguments that stamp i and the plugin
// checksums (name → hex) into an executable that imports this package.
func LinkFlags(i Info, pluginSums map[string]string) []string {
	var out []string
	add := func(name, v string) {
		if v != "" {
			out = append(out, "-X", Package+"."+name+"="+v)
		}
	}
	add("version", i.Version)
	add("commit", i.Commit)
	add("date", i.Date)
	var sums []string
	for n, s := range pluginSums {
		sums = append(sums, n+"="+s)
	}
	slices.Sort(sums)
	add("pluginSHA256", strings.Join(sums, ","))
	return out
}
