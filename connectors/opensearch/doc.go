// Package opensearch connects edgewatch to OpenSearch through the official
// client, opensearch-go v4. It is a thin adapter: New builds the client from
// a cluster.Config (URLs, basic auth, CA file, skip-verify, timeouts, retries
// on 429/502/503/504 with backoff), checks that the server is OpenSearch, and
// returns a *cluster.Client whose Doer sends every request through the
// client's transport. All store logic lives in connectors/cluster.
package opensearch
