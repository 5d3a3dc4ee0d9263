// Command edgewatch-defender-ti is edgewatch's detector plugin: the process
// that reads Defender data (files, OpenSearch, Elasticsearch), correlates it
// with threat intelligence and produces alerts. The edgewatch host starts it
// over go-plugin; run by hand it explains itself and exits 1.
package main

import (
	"github.com/edgewatch/edgewatch/internal/detector"
	"github.com/edgewatch/edgewatch/internal/gctune"
	"github.com/edgewatch/edgewatch/plugin"
)

func main() {
	gctune.Apply()
	plugin.Serve(detector.New(detector.WithOps(operations())))
}
