// Package incrementaltest holds the conformance suite every
// incremental.StateStore passes: the in-memory store and the cluster store
// (stack.StateStore) against real OpenSearch and Elasticsearch.
package incrementaltest
