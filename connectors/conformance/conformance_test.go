package conformance

import (
	"testing"

	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/connectors/cluster/clustertest"
)

func TestFileConnector(t *testing.T) {
	Run(t, FileHarness)
}

var clusterProfiles = []string{
	cluster.ProfileAdvancedHunting,
	cluster.ProfileSentinel,
	cluster.ProfileStreaming,
	cluster.ProfileElasticM365,
}

func TestOpenSearch(t *testing.T) {
	tg := TestTarget(t, cluster.OpenSearch)
	for _, p := range clusterProfiles {
		t.Run(p, func(t *testing.T) { Run(t, ClusterHarness(tg, p)) })
	}
}

func TestElasticsearch(t *testing.T) {
	tg := TestTarget(t, cluster.Elasticsearch)
	for _, p := range clusterProfiles {
		t.Run(p, func(t *testing.T) { Run(t, ClusterHarness(tg, p)) })
	}
}

// TestSecure runs the suite's cluster cases on the secured servers as the
// least-privileged detector (OpenSearch: user and password; Elasticsearch:
// API key, then user and password), over TLS with the test CA: the admin
// loads the data into defender-* indices, the detector reads them.
func TestSecure(t *testing.T) {
	clustertest.RunSecure(t, func(t *testing.T, tg clustertest.Target) {
		admin := tg.As(t, clustertest.Admin)
		ct := Target{Client: tg.Client, Loader: admin.Client, IndexPrefix: "defender-conf-"}
		for _, p := range clusterProfiles {
			t.Run(p, func(t *testing.T) { Run(t, ClusterHarness(ct, p)) })
		}
	})
}
