// Package conformance is the one test suite every connectors.Source
// implementation passes: the file connector, and the cluster source against
// real OpenSearch and Elasticsearch servers in each field profile.
//
// A Dataset holds logical Defender rows in Advanced Hunting column names. A
// Harness loads it into one implementation (NDJSON files for the file
// connector; documents in a profile's shape, indexed with refresh=true, for a
// cluster) and returns a Source over it. Run then checks what every
// implementation must agree on, against expectations written by hand for
// the Standard dataset: the facing set (latest row per device and port,
// heartbeats ignored), the event window at 100 ns precision, IPv4-mapped
// remotes, ports written as strings, rows that cannot be decoded counted
// with their location, and that a pushed-down read never loses a true match
// compared with an unfiltered read put through the correlation matcher.
package conformance
