package version

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestStringParse(t *testing.T) {
	cases := map[string]struct {
		in   Info
		want string
	}{
		"all":          {Info{"v1.2.3", "0123abc", "2025-01-02T03:04:05Z"}, "v1.2.3 (commit 0123abc, built 2025-01-02T03:04:05Z)"},
		"version only": {Info{Version: "0.0.0-dev"}, "0.0.0-dev"},
		"no date":      {Info{"v1.2.3-4-g0123abc-dirty", "0123abc", ""}, "v1.2.3-4-g0123abc-dirty (commit 0123abc)"},
		"no commit":    {Info{"v1", "", "2025-01-02T03:04:05Z"}, "v1 (built 2025-01-02T03:04:05Z)"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			s := c.in.String()
			if s != c.want {
				t.Errorf("String() = %q, want %q", s, c.want)
			}
			if got := Parse(s); got != c.in {
				t.Errorf("Parse(%q) = %+v, want %+v", s, got, c.in)
			}
		})
	}
}

func TestParseForeign(t *testing.T) {
	for _, s := range []string{"v9.9.9-fake", "1.0 (beta)", "2.0 (commit a, flavour b)", ""} {
		if got := Parse(s); got != (Info{Version: s}) {
			t.Errorf("Parse(%q) = %+v, want the whole string as the version", s, got)
		}
	}
}

func TestFillFromBuildInfo(t *testing.T) {
	bi := &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.time", Value: "2025-01-01T00:00:00Z"}, {Key: "vcs.modified", Value: "true"},
	}}
	cases := map[string]struct {
		stamped, want Info
		bi            *debug.BuildInfo
	}{
		"go install module@version": {Info{}, Info{"v1.4.0", "abc-dirty", "2025-01-01T00:00:00Z"}, bi},
		"stamped wins":              {Info{"v2", "def", "2026-01-01T00:00:00Z"}, Info{"v2", "def", "2026-01-01T00:00:00Z"}, bi},
		"devel":                     {Info{}, Info{}, &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if got := c.stamped.fill(c.bi); got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestGetDefaults(t *testing.T) {
	// The test binary carries no stamp and no module version.
	if v := Get().Version; v == "" || strings.Contains(v, "(devel)") {
		t.Errorf("Get().Version = %q", v)
	}
}

func TestPluginSHA256(t *testing.T) {
	old := pluginSHA256
	t.Cleanup(func() { pluginSHA256 = old })
	pluginSHA256 = "edgewatch-a=aa, edgewatch-b=bb"
	for name, want := range map[string]string{"edgewatch-a": "aa", "edgewatch-b": "bb", "edgewatch-c": "", "": ""} {
		if got := PluginSHA256(name); got != want {
			t.Errorf("PluginSHA256(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestLinkFlags(t *testing.T) {
	got := strings.Join(LinkFlags(Info{Version: "v1", Commit: "c"}, map[string]string{"b": "2", "a": "1"}), " ")
	want := "-X " + Package + ".version=v1 -X " + Package + ".commit=c -X " + Package + ".pluginSHA256=a=1,b=2"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
