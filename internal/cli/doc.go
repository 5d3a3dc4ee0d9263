// Package cli is the edgewatch host command line (cmd/edgewatch): flags and
// config file, plugin discovery and launch, output files, progress, the run
// summary and the HTML report. Each admin command fills the typed arguments
// of its plugin operation (package plugin/wire) and calls it with
// plugin.Call; `report --alerts FILE` and the rendering of every report
// happen here, and `feed load --file -` reads stdin here and sends the feed
// in the arguments.
//
// It does no data work: everything that reads Defender data or feeds
// happens in the plugin process, so this package (and everything it
// imports) must never depend on correlation/ or connectors/; the plugin's
// own packages sit under cmd/edgewatch-defender-ti/internal, out of its
// reach.
package cli
