package ops

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/internal/detector"
	"github.com/edgewatch/edgewatch/internal/engine"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// Deps are the operations' collaborators; the zero value talks to real
// clusters.
type Deps struct {
	// Connect opens the cluster the settings name (default engine.Connect).
	Connect func(ctx context.Context, s wire.Settings, secrets map[string]string) (*cluster.Client, error)
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger (default slog.Default()).
	Logger *slog.Logger
}

func (d Deps) withDefaults() Deps {
	if d.Connect == nil {
		d.Connect = engine.Connect
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	return d
}

// Ops returns the operations by name.
func Ops(d Deps) map[string]detector.OpFunc {
	d = d.withDefaults()
	return map[string]detector.OpFunc{
		wire.OpFeedLoad.Name:   d.feedLoad,
		wire.OpFeedStatus.Name: d.feedStatus,
		wire.OpInstall.Name:    d.install,
		wire.OpUninstall.Name:  d.uninstall,
		wire.OpReport.Name:     d.report,
		wire.OpStatus.Name:     d.status,
	}
}

// Register adds the operations to r.
func Register(r *detector.Registry, d Deps) {
	for name, fn := range Ops(d) {
		r.Register(name, fn)
	}
}

// decode reads an op's args; a missing or malformed document is a
// configuration error.
func decode(op string, raw json.RawMessage, v any) error {
	if len(raw) == 0 {
		return fmt.Errorf("%w: %s: no arguments", engine.ErrConfig, op)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%w: %s: arguments: %w", engine.ErrConfig, op, err)
	}
	return nil
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
	c, err := d.Connect(ctx, s, secrets)
	if err != nil {
		return nil, fmt.Errorf("%s: connect to %s: %w", op, s.Source, err)
	}
	return c, nil
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
