// Package connectors defines how edgewatch reads Defender data and writes
// alerts, independent of where they live. Implementations live in the
// subpackages: file (the embedded default, NDJSON/JSON/CSV/gzip files),
// opensearch (opensearch-go v4) and elasticsearch (go-elasticsearch v8).
//
// Every implementation passes the same conformance suite
// (connectors/conformance). Filters are pushed down as far as the store
// allows; the engine still applies the exact match in correlation, so a
// connector may return a superset of candidates but never fewer.
package connectors
