// Command opsplugin is the detector plugin with admin's operations
// registered, as cmd/edgewatch-defender-ti has them: admin's end to end
// tests start it through the host's supervisor and kill it mid-run.
package main

import (
	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/admin"
	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/detector"
	"github.com/edgewatch/edgewatch/plugin"
)

func main() {
	m := &plugin.Mux{}
	admin.Register(m, admin.Deps{})
	plugin.Serve(detector.New(detector.WithOps(m)))
}
