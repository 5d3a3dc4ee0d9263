package conformance

import (
	"testing"

	"github.com/edgewatch/edgewatch/connectors/cluster"
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
