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
	runProfiles(t, cluster.OpenSearch, clusterProfiles, ClusterHarness)
}
func TestElasticsearch(t *testing.T) {
	runProfiles(t, cluster.Elasticsearch, clusterProfiles, ClusterHarness)
}

// runProfiles runs the suite on flavor's test cluster for each profile.
func runProfiles(t *testing.T, f cluster.Flavor, profiles []string, h func(Target, string) Harness) {
	tg := TestTarget(t, f)
	for _, p := range profiles {
		t.Run(p, func(t *testing.T) { Run(t, h(tg, p)) })
	}
}

// Profiles whose rows carry a table marker, read from one index shared by
// every table.
var markedProfiles = []string{cluster.ProfileSentinel, cluster.ProfileStreaming, cluster.ProfileElasticM365}

func TestMixedTablesOpenSearch(t *testing.T) {
	runProfiles(t, cluster.OpenSearch, markedProfiles, MixedHarness)
}

func TestMixedTablesElasticsearch(t *testing.T) {
	runProfiles(t, cluster.Elasticsearch, markedProfiles, MixedHarness)
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
