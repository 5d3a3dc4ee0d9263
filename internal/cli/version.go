package cli

import (
	"fmt"
	"io"
	"runtime"

	"github.com/edgewatch/edgewatch/internal/version"
	"github.com/edgewatch/edgewatch/plugin"
)

// printVersion writes `edgewatch version`: the release version, commit and
// build date, the plugin protocol, the Go toolchain and platform, and the
// plugin checksum compiled in by packaging (if any).
func printVersion(w io.Writer, v version.Info, pluginName string) {
	unknown := func(s string) string {
		if s == "" {
			return "unknown"
		}
		return s
	}
	fmt.Fprintf(w, "edgewatch %s\n", v.Version)
	fmt.Fprintf(w, "  commit:          %s\n", unknown(v.Commit))
	fmt.Fprintf(w, "  built:           %s\n", unknown(v.Date))
	fmt.Fprintf(w, "  plugin protocol: %d\n", plugin.ProtocolVersion)
	fmt.Fprintf(w, "  go:              %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if sum := version.PluginSHA256(pluginName); sum != "" {
		fmt.Fprintf(w, "  plugin sha256:   %s %s (compiled in: verified before the plugin starts)\n", pluginName, sum)
	} else {
		fmt.Fprintf(w, "  plugin sha256:   none compiled in (--plugin-sha256 or plugin_sha256 in the config to verify)\n")
	}
}
