// Package faults holds what the fault tests and the fault soak share, for
// a real multi-node OpenSearch cluster on 127.0.0.1 (scripts/cluster.sh
// start opensearch --nodes 3):
//
//   - [Nodes] stops (SIGTERM or SIGKILL) and restarts one node through
//     scripts/cluster.sh, and maps node names to the script's numbers;
//   - [Hook] is a cluster.Doer that injects a fault at an exact point of a
//     request sequence (after the first page of a point-in-time read, after
//     the first bulk chunk), so that no sleep decides what a test sees;
//   - [Dataset] writes a generated Defender dataset (internal/gen) to NDJSON
//     files and indexes the same rows, with ids, into a cluster;
//   - [Reference] is a file-mode run over those files: the alerts a run over
//     the cluster must end up with;
//   - [AlertCounts] is the one reader of the alert indices: it counts the
//     alert documents per finding id across edgewatch-alerts-* (whatever
//     the layout: one index, per-detection rollover aliases), and [Compare]
//     turns the counts and the reference into lost / duplicate / extra.
//
// nodeloss_test.go stops a data node in the middle of a point-in-time read
// and of a bulk write (`make test-faults`); the soak (internal/soak,
// `make soak`) drives edgewatch serve through random faults.
package faults
