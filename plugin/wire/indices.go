package wire

import (
	"strings"
	"time"
)

// The indices edgewatch keeps in a cluster. The bundled index templates
// (dashboards/templates) match these names.
const (
	// StateIndex holds run records, checkpoints, leases and retro-hunt
	// records (one document type each, the "type" field).
	StateIndex = "edgewatch-state"
	// AlertIndexPrefix starts every alert index; the alert template
	// matches AlertsPattern.
	AlertIndexPrefix = "edgewatch-alerts-"
	AlertsPattern    = AlertIndexPrefix + "*"
	// DefaultAlertIndex is the default detection's alert write alias
	// (AlertAlias("")): where alerts go when the settings name neither an
	// alert index nor a detection.
	DefaultAlertIndex = AlertIndexPrefix + "default"
	// IndicatorIndexPrefix starts every indicator lookup index and alias:
	// feed N is served by the alias FeedAlias(N).
	IndicatorIndexPrefix = "edgewatch-indicators-"
	IndicatorsPattern    = IndicatorIndexPrefix + "*"
)

// FindingsIndexPrefix starts every findings alias and index: the per-event
// findings a grouping detection keeps as the evidence its grouped alerts
// are counted from.
const (
	FindingsIndexPrefix = "edgewatch-findings-"
	FindingsPattern     = FindingsIndexPrefix + "*"
)

// AlertAlias is detection's alert write alias, edgewatch-alerts-<detection>
// (detection "default" when empty): alerts are written through it into
// rolled-over backing indices <alias>-000001, -000002, …
func AlertAlias(detection string) string {
	if detection == "" {
		detection = "default"
	}
	return AlertIndexPrefix + detection
}

// FindingsAlias is the findings (evidence) alias that goes with an alert
// alias: edgewatch-alerts-X keeps its findings in edgewatch-findings-X, any
// other alert alias A in A-findings.
func FindingsAlias(alertAlias string) string {
	if rest, ok := strings.CutPrefix(alertAlias, AlertIndexPrefix); ok && rest != "" {
		return FindingsIndexPrefix + rest
	}
	return alertAlias + "-findings"
}

// FeedAlias is the alias that serves feed name.
func FeedAlias(name string) string { return IndicatorIndexPrefix + name }

// State document types (the "type" field of the state index).
const (
	StateTypeRun        = "run"
	StateTypeCheckpoint = "checkpoint"
	StateTypeLease      = "lease"
	StateTypeRetroHunt  = "retro_hunt"
	StateTypeBackfill   = "backfill"
)

// Outcomes of a run, an incremental call and a window.
const (
	StatusSuccess = "success" // done (every planned window ran and committed)
	StatusFailed  = "failed"  // see the Error field
	StatusNoop    = "noop"    // nothing to do (now − delay is not after the checkpoint)
	StatusSkipped = "skipped" // another runner holds the lease
)

// RunRecord is one detection run in the state index (type StateTypeRun,
// id "run-<run id>"), as the run-health dashboards and the report read it.
type RunRecord struct {
	Type       string    `json:"type"` // always StateTypeRun
	Detection  string    `json:"detection"`
	RunID      string    `json:"run_id"`
	Trigger    string    `json:"trigger,omitempty"` // "cli", "schedule", "webhook", "retro-hunt"
	RetroHunt  bool      `json:"retro_hunt,omitempty"`
	Window     Window    `json:"window"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	DurationMS int64     `json:"duration_ms"`
	Outcome    string    `json:"outcome"` // StatusSuccess or StatusFailed
	Error      string    `json:"error,omitempty"`
	LagMS      int64     `json:"lag_ms,omitempty"` // finished − window end
	Counts     RunCounts `json:"counts"`
	Host       string    `json:"host,omitempty"`
}

// RunCounts are the numbers of one run.
type RunCounts struct {
	Facing               int64 `json:"facing"`
	Indicators           int64 `json:"indicators"`
	EventsScanned        int64 `json:"events_scanned"`
	Matches              int64 `json:"matches"`
	AlertsCreated        int64 `json:"alerts_created"`
	AlertsAlreadyPresent int64 `json:"alerts_already_present"`
	AlertsFailed         int64 `json:"alerts_failed"`
	Skipped              int64 `json:"skipped"`
	// Groups created and updated by a grouping detection (zero otherwise).
	GroupsCreated int64 `json:"groups_created,omitempty"`
	GroupsUpdated int64 `json:"groups_updated,omitempty"`
}

// Window is the half-open time range [From, To) of one detection pass.
type Window struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// String formats w as "from/to" in RFC 3339.
func (w Window) String() string {
	return w.From.UTC().Format(time.RFC3339) + "/" + w.To.UTC().Format(time.RFC3339)
}

// Duration is the window's length.
func (w Window) Duration() time.Duration { return w.To.Sub(w.From) }
