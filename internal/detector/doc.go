// Package detector is the plugin-side adapter from the detection engine
// (internal/engine) to the plugin contract (plugin.Detector and
// plugin.Admin). It decodes the settings JSON the host sends, runs the
// engine, and turns its progress and alert batches into stream messages.
//
// It also keeps the registry of Admin operations. A package that offers an
// operation registers it, usually from cmd/edgewatch-defender-ti:
//
//	detector.RegisterOp("feed.load", func(ctx context.Context, args json.RawMessage,
//		secrets map[string]string, progress func(wire.Progress)) (json.RawMessage, error) {
//		...
//	})
//
// The host builds args as one JSON object: the op's own flags at the top
// level (e.g. "file", "min_level", "name", "out") and the run settings under
// "settings" (source, cluster, feeds: the same document Run receives); any
// --set key=value pairs are merged in at the top level (value parsed as JSON
// when it is valid JSON, else kept as a string). Decode it with OpArgs
// embedded in your own struct.
// Secrets ("password", "api_key") arrive separately, never in args.
package detector
