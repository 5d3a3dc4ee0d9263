// Command opsplugin is the detector plugin with the incremental operations
// registered, as cmd/edgewatch-defender-ti has them: pluginops' end to end
// tests start it through the host's supervisor and kill it mid-run.
package main

import (
	"github.com/edgewatch/edgewatch/internal/detector"
	"github.com/edgewatch/edgewatch/internal/incremental/pluginops"
	"github.com/edgewatch/edgewatch/plugin"
)

func main() {
	m := &plugin.Mux{}
	pluginops.Register(m, pluginops.Deps{})
	plugin.Serve(detector.New(detector.WithOps(m)))
}
