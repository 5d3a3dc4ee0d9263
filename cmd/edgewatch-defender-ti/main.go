// Command edgewatch-defender-ti is edgewatch's detector plugin: the process
// that reads Defender data (files, OpenSearch, Elasticsearch), correlates it
// with threat intelligence and produces alerts. The edgewatch host starts it
// over go-plugin; run by hand it explains itself and exits 1.
//
// Everything only the plugin runs lives under its internal/ directory, so
// that the host cannot import it: the engine, the contract adapter, the
// admin operations, the incremental runs, the stack management.
package main

import (
	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/admin"
	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/detector"
	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/gctune"
	"github.com/edgewatch/edgewatch/plugin"
)

func main() {
	gctune.Apply()
	plugin.Serve(detector.New(detector.WithOps(operations())))
}

// operations is the plugin's Admin: every operation of package admin.
func operations() *plugin.Mux {
	m := &plugin.Mux{}
	admin.Register(m, admin.Deps{})
	return m
}
