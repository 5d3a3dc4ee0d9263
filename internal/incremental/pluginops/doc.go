// Package pluginops wires internal/incremental into the detector plugin:
// the Admin operations the host's `edgewatch serve` (and `edgewatch
// status`) call, over the detection engine and the cluster state index.
//
//	detection.run_incremental  lease → plan from the checkpoint → run windows → commit each
//	detection.retro_hunt       re-scan the past with a given list of indicators only
//	detection.feed_refresh     load a feed file atomically, then retro-hunt what it added
//	detection.status           checkpoint, lag, last run, lease, last retro-hunt per detection
//
// A run that fails inside (a window error, a lost lease) is answered with
// its wire.Outcome and no error, so the host learns how far it got;
// errors are for calls that could not start (bad arguments, no cluster).
//
// It lives on the plugin side: it imports the engine and the connectors.
package pluginops
