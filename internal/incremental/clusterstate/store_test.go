package clusterstate_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/connectors/conformance"
	"github.com/edgewatch/edgewatch/connectors/elasticsearch"
	"github.com/edgewatch/edgewatch/connectors/opensearch"
	"github.com/edgewatch/edgewatch/internal/incremental/clusterstate"
	"github.com/edgewatch/edgewatch/internal/incremental/incrementaltest"
)

// clusterDoer returns a Doer for the cluster named by the env prefix, or
// skips (fails when clusters are required).
func clusterDoer(t *testing.T, prefix string) cluster.Doer {
	t.Helper()
	conformance.SkipOrFail(t, prefix+"_URL")
	cfg, _, err := cluster.ConfigFromEnv(prefix)
	if err != nil {
		t.Fatal(err)
	}
	var d cluster.Doer
	if prefix == "EDGEWATCH_OPENSEARCH" {
		d, err = opensearch.NewDoer(cfg)
	} else {
		d, err = elasticsearch.NewDoer(cfg)
	}
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// freshStore is a Store over a new, randomly named state index that is
// deleted when the test ends.
func freshStore(t *testing.T, d cluster.Doer) *clusterstate.Store {
	t.Helper()
	index := conformance.UniqueIndex("edgewatch-state-test")
	t.Cleanup(func() {
		_, _ = d.Do(context.Background(), cluster.Request{Method: http.MethodDelete, Path: "/" + url.PathEscape(index)})
	})
	return clusterstate.New(d, index)
}

func TestStoreSuite(t *testing.T) {
	for _, c := range []struct{ name, env string }{
		{"opensearch", "EDGEWATCH_OPENSEARCH"},
		{"elasticsearch", "EDGEWATCH_ELASTICSEARCH"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := clusterDoer(t, c.env)
			incrementaltest.StoreSuite(t, freshStore(t, d))
		})
	}
}
