package ops

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/internal/engine"
	"github.com/edgewatch/edgewatch/internal/incremental"
	"github.com/edgewatch/edgewatch/internal/incremental/clusterstate"
	"github.com/edgewatch/edgewatch/internal/incremental/pluginops"
)

// StatusArgs are the args of status.
type StatusArgs struct {
	Settings engine.Settings `json:"settings"`
	// Detections to show; empty lists every detection with a checkpoint.
	Detections []string `json:"detections,omitempty"`
}

// StatusResult is the answer of status: what edgewatch keeps in the
// cluster.
type StatusResult struct {
	Cluster    string                        `json:"cluster"`
	Now        time.Time                     `json:"now"`
	Feeds      []FeedView                    `json:"feeds"`
	Detections []incremental.DetectionStatus `json:"detections"`
	LastRuns   []RunView                     `json:"last_runs"`
}

// RunView is one run record, newest first in StatusResult.LastRuns.
type RunView struct {
	Detection  string    `json:"detection"`
	RunID      string    `json:"run_id"`
	Trigger    string    `json:"trigger,omitempty"`
	StartedAt  time.Time `json:"started_at"`
	DurationMS int64     `json:"duration_ms"`
	Outcome    string    `json:"outcome"`
	Created    int64     `json:"alerts_created"`
	Error      string    `json:"error,omitempty"`
}

// lastRuns is how many run records status shows.
const lastRuns = 5

func (d Deps) status(ctx context.Context, raw json.RawMessage, secrets map[string]string, _ func(engine.Progress)) (json.RawMessage, error) {
	var a StatusArgs
	if err := decode(OpStatus, raw, &a); err != nil {
		return nil, err
	}
	c, err := d.connect(ctx, OpStatus, a.Settings, secrets)
	if err != nil {
		return nil, err
	}
	now := d.Now().UTC()
	res := StatusResult{Cluster: c.Info().String(), Now: now, Feeds: []FeedView{},
		Detections: []incremental.DetectionStatus{}, LastRuns: []RunView{}}

	names, err := feedNames(ctx, c, "", a.Settings)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		st, err := c.FeedStatus(ctx, n)
		if err != nil {
			return nil, fmt.Errorf("status: feed %s: %w", n, err)
		}
		res.Feeds = append(res.Feeds, feedView(st, now))
	}

	dets, err := pluginops.Status(ctx, clusterstate.New(c, cluster.StateIndex), a.Detections, now)
	if err != nil && !isNotFound(err) {
		return nil, fmt.Errorf("status: detections: %w", err)
	}
	if dets != nil {
		res.Detections = dets
	}

	runs, err := readRuns(ctx, c, lastRuns)
	if err != nil && !isNotFound(err) {
		return nil, fmt.Errorf("status: %w", err)
	}
	for i := len(runs) - 1; i >= 0; i-- {
		r := runs[i]
		res.LastRuns = append(res.LastRuns, RunView{Detection: r.Detection, RunID: r.RunID, Trigger: r.Trigger,
			StartedAt: r.Started, DurationMS: r.DurationMS, Outcome: r.Outcome, Created: r.Counts.AlertsCreated, Error: r.Error})
	}
	return json.Marshal(res)
}
