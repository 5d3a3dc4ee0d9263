// Package soak is the fault soak of issue 12 (`make soak`,
// bin/edgewatch-soak): for a bounded time it runs `edgewatch serve` (the
// built host and plugin) against a live multi-node OpenSearch cluster on
// 127.0.0.1 while a driver adds generated Defender events with timestamps
// near now, and at random — from a printed seed — kills the plugin (-9),
// kills the host (-9) and starts it again, stops or kills a cluster node
// and starts it again, and races a second serve instance over the same
// detection. Then it lets serve catch up, stops it, and compares the alert
// indices with a file-mode run over the same events (every event the
// driver indexed is also in an NDJSON file): lost, duplicate and extra
// alerts must all be 0.
//
// The schedule (fault kinds, gaps, nodes, signals) and the data come from
// the seed; process timing does not, so a seed reproduces what was tried,
// not every interleaving.
//
// The soak reads processes from /proc and relies on Pdeathsig: it builds
// on Linux only (the command reports that elsewhere).
package soak
