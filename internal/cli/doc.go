// Package cli is the edgewatch host command line (cmd/edgewatch): flags and
// config file, plugin discovery and launch, output files, progress and the
// run summary. It does no data work: everything that reads Defender data or
// feeds happens in the plugin process, so this package (and everything it
// imports) must never depend on correlation/ or connectors/ — a test runs
// `go list -deps ./cmd/edgewatch` to keep it that way.
package cli
