package admin

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/engine"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/plugin"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// Deps are the operations' collaborators; the zero value talks to real
// clusters.
type Deps struct {
	// Connect opens the cluster the settings name (default engine.Connect).
	Connect func(ctx context.Context, s wire.Settings, secrets map[string]string) (*cluster.Client, error)
	// Open opens what a detection operation works with (default
	// OpenCluster).
	Open func(ctx context.Context, s wire.Settings, secrets map[string]string) (*Env, error)
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger (default: slog.Default() at the time of each call, never at
	// registration: the plugin registers its operations before plugin.Serve
	// installs the logger the host parses, and a logger captured earlier
	// would write plain-text lines the host can only log at INFO with the
	// level inside the message).
	Logger *slog.Logger
	// Facing keeps each scheduled detection's facing state in the state
	// index, mirrored in memory (default: a FacingCache with its
	// defaults); NoFacingCache turns it off (every run reads DeviceInfo).
	Facing        *FacingCache
	NoFacingCache bool
}

func (d Deps) withDefaults() Deps {
	if d.Connect == nil {
		d.Connect = engine.Connect
	}
	if d.Open == nil {
		d.Open = OpenCluster
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Facing == nil && !d.NoFacingCache {
		d.Facing = &FacingCache{Logger: d.Logger}
	}
	if d.NoFacingCache {
		d.Facing = nil
	}
	return d
}

// log is the operations' logger.
func (d Deps) log() *slog.Logger {
	if d.Logger != nil {
		return d.Logger
	}
	return slog.Default()
}

// Register adds every operation of the plugin to m.
func Register(m *plugin.Mux, d Deps) {
	d = d.withDefaults()
	plugin.Handle(m, wire.OpFeedLoad, d.feedLoad)
	plugin.Handle(m, wire.OpFeedStatus, d.feedStatus)
	plugin.Handle(m, wire.OpInstall, d.install)
	plugin.Handle(m, wire.OpUninstall, d.uninstall)
	plugin.Handle(m, wire.OpReport, d.report)
	plugin.Handle(m, wire.OpStatus, d.status)
	plugin.Handle(m, wire.OpRunIncremental, d.runIncremental)
	plugin.Handle(m, wire.OpRetroHunt, d.retroHunt)
	plugin.Handle(m, wire.OpFeedRefresh, d.feedRefresh)
	plugin.Handle(m, wire.OpDetectionStatus, d.detectionStatus)
}

// progressTo reports progress on s; a host that stopped listening is not
// an error here (the operation's context ends then).
func progressTo(ctx context.Context, s plugin.Stream) func(wire.Progress) {
	return func(p wire.Progress) { _ = s.Progress(ctx, p) }
}

// connect opens the cluster of s for op, with a message that says how to
// name one when s does not.
func (d Deps) connect(ctx context.Context, op string, s wire.Settings, secrets map[string]string) (*cluster.Client, error) {
	switch s.Source {
	case string(cluster.OpenSearch), string(cluster.Elasticsearch):
	default:
		return nil, fmt.Errorf("%w: %s needs a cluster: give --opensearch URL or --elasticsearch URL (or --source opensearch|elasticsearch --url URL)", engine.ErrConfig, op)
	}
	if s.Cluster == nil || len(s.Cluster.URLs) == 0 {
		return nil, fmt.Errorf("%w: %s: source %s needs a cluster URL (--url)", engine.ErrConfig, op, s.Source)
	}
	// The connector's error says "connect to <flavor> [urls]: …" and the
	// host names the operation.
	return d.Connect(ctx, s, secrets)
}

// humanDuration renders d rounded for people: "3h12m", "41s", "2d4h".
func humanDuration(d time.Duration) string {
	switch {
	case d < 0:
		return "-" + humanDuration(-d)
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	case d < 48*time.Hour:
		return d.Round(time.Minute).String()
	}
	days := d / (24 * time.Hour)
	rest := (d - days*24*time.Hour).Round(time.Hour)
	return fmt.Sprintf("%dd%dh", days, rest/time.Hour)
}
