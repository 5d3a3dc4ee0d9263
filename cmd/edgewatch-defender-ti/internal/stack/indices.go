package stack

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"slices"

	"github.com/edgewatch/edgewatch/connectors/cluster"
)

// Index listings that a least-privileged role may make. `GET _cat/indices`
// needs cluster:monitor/state on both servers, which neither the detector
// nor the installer role holds (dashboards/security/README.md); the
// resolve-index API is authorized on the indices it names.

// listIndices lists the concrete indices matching pattern (an index name,
// alias, data stream or wildcard), sorted; none when nothing matches. An
// alias or data stream counts as the indices behind it, as _cat/indices
// would list them.
func listIndices(ctx context.Context, c *cluster.Client, pattern string) ([]string, error) {
	req := cluster.Request{Method: http.MethodGet, Path: cluster.DocPath("_resolve", "index", pattern),
		Query: url.Values{"expand_wildcards": {"open,closed"}}}
	var r struct {
		Indices []struct {
			Name string `json:"name"`
		} `json:"indices"`
		Aliases []struct {
			Indices []string `json:"indices"`
		} `json:"aliases"`
		DataStreams []struct {
			BackingIndices []string `json:"backing_indices"`
		} `json:"data_streams"`
	}
	if err := c.Call(ctx, "list indices "+pattern, req, &r); err != nil {
		if cluster.IsNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	seen := map[string]bool{}
	for _, i := range r.Indices {
		seen[i.Name] = true
	}
	for _, a := range r.Aliases {
		for _, i := range a.Indices {
			seen[i] = true
		}
	}
	for _, d := range r.DataStreams {
		for _, i := range d.BackingIndices {
			seen[i] = true
		}
	}
	return slices.Sorted(maps.Keys(seen)), nil
}
