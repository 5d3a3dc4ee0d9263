package cli

import (
	"fmt"
	"github.com/edgewatch/edgewatch/internal/duration"
	"strings"
	"time"
)

// Settings is the host's copy of the run settings document the plugin
// decodes into internal/engine.Settings. The host cannot import the engine
// (it pulls in correlation/ and connectors/), so the JSON keys here are kept
// identical by TestSettingsKeysMatchEngine.
type Settings struct {
	Source         string           `json:"source"`
	DeviceInfo     []string         `json:"device_info,omitempty"`
	NetworkEvents  []string         `json:"network_events,omitempty"`
	Feeds          []string         `json:"feeds,omitempty"`
	FeedName       string           `json:"feed_name,omitempty"`
	MinLevel       int              `json:"min_level,omitempty"`
	KeepNonGlobal  bool             `json:"keep_non_global,omitempty"`
	From           time.Time        `json:"from,omitzero"`
	To             time.Time        `json:"to,omitzero"`
	FacingLookback Duration         `json:"facing_lookback,omitempty"`
	ExcludePorts   []int            `json:"exclude_ports,omitempty"`
	Allow          []string         `json:"allow,omitempty"`
	RuleID         string           `json:"rule_id,omitempty"`
	RuleName       string           `json:"rule_name,omitempty"`
	Detection      string           `json:"detection,omitempty"`
	Trigger        string           `json:"trigger,omitempty"`
	RetroHunt      bool             `json:"retro_hunt,omitempty"`
	Cluster        *ClusterSettings `json:"cluster,omitempty"`
}

// ClusterSettings mirrors internal/engine.ClusterSettings. Secrets are not
// fields: they travel in the request's secrets map.
type ClusterSettings struct {
	URLs               []string          `json:"urls"`
	Username           string            `json:"username,omitempty"`
	CAFile             string            `json:"ca_file,omitempty"`
	InsecureSkipVerify bool              `json:"insecure_skip_verify,omitempty"`
	Timeout            Duration          `json:"timeout,omitempty"`
	DeviceInfoIndex    string            `json:"device_info_index,omitempty"`
	NetworkEventsIndex string            `json:"network_events_index,omitempty"`
	Profile            string            `json:"profile,omitempty"`
	ProfileFields      map[string]string `json:"profile_fields,omitempty"`
	IndicatorFeed      string            `json:"indicator_feed,omitempty"`
	AlertIndex         string            `json:"alert_index,omitempty"`
}

// Duration is a time.Duration written as a Go duration string, the form
// engine.Duration reads; it parses "30d" and "1d12h" too.
type Duration = duration.Duration

// ParseDuration accepts Go durations plus whole days: "30d", "1d12h", "90m".
var ParseDuration = duration.Parse

// ParseTime reads a window bound: "now", a relative offset from now
// ("-24h", "-7d", "+1h"), an RFC 3339 time, or a date (UTC midnight).
func ParseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return time.Time{}, nil
	case strings.EqualFold(s, "now"):
		return now, nil
	case s[0] == '-' || s[0] == '+':
		d, err := ParseDuration(s[1:])
		if err != nil {
			return time.Time{}, fmt.Errorf("invalid time %q: want now, -24h, -7d, RFC 3339 or YYYY-MM-DD", s)
		}
		if s[0] == '-' {
			d = -d
		}
		return now.Add(d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("invalid time %q: want now, -24h, -7d, RFC 3339 or YYYY-MM-DD", s)
}
