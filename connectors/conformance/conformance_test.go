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

// Profiles whose rows carry a table marker, read from one index shared by
// every table.
var markedProfiles = []string{cluster.ProfileSentinel, cluster.ProfileStreaming, cluster.ProfileElasticM365}

func TestMixedTablesOpenSearch(t *testing.T) {
	tg := TestTarget(t, cluster.OpenSearch)
	for _, p := range markedProfiles {
		t.Run(p, func(t *testing.T) { Run(t, MixedHarness(tg, p)) })
	}
}

func TestMixedTablesElasticsearch(t *testing.T) {
	tg := TestTarget(t, cluster.Elasticsearch)
	for _, p := range markedProfiles {
		t.Run(p, func(t *testing.T) { Run(t, MixedHarness(tg, p)) })
	}
}
