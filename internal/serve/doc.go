// Package serve is the host side of `edgewatch serve`: the long-running
// process that runs each configured detection on its interval, answers the
// webhook a Watcher or an OpenSearch Alerting monitor calls, exposes
// /healthz and Prometheus /metrics, reloads its configuration on SIGHUP, and
// keeps a detector plugin process alive (restarting it with exponential
// backoff when it crashes).
//
// Per detection it keeps two workers: one for incremental runs (scheduled,
// webhook-triggered, coalesced while one is queued or running) and one for
// backfills (a webhook's explicit window, at most max_backfill long), so
// that a long backfill never holds the schedule back. It also keeps the one
// record of the detection's state that /healthz and /metrics both read:
// the checkpoint the last incremental run reported (lag = now − checkpoint,
// computed when asked), the time of the last external trigger, and the
// backfills and retro-hunts in progress.
//
// It does no data work: every run is one typed call of the plugin's
// wire.OpRunIncremental (behind the Runner interface; the Supervisor is the
// plugin.Admin plugin.Call goes through), every feed refresh one
// wire.OpFeedRefresh, and the checkpoints, leases and windows live
// plugin-side (cmd/edgewatch-defender-ti/internal/incremental). It reads
// and writes wire types only; cmd/edgewatch's go list test keeps
// correlation/ and connectors/ out of the host.
package serve
