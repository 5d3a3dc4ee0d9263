// Package alertstore is where a detection's alerts live in a cluster: a
// write alias per detection over rolled-over backing indices (alias.go),
// the alert writer that keeps the deterministic-id guarantee across them
// (writer.go), and the grouped alerts of a grouping detection, counted
// exactly from stored evidence (groups.go). It uses connectors/cluster's
// Client and BulkWriter and adds no transport of its own.
//
// # Rollover and the id guarantee
//
// Alerts are written through the alias edgewatch-alerts-<detection>
// (wire.AlertAlias) into <alias>-000001, -000002, …: ISM/ILM roll the alias
// over by age and size and delete only old backing indices. A bulk create
// dedupes only within the index it lands in, so before each batch the
// Writer looks its ids up across the whole alias (one `ids` search without
// _source) and creates only the ids no backing index holds; the write index
// answers 409 for the rest of the duplicates by itself. A search sees what
// the last refresh published, so the Writer refreshes the alias once per
// run before its first lookup: every alert written by an earlier run, in
// any backing index, is then found. What this leaves open is two runs
// writing the same event at the same time while the alias rolls over
// between their writes (one creates it in the old write index, the other,
// whose lookup ran before that create was refreshed, in the new one); the
// incremental runs' lease keeps two instances off the same window, so only
// two hand-started runs over the same events could meet it.
//
// # Grouped alerts: exact counts without scripts
//
// A grouping detection stores every per-event finding as evidence in the
// findings alias (edgewatch-findings-<detection>, same rollover and id
// guarantee), each carrying edgewatch.group_id. Its grouped alerts are
// never incremented: each touched group's alert is recomputed from all of
// its evidence and written conditionally. For each batch of touched groups
// the GroupStore
//
//  1. reads each group's alert: the backing index it lives in and its
//     _seq_no/_primary_term (a search by id over the alert alias; after a
//     lost race, a real-time _mget from that index);
//  2. then refreshes the findings alias and aggregates the evidence of the
//     batch (terms on edgewatch.group_id restricted to the batch: doc_count
//     and max event.severity; then, for the groups whose alert differs,
//     the first and last events by @timestamp — date_nanos in the findings
//     template — then finding id, and the first event's finding);
//  3. writes each changed group's alert with if_seq_no/if_primary_term into
//     the index where it lives, or with create through the alias when it
//     has none; a 409 (another writer got there first) sends the group back
//     to step 1.
//
// Why the last successful write of a group is complete: let L be the last
// writer whose write of group G succeeded, conditioned on version v (for a
// create, on G having no alert). Take any evidence E of G, stored and
// acknowledged by a run R before R read G's version (every run stores its
// evidence before it flushes its groups). If E was acknowledged before L's
// refresh, L's aggregation counted it. If not, R read G's version after L's
// refresh, hence after L read v; R then kept retrying until its own write of
// G succeeded (or R failed, and its evidence is recounted by the next run
// touching G). R's successful write cannot come before L's: it would have
// replaced v between L's read and L's write, and L's conditional write would
// have failed. So it comes after, and L is not the last writer — a
// contradiction. Reading the version before aggregating is the whole trick:
// aggregating first would let a writer publish counts older than a version
// it never saw. A writer whose aggregation equals the summary of the
// version it read (count and severity) writes nothing: evidence is only
// ever added (by finding id), so a version counting as many events as the
// current evidence counted the same events, this writer's included, and
// has the same first and last events. Reruns and overlapping windows add no evidence (the
// finding ids exist) and find every summary equal, so they write nothing.
// Retention deleting old findings before the grouped alerts they count is
// the one way a recount can shrink; both share the retention policy.
//
// Cost: a batch of up to GroupBatch groups is a search (versions), a
// refresh and a counting aggregation; when some groups changed, a second
// aggregation (top_hits without _source), a search for their first
// events' findings and one bulk request; plus one more round per contended
// write. A rerun stops after the counting aggregation.
package alertstore
