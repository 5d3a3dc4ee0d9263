// Package detector is the plugin-side adapter from the detection engine
// (internal/engine) to the plugin contract: it implements plugin.Detector
// (Describe, Validate, Run) by decoding the wire.Settings the host sends,
// running the engine and turning its progress and alert batches into stream
// messages, and plugin.Admin by serving the operations of the plugin.Mux it
// was given (WithOps). Operations are registered where they are
// implemented, typed: plugin.Handle(m, wire.OpFeedLoad, handler).
package detector
