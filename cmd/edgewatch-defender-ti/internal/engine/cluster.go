package engine

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/connectors/elasticsearch"
	"github.com/edgewatch/edgewatch/connectors/opensearch"
	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

func init() {
	RegisterBackend(string(cluster.OpenSearch), openClusterBackend(cluster.OpenSearch))
	RegisterBackend(string(cluster.Elasticsearch), openClusterBackend(cluster.Elasticsearch))
}

// ClusterConfig turns the cluster settings and secrets into a connector
// config.
func ClusterConfig(c *wire.ClusterSettings, secrets map[string]string) cluster.Config {
	return cluster.Config{
		URLs:               c.URLs,
		Username:           c.Username,
		Password:           secrets[wire.SecretPassword],
		APIKey:             secrets[wire.SecretAPIKey],
		CAFile:             c.CAFile,
		InsecureSkipVerify: c.InsecureSkipVerify,
		Timeout:            time.Duration(c.Timeout),
	}
}

// Connect opens a client to the cluster s names.
func Connect(ctx context.Context, s wire.Settings, secrets map[string]string) (*cluster.Client, error) {
	if s.Cluster == nil || len(s.Cluster.URLs) == 0 {
		return nil, fmt.Errorf("%w: source %s needs a cluster URL (--url)", ErrConfig, s.Source)
	}
	cfg := ClusterConfig(s.Cluster, secrets)
	switch cluster.Flavor(s.Source) {
	case cluster.OpenSearch:
		return opensearch.Connect(ctx, cfg)
	case cluster.Elasticsearch:
		return elasticsearch.Connect(ctx, cfg)
	}
	return nil, fmt.Errorf("%w: source %q is not a cluster", ErrConfig, s.Source)
}

func openClusterBackend(flavor cluster.Flavor) BackendFactory {
	return func(ctx context.Context, s wire.Settings, secrets map[string]string) (*Backend, error) {
		s.Source = string(flavor)
		client, err := Connect(ctx, s, secrets)
		if err != nil {
			return nil, err
		}
		c := s.Cluster
		if c.DeviceInfoIndex == "" || c.NetworkEventsIndex == "" {
			return nil, fmt.Errorf("%w: source %s needs --device-info-index and --network-events-index", ErrConfig, flavor)
		}
		src, err := cluster.NewClientSource(client, cluster.SourceConfig{
			DeviceInfoIndex:    c.DeviceInfoIndex,
			NetworkEventsIndex: c.NetworkEventsIndex,
			Profile:            c.Profile,
			ProfileFields:      c.ProfileFields,
		})
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
		be := &Backend{
			Source: src,
			Writer: cluster.NewAlertWriter(client, c.AlertIndex, cluster.BulkOptions{}),
			RecordRun: func(ctx context.Context, sum *wire.Summary) error {
				_, err := client.WriteRunRecord(ctx, RunRecordOf(s, sum))
				return err
			},
		}
		if c.IndicatorFeed != "" {
			be.Indicators = func(ctx context.Context) (*correlation.IndicatorSet, error) {
				return client.ReadIndicators(ctx, c.IndicatorFeed)
			}
		}
		return be, nil
	}
}

// RunRecordOf is the state-index record of a run.
func RunRecordOf(s wire.Settings, sum *wire.Summary) wire.RunRecord {
	host, _ := os.Hostname()
	detection := s.Detection
	if detection == "" {
		detection = "default"
	}
	rec := wire.RunRecord{
		Detection:  detection,
		RunID:      sum.RunID,
		Trigger:    s.Trigger,
		RetroHunt:  s.RetroHunt,
		Window:     wire.Window{From: sum.Window.From, To: sum.Window.To},
		StartedAt:  sum.Started,
		FinishedAt: sum.Finished,
		DurationMS: sum.DurationMS,
		Outcome:    sum.Outcome,
		Error:      sum.Error,
		Host:       host,
		Counts: wire.RunCounts{
			Facing:               int64(sum.DeviceInfo.FacingPorts),
			Indicators:           int64(sum.Indicators.Loaded),
			EventsScanned:        sum.Events.Read,
			Matches:              int64(sum.Alerts.Matched),
			AlertsCreated:        int64(sum.Alerts.Created),
			AlertsAlreadyPresent: int64(sum.Alerts.AlreadyPresent),
			AlertsFailed:         int64(sum.Alerts.Failed),
			Skipped:              sum.Events.SkippedTotal() + sum.DeviceInfo.SkippedTotal(),
		},
	}
	if !sum.Window.To.IsZero() {
		rec.LagMS = sum.Finished.Sub(sum.Window.To).Milliseconds()
	}
	return rec
}
