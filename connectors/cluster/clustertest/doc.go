// Package clustertest connects tests to the real OpenSearch and
// Elasticsearch servers that scripts/cluster.sh starts. Each cluster's URL
// comes from the environment (EDGEWATCH_OPENSEARCH_URL,
// EDGEWATCH_ELASTICSEARCH_URL, plus _USERNAME, _PASSWORD or _PASSWORD_FILE,
// _API_KEY, _CA_FILE… as read by cluster.ConfigFromEnv). An unset URL skips
// the test, except when CI=true or EDGEWATCH_REQUIRE_CLUSTERS=1, where it
// fails (internal/testenv decides): a CI run never counts a skipped cluster
// test as passing. Call, Search, Count, DeleteIndices and AlertTemplate
// are the small steps cluster tests share.
//
// The secured test servers (`scripts/cluster.sh start <flavor> --secure`:
// TLS with a test CA, users and roles from dashboards/security) are reached
// through EDGEWATCH_<FLAVOR>_SECURE_* with ConnectSecure and RunSecure, as
// one of the Identity values: the least-privileged detector (user, or on
// Elasticsearch an API key), the installer, or the admin that loads test
// data. They are required when CI=true or EDGEWATCH_REQUIRE_SECURE=1.
package clustertest
