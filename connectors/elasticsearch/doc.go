// Package elasticsearch connects edgewatch to Elasticsearch through the
// official client, go-elasticsearch v8. It is a thin adapter: New builds the
// client from a cluster.Config (URLs, basic auth or API key, CA file,
// skip-verify, timeouts, retries on 429/502/503/504 with backoff), checks that
// the server is Elasticsearch, and returns a *cluster.Client whose Doer sends
// every request through the client's Perform. All store logic lives in
// connectors/cluster.
package elasticsearch
