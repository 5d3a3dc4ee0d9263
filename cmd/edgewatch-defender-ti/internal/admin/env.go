package admin

import (
	"context"
	"fmt"

	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/engine"
	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/stack"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// OpenCluster is the default Deps.Open: a connected client (engine.Connect),
// the detection's backend over it (engine.ClusterBackend: the one cluster
// wiring, shared with `edgewatch run`), the state index as the StateStore
// and the lookup index's loader.
func OpenCluster(ctx context.Context, s wire.Settings, secrets map[string]string) (*Env, error) {
	switch s.Source {
	case wire.SourceOpenSearch, wire.SourceElasticsearch:
	default:
		return nil, fmt.Errorf("%w: incremental runs need source opensearch or elasticsearch, not %q", engine.ErrConfig, s.Source)
	}
	c, err := engine.Connect(ctx, s, secrets)
	if err != nil {
		return nil, err
	}
	return ClusterEnv(c, s)
}

// ClusterEnv builds the Env over a connected client.
func ClusterEnv(c *cluster.Client, s wire.Settings) (*Env, error) {
	be, err := engine.ClusterBackend(c, s)
	if err != nil {
		return nil, err
	}
	return &Env{
		Backend: be,
		State:   stack.NewStateStore(c, wire.StateIndex),
		LoadFeed: func(ctx context.Context, name string, set *correlation.IndicatorSet) (FeedLoad, error) {
			res, err := stack.LoadFeed(ctx, c, name, set.All(), stack.LoadOptions{})
			if err != nil {
				return FeedLoad{}, err
			}
			return FeedLoad{Loaded: res.Written, Removed: res.Removed, FirstLoad: res.FirstLoad, Added: res.Added}, nil
		},
	}, nil
}
