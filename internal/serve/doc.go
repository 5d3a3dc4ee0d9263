// Package serve is the host side of `edgewatch serve`: the long-running
// process that runs each configured detection on its interval, answers the
// webhook a Watcher or an OpenSearch Alerting monitor calls, exposes
// /healthz and Prometheus /metrics, reloads its configuration on SIGHUP, and
// keeps a detector plugin process alive (restarting it with exponential
// backoff when it crashes).
//
// It does no data work: every run is one typed call of the plugin's
// wire.OpRunIncremental (behind the Runner interface; the Supervisor is the
// plugin.Admin plugin.Call goes through), every feed refresh one
// wire.OpFeedRefresh, and the checkpoints, leases and windows live
// plugin-side (cmd/edgewatch-defender-ti/internal/incremental). It reads
// and writes wire types only; cmd/edgewatch's go list test keeps
// correlation/ and connectors/ out of the host.
package serve
