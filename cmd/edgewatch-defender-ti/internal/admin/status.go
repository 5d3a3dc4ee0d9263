package admin

import (
	"context"
	"fmt"

	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/incremental"
	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/stack"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/plugin"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// lastRuns is how many run records status shows.
const lastRuns = 5

func (d Deps) status(ctx context.Context, a wire.StatusArgs, secrets map[string]string, s plugin.Stream) (wire.StatusResult, error) {
	c, err := d.connect(ctx, wire.OpStatus.Name, a.Settings, secrets)
	if err != nil {
		return wire.StatusResult{}, err
	}
	now := d.Now().UTC()
	res := wire.StatusResult{Cluster: c.Info().String(), Now: now, Feeds: []wire.FeedView{},
		Detections: []wire.DetectionStatus{}, LastRuns: []wire.RunView{}}

	names, err := feedNames(ctx, c, "", a.Settings)
	if err != nil {
		return wire.StatusResult{}, err
	}
	for _, n := range names {
		st, err := stack.FeedStatus(ctx, c, n)
		if err != nil {
			return wire.StatusResult{}, fmt.Errorf("status: feed %s: %w", n, err)
		}
		res.Feeds = append(res.Feeds, feedView(st, now))
	}

	dets, err := incremental.Status(ctx, stack.NewStateStore(c, wire.StateIndex), a.Detections, now)
	if err != nil && !cluster.IsNotFound(err) {
		return wire.StatusResult{}, fmt.Errorf("status: detections: %w", err)
	}
	if dets != nil {
		res.Detections = dets
	}

	runs, err := stack.RunRecords(ctx, c, lastRuns)
	if err != nil && !cluster.IsNotFound(err) {
		return wire.StatusResult{}, fmt.Errorf("status: %w", err)
	}
	for i := len(runs) - 1; i >= 0; i-- {
		r := runs[i]
		res.LastRuns = append(res.LastRuns, wire.RunView{Detection: r.Detection, RunID: r.RunID, Trigger: r.Trigger,
			StartedAt: r.StartedAt, DurationMS: r.DurationMS, Outcome: r.Outcome, Created: r.Counts.AlertsCreated, Error: r.Error})
	}
	return res, nil
}
