// Package serve is the host side of `edgewatch serve`: the long-running
// process that runs each configured detection on its interval, answers the
// webhook a Watcher or an OpenSearch Alerting monitor calls, exposes
// /healthz and Prometheus /metrics, reloads its configuration on SIGHUP, and
// keeps a detector plugin process alive (restarting it with exponential
// backoff when it crashes).
//
// It does no data work: every run is one call of the plugin's
// "detection.run_incremental" operation (behind the Runner interface), and
// the checkpoints, leases and windows live plugin-side in
// internal/incremental. This package must not import correlation/ or
// connectors/ (a test checks `go list -deps`).
package serve
