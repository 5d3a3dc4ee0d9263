// Package benchcluster measures edgewatch's cluster read path against the
// store's own floor and a naive baseline, on a generated dataset loaded into
// a running OpenSearch (or Elasticsearch).
//
// It is plugin-side (it measures the plugin's read path, with the plugin's
// GC settings); the edgewatch-bench-cluster command beside the plugin's
// main runs it.
//
// One Run loads (or reuses) a dataset made by internal/gen into two indices
// named <IndexPrefix>-* (default bench-*), then times, alternating, as many
// rounds as asked:
//
//   - edgewatch: the facing step (the latest DeviceInfo row per device and
//     port, read on the cluster), the event step with its pushed-down filter
//     (strategy picked from measured counts) and the correlation matcher over
//     the candidates;
//   - floor: one _count whose query is the same final filter written the
//     plain way (cluster.Source.FloorQuery): the least any client can ask the
//     store to do to know the result;
//   - naive: every DeviceInfo row with facing data streamed and folded in Go,
//     then every inbound event of the window streamed and matched in Go.
//
// It checks that edgewatch and the naive baseline find the same facing set
// and the same events, and reports medians, ratios, the peak RSS of the
// detection phase and the CPU time of an edgewatch round on each side (this
// process, and a cluster node running on the same machine, read from /proc)
// against the floor's: on a small machine that runs both, a round is bound
// by the two together. The indices are deleted at the end unless Keep is
// set (a later run with the same dataset then reuses them).
package benchcluster
