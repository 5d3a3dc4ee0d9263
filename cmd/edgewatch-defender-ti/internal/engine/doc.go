// Package engine runs one detection window: indicators, facing set, events,
// correlation, write. It is what the detector plugin process executes, over
// a Backend: files (the default) or a cluster, wired once by Connect and
// ClusterBackend for `edgewatch run` and every incremental operation alike.
// It reads wire.Settings and answers a wire.Summary; under
// cmd/edgewatch-defender-ti/internal, the host cannot import it.
package engine
