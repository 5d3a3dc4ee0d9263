package conformance

import (
	"context"
	"testing"

	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/connectors/elasticsearch"
	"github.com/edgewatch/edgewatch/connectors/opensearch"
	"github.com/edgewatch/edgewatch/internal/testenv"
)

// TestTarget connects to the flavor's test cluster through its official
// client connector, configured from the environment
// (EDGEWATCH_OPENSEARCH_* or EDGEWATCH_ELASTICSEARCH_*: _URL, _USERNAME,
// _PASSWORD or _PASSWORD_FILE, …; see cluster.ConfigFromEnv). It skips t
// when the URL is unset, or fails it when clusters are required (see
// testenv.Require).
func TestTarget(t testing.TB, f cluster.Flavor) Target {
	t.Helper()
	prefix := "EDGEWATCH_OPENSEARCH"
	if f == cluster.Elasticsearch {
		prefix = "EDGEWATCH_ELASTICSEARCH"
	}
	testenv.Require(t, testenv.ClusterNeed(prefix))
	cfg, _, err := cluster.ConfigFromEnv(prefix)
	if err != nil {
		t.Fatal(err)
	}
	var c *cluster.Client
	if f == cluster.Elasticsearch {
		c, err = elasticsearch.Connect(context.Background(), cfg)
	} else {
		c, err = opensearch.Connect(context.Background(), cfg)
	}
	if err != nil {
		t.Fatalf("connect to the %s test cluster: %v", f, err)
	}
	return Target{Client: c}
}
