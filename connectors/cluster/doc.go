// Package cluster holds the store-neutral logic edgewatch runs against
// OpenSearch and Elasticsearch: field profiles, pushed-down queries (the
// facing step's latest row per device and port, the event step's filter),
// PIT + search_after streaming, bulk writes, the indicator lookup index and
// the state index. It talks to a cluster through Doer, a one-method interface
// that connectors/opensearch (opensearch-go v4) and connectors/elasticsearch
// (go-elasticsearch v8) implement over the official clients, so one code path
// is proven against both servers by one conformance suite.
package cluster
