package wire

import "time"

// ReportArgs are the args of OpReport.
type ReportArgs struct {
	Settings Settings `json:"settings"`
	// MaxAlerts caps the alerts read from the index, newest first (default
	// DefaultReportAlerts).
	MaxAlerts int `json:"max_alerts,omitempty"`
	// Runs is how many recent run records are read (default
	// DefaultReportRuns).
	Runs int `json:"runs,omitempty"`
	// Feed names the feed of the feed panel (default: the settings'
	// indicator feed, else DefaultFeedName when live, else the first live
	// feed).
	Feed string `json:"feed,omitempty"`
}

// Report defaults.
const (
	DefaultReportAlerts = 100_000
	DefaultReportRuns   = 500
)

// ReportData is the answer of OpReport: what the report shows besides the
// alert documents, which the plugin streams (Stream.Alerts, Document only)
// newest first before it answers.
type ReportData struct {
	// Source names where the alerts came from ("opensearch 2.19.6 index
	// edgewatch-alerts-*").
	Source string `json:"source"`
	// TotalAlerts counts the alerts in the index; the plugin streamed at
	// most MaxAlerts of them.
	TotalAlerts int64 `json:"total_alerts"`
	// Runs are the newest run records, oldest first.
	Runs []RunRecord `json:"runs,omitempty"`
	// Feed is the live feed of the feed panel; nil when no feed is live.
	Feed *FeedPanel `json:"feed,omitempty"`
	// Notes say what is missing (no state index, no live feed).
	Notes []string `json:"notes,omitempty"`
}

// FeedPanel is the live indicator feed the report's feed panel shows.
type FeedPanel struct {
	Feed     string        `json:"feed"`
	LoadedAt time.Time     `json:"loaded_at,omitzero"`
	Total    int64         `json:"total"`
	PerLevel map[int]int64 `json:"per_level,omitempty"` // IPsum level → indicators
}
