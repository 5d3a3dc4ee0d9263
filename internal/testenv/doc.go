// Package testenv decides whether a test that needs something outside the
// Go toolchain runs, skips or fails. The needs: the test clusters
// (OpenSearch and Elasticsearch, started by scripts/cluster.sh), the secured
// test clusters (`scripts/cluster.sh start <flavor> --secure`: TLS, users,
// roles, API keys), the IPsum snapshot (testdata/ipsum in the repository) and a headless
// Chromium.
//
// A test states what it needs:
//
//	testenv.Require(t, testenv.Clusters|testenv.Data)
//
// When a need is available the test runs. When it is not, the test skips,
// unless the need is required, in which case it fails with a message saying
// how to provide it. A need is required when CI=true, or when its own
// variable is set to 1: EDGEWATCH_REQUIRE_CLUSTERS, EDGEWATCH_REQUIRE_SECURE,
// EDGEWATCH_REQUIRE_DATA, EDGEWATCH_REQUIRE_CHROMIUM… `make test` and CI set them, so nothing skips
// there. -short never bypasses a requirement: see SkipShort.
//
// Availability is decided from the environment only:
//
//   - OpenSearch, Elasticsearch (Clusters is both): EDGEWATCH_OPENSEARCH_URL,
//     EDGEWATCH_ELASTICSEARCH_URL are set. Connecting is the caller's
//     business (connectors/cluster/clustertest); a cluster that is named but
//     does not answer is a failure, not a skip.
//   - OpenSearchSecure, ElasticsearchSecure (Secure is both):
//     EDGEWATCH_OPENSEARCH_SECURE_URL, EDGEWATCH_ELASTICSEARCH_SECURE_URL are
//     set; the other variables of the secured servers share the prefix
//     (SecurePrefix) and are printed by `scripts/cluster.sh env <flavor>
//     --secure`.
//   - Data: IPsumDir holds ipsum.txt and levels/. The directory is
//     $EDGEWATCH_IPSUM_DIR, else testdata/ipsum in the repository that holds
//     the working directory (tests run in their package directory).
//   - Chromium: $EDGEWATCH_CHROMIUM, else chromium on $PATH.
package testenv
