// Package plugin is the contract between the edgewatch host (cmd/edgewatch)
// and its detector plugins (cmd/edgewatch-defender-ti): the go-plugin
// handshake, the Go interfaces a plugin implements ([Detector] and the opt-in
// [Admin]), the gRPC adapters that carry them over the frozen, versioned
// protocol in internal/proto, the plugin-side [Serve] and the host-side
// [Launch] and [Discover], and the typed admin operations: [Call] on the
// host, a [Mux] filled by [Handle] in the plugin, over the operation
// descriptors of package wire.
//
// Who uses what:
//   - a plugin binary implements [Detector] (and optionally [Admin], usually
//     a [Mux]) and calls [Serve] from main;
//   - the host calls [Discover] to find plugins, [Launch] to start one, then
//     talks to the returned [*Client], and runs operations with [Call].
//
// Protobuf types never appear in this package's exported API: settings,
// summaries, operation arguments and results (all package wire types) and
// alert documents cross the boundary as JSON, progress and the display
// columns of alerts as small Go structs.
//
// This package must stay free of correlation/ and connectors/: the host
// imports it, and the host does no data work.
package plugin
