package admin

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/engine"
	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/incremental/clusterstate"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/connectors/elasticsearch"
	"github.com/edgewatch/edgewatch/connectors/opensearch"
	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// ClusterConfig turns the run settings and secrets into a connection
// configuration.
func ClusterConfig(s wire.Settings, secrets map[string]string) (cluster.Config, error) {
	if s.Cluster == nil || len(s.Cluster.URLs) == 0 {
		return cluster.Config{}, fmt.Errorf("%w: source %s needs cluster.urls", engine.ErrConfig, s.Source)
	}
	cl := s.Cluster
	return cluster.Config{
		URLs: cl.URLs, Username: cl.Username, Password: secrets["password"], APIKey: secrets["api_key"],
		CAFile: cl.CAFile, InsecureSkipVerify: cl.InsecureSkipVerify, Timeout: time.Duration(cl.Timeout),
	}, nil
}

// Connect opens a client for the settings' cluster (its flavor checked).
func Connect(ctx context.Context, s wire.Settings, secrets map[string]string) (*cluster.Client, error) {
	cfg, err := ClusterConfig(s, secrets)
	if err != nil {
		return nil, err
	}
	switch s.Source {
	case "opensearch":
		return opensearch.Connect(ctx, cfg)
	case "elasticsearch":
		return elasticsearch.Connect(ctx, cfg)
	}
	return nil, fmt.Errorf("%w: incremental runs need source opensearch or elasticsearch, not %q", engine.ErrConfig, s.Source)
}

// OpenCluster is the default Deps.Open: a connected client, the state index
// as the StateStore, and an engine backend reading the settings' indices,
// writing alerts with bulk create, reading indicators from the lookup
// index (or the feed files) and recording each window's run.
func OpenCluster(ctx context.Context, s wire.Settings, secrets map[string]string) (*Env, error) {
	c, err := Connect(ctx, s, secrets)
	if err != nil {
		return nil, err
	}
	return ClusterEnv(c, s)
}

// ClusterEnv builds the Env over a connected client.
func ClusterEnv(c *cluster.Client, s wire.Settings) (*Env, error) {
	cl := s.Cluster
	if cl == nil {
		cl = &wire.ClusterSettings{}
	}
	src, err := cluster.NewClientSource(c, cluster.SourceConfig{
		DeviceInfoIndex: cl.DeviceInfoIndex, NetworkEventsIndex: cl.NetworkEventsIndex,
		Profile: cl.Profile, ProfileFields: cl.ProfileFields,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", engine.ErrConfig, err)
	}
	be := &engine.Backend{
		Source: src,
		Writer: cluster.NewAlertWriter(c, cl.AlertIndex, cluster.BulkOptions{}),
	}
	if cl.IndicatorFeed != "" {
		feed := cl.IndicatorFeed
		be.Indicators = func(ctx context.Context) (*correlation.IndicatorSet, error) { return c.ReadIndicators(ctx, feed) }
	}
	return &Env{
		Backend: be,
		State:   clusterstate.New(c, wire.StateIndex),
		LoadFeed: func(ctx context.Context, name string, set *correlation.IndicatorSet) (FeedLoad, error) {
			res, err := c.LoadFeed(ctx, name, set.All(), cluster.LoadOptions{})
			if err != nil {
				return FeedLoad{}, err
			}
			return FeedLoad{Loaded: res.Written, Removed: res.Removed, FirstLoad: res.FirstLoad, Added: res.Added}, nil
		},
		RecordRun: func(detection, trigger string, retro bool) func(context.Context, *wire.Summary) error {
			return func(ctx context.Context, sum *wire.Summary) error {
				_, err := c.WriteRunRecord(ctx, runRecord(detection, trigger, retro, sum, time.Now()))
				return err
			}
		},
	}, nil
}

// runRecord is the state index's record of one window's engine run.
func runRecord(detection, trigger string, retro bool, s *wire.Summary, now time.Time) wire.RunRecord {
	host, _ := os.Hostname()
	outcome := wire.StatusSuccess
	if s.Outcome != wire.StatusSuccess {
		outcome = wire.StatusFailed
	}
	rec := wire.RunRecord{
		Detection: detection, RunID: s.RunID, Trigger: trigger, RetroHunt: retro,
		Window:    wire.Window{From: s.Window.From, To: s.Window.To},
		StartedAt: s.Started, FinishedAt: s.Finished, DurationMS: s.DurationMS,
		Outcome: outcome, Error: s.Error, Host: host,
		Counts: wire.RunCounts{
			Facing: int64(s.DeviceInfo.FacingPorts), Indicators: int64(s.Indicators.Loaded),
			EventsScanned: s.Events.Read, Matches: int64(s.Alerts.Matched),
			AlertsCreated: int64(s.Alerts.Created), AlertsAlreadyPresent: int64(s.Alerts.AlreadyPresent),
			AlertsFailed: int64(s.Alerts.Failed),
		},
	}
	if !s.Window.To.IsZero() {
		rec.LagMS = now.Sub(s.Window.To).Milliseconds()
	}
	return rec
}
