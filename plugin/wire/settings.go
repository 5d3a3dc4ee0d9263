package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Sources a run reads from (Settings.Source).
const (
	SourceFile          = "file" // the default: Defender exports on disk
	SourceOpenSearch    = "opensearch"
	SourceElasticsearch = "elasticsearch"
)

// Keys of the secrets map that travels next to Settings (and to an
// operation's args). Secrets cross the boundary only there: never in
// settings, args, argv, the plugin's environment or a log line.
const (
	SecretPassword = "password" // cluster password
	SecretAPIKey   = "api_key"  // cluster API key
	// SecretWebhookToken is the bearer token the schedule triggers send
	// to edgewatch serve (install --triggers).
	SecretWebhookToken = "webhook_token"
	// SecretDashboardsPassword is the Dashboards / Kibana password when it
	// differs from the cluster's.
	SecretDashboardsPassword = "dashboards_password"
)

// Settings is the whole configuration of one detection run: the host
// builds it from flags, the config file or a serve detection, and the
// plugin runs it.
type Settings struct {
	// Source selects the connector: SourceFile (default), SourceOpenSearch
	// or SourceElasticsearch.
	Source string `json:"source"`

	// File mode inputs. Each list may name several files.
	DeviceInfo    []string `json:"device_info,omitempty"`
	NetworkEvents []string `json:"network_events,omitempty"`

	// Feeds are indicator files (file mode, or any mode without a lookup index).
	Feeds    []string `json:"feeds,omitempty"`
	FeedName string   `json:"feed_name,omitempty"` // default: "ipsum" for IPsum's files, else the file's name
	MinLevel int      `json:"min_level,omitempty"` // default 1 for ipsum.txt; levels files carry their own
	// KeepNonGlobal keeps private/loopback/... indicators (off by default).
	KeepNonGlobal bool `json:"keep_non_global,omitempty"`
	// AllowEmptyFeed lets a run whose feeds (or lookup index) yield no
	// indicator go on; by default such a run fails as an input error, since
	// it cannot alert on anything.
	AllowEmptyFeed bool `json:"allow_empty_feed,omitempty"`

	// Window. Zero values are unbounded (file mode reads everything).
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`
	// FacingLookback is how far before From DeviceInfo rows count (default 30d).
	FacingLookback Duration `json:"facing_lookback,omitempty"`

	ExcludePorts []int    `json:"exclude_ports,omitempty"`
	Allow        []string `json:"allow,omitempty"` // CIDRs or addresses never alerted on

	// GroupBy groups alerts (alert suppression): one alert per (rule,
	// values of these alert fields, GroupWindow) instead of one per
	// network event; at most 3 fields (correlation.GroupFieldNames). Empty:
	// one alert per event.
	GroupBy []string `json:"group_by,omitempty"`
	// GroupWindow is the grouping window, aligned to UTC multiples of its
	// length (default 24h when GroupBy is set).
	GroupWindow Duration `json:"group_window,omitempty"`

	// Rule overrides the rule identity written into alerts.
	RuleID   string `json:"rule_id,omitempty"`
	RuleName string `json:"rule_name,omitempty"`

	// Detection names the detection in run records, checkpoints and leases
	// (default "default"); Trigger says what started the run ("cli",
	// "schedule", "webhook", "retro-hunt").
	Detection string `json:"detection,omitempty"`
	Trigger   string `json:"trigger,omitempty"`
	// RetroHunt marks the run record as a retro-hunt re-scan.
	RetroHunt bool `json:"retro_hunt,omitempty"`

	// Cluster settings (opensearch / elasticsearch sources).
	Cluster *ClusterSettings `json:"cluster,omitempty"`
}

// ClusterSettings configures a cluster source and sink. Its password and
// API key are secrets (SecretPassword, SecretAPIKey), not fields.
type ClusterSettings struct {
	URLs               []string `json:"urls"`
	Username           string   `json:"username,omitempty"`
	CAFile             string   `json:"ca_file,omitempty"`
	InsecureSkipVerify bool     `json:"insecure_skip_verify,omitempty"`
	Timeout            Duration `json:"timeout,omitempty"`

	DeviceInfoIndex    string `json:"device_info_index,omitempty"`
	NetworkEventsIndex string `json:"network_events_index,omitempty"`
	Profile            string `json:"profile,omitempty"` // advanced-hunting | sentinel | streaming | elastic-m365 | custom
	// ProfileFields maps logical fields to document fields for the custom profile.
	ProfileFields map[string]string `json:"profile_fields,omitempty"`
	// IndicatorFeed names the lookup index feed (FeedAlias(name)); empty =
	// use Settings.Feeds files.
	IndicatorFeed string `json:"indicator_feed,omitempty"`
	// AlertIndex is the write alias alerts go through (default
	// AlertAlias(Settings.Detection); AlertAliasOf); a grouping detection
	// keeps its findings in FindingsAlias(it).
	AlertIndex string `json:"alert_index,omitempty"`
	// NoIndex makes the run read only: no alert is written to the alert
	// alias and no run record to the state index (the alerts still reach
	// the host's output).
	NoIndex bool `json:"no_index,omitempty"`
}

// AlertIndexOf is the settings' alert index, "" for the default.
func (s Settings) AlertIndexOf() string {
	if s.Cluster == nil {
		return ""
	}
	return s.Cluster.AlertIndex
}

// AlertAliasOf is where the settings' alerts go in a cluster: the
// configured alert index, else the detection's write alias
// AlertAlias(detection) (detection "default" when unnamed).
func (s Settings) AlertAliasOf() string {
	if a := s.AlertIndexOf(); a != "" {
		return a
	}
	return AlertAlias(s.Detection)
}

// IndicatorFeedOf is the settings' lookup-index feed, "" for feed files.
func (s Settings) IndicatorFeedOf() string {
	if s.Cluster == nil {
		return ""
	}
	return s.Cluster.IndicatorFeed
}

// DecodeSettings reads a settings document strictly: an unknown key is an
// error (a typo in a config file, or a host newer than the plugin), and so
// is a detection name ValidateDetectionName refuses. Empty input is the
// zero Settings.
func DecodeSettings(raw []byte) (Settings, error) {
	var s Settings
	if len(bytes.TrimSpace(raw)) == 0 {
		return s, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return s, fmt.Errorf("settings: %w", err)
	}
	if s.Detection != "" {
		if err := ValidateDetectionName(s.Detection); err != nil {
			return s, fmt.Errorf("settings: detection: %w", err)
		}
	}
	return s, nil
}
