// Package ops implements the detector plugin's Admin operations behind
// `edgewatch feed load|status`, `install`, `uninstall`, `report` and
// `status`. The host (cmd/edgewatch, internal/cli) marshals its flags into
// the args JSON; these functions decode them, talk to the cluster through
// connectors/cluster and answer with JSON:
//
//	feed.load    parse a feed file, load it into edgewatch-indicators-<name>
//	             (fresh index + atomic alias swap; a failed load leaves the live
//	             feed as it was), answer counts and the parse report
//	feed.status  the live index of one or every feed: size per level, age
//	install      index templates + state and alert indices, alert retention
//	             policy (ISM / ILM), saved objects into Dashboards / Kibana,
//	             schedule triggers (Watcher / Alerting); each step reported as
//	             ok, already-present, updated, skipped (reason) or failed
//	             (the server's reason); --dry-run changes nothing
//	uninstall    removes what install put, nothing else; alert, indicator and
//	             state data only with delete_data
//	report       the self-contained HTML report (internal/report) from the
//	             alert index, run records and feed status, or from an alerts
//	             NDJSON file without any cluster
//	status       feeds and per-detection checkpoint / last run
//
// A step that fails does not stop install or uninstall: every step is
// reported and the answer carries the number of failed steps, which the host
// turns into a non-zero exit. Errors are for operations that could not start
// (bad arguments, no cluster).
//
// It lives on the plugin side: it imports the engine and the connectors.
package ops
