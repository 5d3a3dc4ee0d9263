package wire

import "time"

// StatusArgs are the args of OpStatus.
type StatusArgs struct {
	Settings Settings `json:"settings"`
	// Detections to show; empty lists every detection with a checkpoint.
	Detections []string `json:"detections,omitempty"`
}

// StatusResult is the answer of OpStatus: what edgewatch keeps in the
// cluster.
type StatusResult struct {
	Cluster    string            `json:"cluster"`
	Now        time.Time         `json:"now"`
	Feeds      []FeedView        `json:"feeds"`
	Detections []DetectionStatus `json:"detections"`
	LastRuns   []RunView         `json:"last_runs"`
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
