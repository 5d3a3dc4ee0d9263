package engine

import (
	"time"
)

// Settings is the whole configuration of one detection run. It is plain
// JSON so that the host can pass it to the plugin process unchanged; the host
// never needs to understand it beyond the fields its flags set.
type Settings struct {
	// Source selects the connector: "file" (default), "opensearch" or "elasticsearch".
	Source string `json:"source" yaml:"source"`

	// File mode inputs. Each list may name several files.
	DeviceInfo    []string `json:"device_info,omitempty" yaml:"device_info"`
	NetworkEvents []string `json:"network_events,omitempty" yaml:"network_events"`

	// Feeds are indicator files (file mode, or any mode without a lookup index).
	Feeds    []string `json:"feeds,omitempty" yaml:"feeds"`
	FeedName string   `json:"feed_name,omitempty" yaml:"feed_name"` // default: "ipsum" for IPsum's files, else the file's name
	MinLevel int      `json:"min_level,omitempty" yaml:"min_level"` // default 1 for ipsum.txt; levels files carry their own
	// KeepNonGlobal keeps private/loopback/... indicators (off by default).
	KeepNonGlobal bool `json:"keep_non_global,omitempty" yaml:"keep_non_global"`

	// Window. Zero values are unbounded (file mode reads everything).
	From time.Time `json:"from,omitzero" yaml:"from"`
	To   time.Time `json:"to,omitzero" yaml:"to"`
	// FacingLookback is how far before From DeviceInfo rows count (default 30d).
	FacingLookback Duration `json:"facing_lookback,omitempty" yaml:"facing_lookback"`

	ExcludePorts []int    `json:"exclude_ports,omitempty" yaml:"exclude_ports"`
	Allow        []string `json:"allow,omitempty" yaml:"allow"` // CIDRs or addresses never alerted on

	// Rule overrides the rule identity written into alerts.
	RuleID   string `json:"rule_id,omitempty" yaml:"rule_id"`
	RuleName string `json:"rule_name,omitempty" yaml:"rule_name"`

	// Detection names the detection in run records, checkpoints and leases
	// (default "default"); Trigger says what started the run ("cli",
	// "schedule", "webhook", "retro-hunt").
	Detection string `json:"detection,omitempty" yaml:"detection"`
	Trigger   string `json:"trigger,omitempty" yaml:"-"`
	// RetroHunt marks alerts and the run record as a retro-hunt re-scan.
	RetroHunt bool `json:"retro_hunt,omitempty" yaml:"-"`

	// Cluster settings (opensearch / elasticsearch sources); see connectors.
	Cluster *ClusterSettings `json:"cluster,omitempty" yaml:"cluster"`
}

// ClusterSettings configures a cluster source and sink.
type ClusterSettings struct {
	URLs               []string `json:"urls" yaml:"urls"`
	Username           string   `json:"username,omitempty" yaml:"username"`
	Password           string   `json:"-" yaml:"-"` // secret: passed separately, never serialised with settings
	APIKey             string   `json:"-" yaml:"-"` // secret
	CAFile             string   `json:"ca_file,omitempty" yaml:"ca_file"`
	InsecureSkipVerify bool     `json:"insecure_skip_verify,omitempty" yaml:"insecure_skip_verify"`
	Timeout            Duration `json:"timeout,omitempty" yaml:"timeout"`

	DeviceInfoIndex    string `json:"device_info_index,omitempty" yaml:"device_info_index"`
	NetworkEventsIndex string `json:"network_events_index,omitempty" yaml:"network_events_index"`
	Profile            string `json:"profile,omitempty" yaml:"profile"` // advanced-hunting | sentinel | streaming | elastic-m365 | custom
	// ProfileFields maps logical fields to document fields for the custom profile.
	ProfileFields map[string]string `json:"profile_fields,omitempty" yaml:"profile_fields"`
	// IndicatorFeed names the lookup index feed (edgewatch-indicators-<name>); empty = use Feeds files.
	IndicatorFeed string `json:"indicator_feed,omitempty" yaml:"indicator_feed"`
	// AlertIndex is where alerts go (default "edgewatch-alerts-default").
	AlertIndex string `json:"alert_index,omitempty" yaml:"alert_index"`
}
