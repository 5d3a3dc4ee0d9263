// Package clustertest connects tests to the real OpenSearch and
// Elasticsearch servers that scripts/cluster.sh starts. Each cluster's URL
// comes from the environment (EDGEWATCH_OPENSEARCH_URL,
// EDGEWATCH_ELASTICSEARCH_URL, plus _USERNAME, _PASSWORD or _PASSWORD_FILE,
// _API_KEY, _CA_FILE… as read by cluster.ConfigFromEnv). An unset URL skips
// the test, except when CI=true or EDGEWATCH_REQUIRE_CLUSTERS=1, where it
// fails (internal/testenv decides): a CI run never counts a skipped cluster
// test as passing.
package clustertest
