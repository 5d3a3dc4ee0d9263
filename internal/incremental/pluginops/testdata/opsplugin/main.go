// Command opsplugin is the detector plugin with the incremental operations
// registered, as cmd/edgewatch-defender-ti will have them: pluginops' end
// to end tests start it through the host's supervisor and kill it mid-run.
package main

import (
	"github.com/edgewatch/edgewatch/internal/detector"
	"github.com/edgewatch/edgewatch/internal/incremental/pluginops"
	"github.com/edgewatch/edgewatch/plugin"
)

func main() {
	reg := detector.NewRegistry()
	for name, fn := range pluginops.Ops(pluginops.Deps{}) {
		reg.Register(name, fn)
	}
	plugin.Serve(detector.New(detector.WithOps(reg)))
}
