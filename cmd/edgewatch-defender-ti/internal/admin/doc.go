// Package admin is the detector plugin's Admin: one typed handler per
// operation of package plugin/wire, registered on a plugin.Mux by Register.
// The host (internal/cli, internal/serve) fills the operation's arguments
// and calls it with plugin.Call.
//
//	feed.load                  parse a feed (a file, or the content the host sent), load it
//	                           into the lookup index (fresh index + atomic alias swap; a failed
//	                           load leaves the live feed as it was), answer counts and the
//	                           parse report
//	feed.status                the live index of one or every feed: size per level, age
//	install                    index templates + state and alert indices, alert retention
//	                           policy (ISM / ILM), saved objects into Dashboards / Kibana,
//	                           schedule triggers (Watcher / Alerting); each step reported as
//	                           ok, already-present, updated, skipped (reason) or failed
//	                           (the server's reason); dry_run changes nothing
//	uninstall                  removes what install put, nothing else; alert, indicator and
//	                           state data only with delete_data
//	report                     streams the newest alert documents and answers run records,
//	                           the live feed and counts; the host renders the page
//	status                     feeds and per-detection checkpoint / last run
//	detection.run_incremental  lease → plan from the checkpoint → run windows → commit each
//	detection.retro_hunt       re-scan the past with a given list of indicators only
//	detection.feed_refresh     load a feed file atomically, then retro-hunt what it added
//	detection.status           checkpoint, lag, last run, lease, last retro-hunt per detection
//
// A step that fails does not stop install or uninstall: every step is
// reported and the answer carries the number of failed steps, which the host
// turns into a non-zero exit. A detection run that fails inside (a window
// error, a lost lease) is answered with its wire.Outcome and no error, so
// the host learns how far it got. Errors are for operations that could not
// start (bad arguments, no cluster).
package admin
