package correlation

import (
	"encoding/json"
	"time"
)

// Alert is the ECS alert document edgewatch writes for one matched network
// event. Its JSON form is the contract with the index template and the bundled
// dashboards (dashboards/): rename a field here and both must follow.
//
// AppendJSON (encode.go) writes the document; it writes what json.Marshal
// would, except that defender.network_event is written verbatim. A field
// added here must be added to AppendJSON too (TestAppendJSONMatchesMarshal
// fails until it is).
type Alert struct {
	Timestamp time.Time      `json:"@timestamp"`
	Event     AlertEvent     `json:"event"`
	Rule      AlertRule      `json:"rule"`
	Host      AlertHost      `json:"host"`
	Source    Endpoint       `json:"source"`      // the remote peer (the threat-intel address)
	Dest      Endpoint       `json:"destination"` // the local listener on the device
	Network   AlertNetwork   `json:"network"`
	Process   *AlertProcess  `json:"process,omitempty"`
	Threat    AlertThreat    `json:"threat"`
	Edgewatch AlertEdgewatch `json:"edgewatch"`
	Defender  AlertDefender  `json:"defender"`
	Related   AlertRelated   `json:"related"`
	ECS       AlertECS       `json:"ecs"`
}

// AlertECS is the ECS ecs.* block.
type AlertECS struct {
	Version string `json:"version"`
}

// AlertEvent is the ECS event.* block.
type AlertEvent struct {
	Kind     string    `json:"kind"`     // always "alert"
	Category []string  `json:"category"` // ["network","threat"]
	Type     []string  `json:"type"`     // ["connection","indicator"]
	Action   string    `json:"action"`   // the Defender ActionType
	ID       string    `json:"id"`       // the finding id, also the document _id
	Created  time.Time `json:"created"`  // when edgewatch wrote the alert
	Severity int       `json:"severity"` // 21 low, 47 medium, 73 high, 99 critical (Elastic's risk-score scale)
	Dataset  string    `json:"dataset"`  // "edgewatch.alerts"
	Module   string    `json:"module"`   // "edgewatch"
	Provider string    `json:"provider"` // "DeviceNetworkEvents"
	Reason   string    `json:"reason"`   // one human sentence
}

// AlertRule is the ECS rule.* block.
type AlertRule struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Version     string `json:"version"`
	Ruleset     string `json:"ruleset"`
	Description string `json:"description,omitempty"`
	Reference   string `json:"reference,omitempty"`
}

// AlertHost is the ECS host.* block (the Defender device).
type AlertHost struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// Endpoint is an ECS source.* or destination.* block.
type Endpoint struct {
	IP   string `json:"ip,omitempty"`
	Port int    `json:"port,omitempty"`
}

// AlertNetwork is the ECS network.* block.
type AlertNetwork struct {
	Transport string `json:"transport,omitempty"` // lower-case: tcp, udp
	Direction string `json:"direction"`           // always "inbound"
}

// AlertProcess is the ECS process.* block (the initiating process).
type AlertProcess struct {
	Name        string `json:"name,omitempty"`
	PID         int64  `json:"pid,omitempty"`
	Executable  string `json:"executable,omitempty"`
	CommandLine string `json:"command_line,omitempty"`
	Hash        *Hash  `json:"hash,omitempty"`
	Parent      *struct {
		Name string `json:"name,omitempty"`
		PID  int64  `json:"pid,omitempty"`
	} `json:"parent,omitempty"`
	User *struct {
		Name   string `json:"name,omitempty"`
		Domain string `json:"domain,omitempty"`
	} `json:"user,omitempty"`
}

// Hash holds file hashes.
type Hash struct {
	MD5    string `json:"md5,omitempty"`
	SHA1   string `json:"sha1,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
}

// AlertThreat is the ECS threat.* block.
type AlertThreat struct {
	Framework   string             `json:"framework,omitempty"`
	Indicator   ThreatIndicator    `json:"indicator"`
	Feed        ThreatFeed         `json:"feed"`
	Enrichments []ThreatEnrichment `json:"enrichments"`
}

// ThreatIndicator is threat.indicator.* (and each enrichment's indicator).
type ThreatIndicator struct {
	IP          string `json:"ip"`
	Type        string `json:"type"` // "ipv4-addr" or "ipv6-addr"
	Provider    string `json:"provider"`
	Description string `json:"description,omitempty"` // the matched CIDR for range indicators
	Confidence  string `json:"confidence,omitempty"`  // Low / Medium / High from the IPsum level
}

// ThreatFeed is threat.feed.*.
type ThreatFeed struct {
	Name string `json:"name"`
}

// ThreatEnrichment is one entry of threat.enrichments, shaped as Elastic
// Security's indicator-match rules write them.
type ThreatEnrichment struct {
	Indicator ThreatIndicator `json:"indicator"`
	Feed      ThreatFeed      `json:"feed"`
	Matched   struct {
		Atomic string `json:"atomic"` // the matched address
		Field  string `json:"field"`  // "source.ip"
		Type   string `json:"type"`   // "indicator_match_rule"
	} `json:"matched"`
}

// AlertEdgewatch is the edgewatch.* block: what the detection knew.
type AlertEdgewatch struct {
	InternetFacing FacingEvidence    `json:"internet_facing"`
	Indicator      IndicatorEvidence `json:"indicator"`
	Severity       string            `json:"severity"`   // low | medium | high | critical
	RetroHunt      bool              `json:"retro_hunt"` // found by a re-scan after a feed load
	// FindingIDVersion is the scheme of event.id (FindingIDVersion); alerts
	// written before the field existed used scheme 1.
	FindingIDVersion int    `json:"finding_id_version"`
	RunID            string `json:"run_id,omitempty"`
	// GroupID is the id of the group the alert belongs to when its
	// detection groups alerts (GroupSpec): on a per-event finding kept as
	// evidence, the group it counts towards; on a grouped alert, its own id.
	GroupID string `json:"group_id,omitempty"`
	// Suppression is set on grouped alerts only: what the group holds.
	Suppression *Suppression `json:"suppression,omitempty"`
}

// Suppression is edgewatch.suppression.*, the summary a grouped alert
// carries of the events it stands for (Elastic Security's
// kibana.alert.suppression.* under edgewatch's name).
type Suppression struct {
	// Terms are the group-by fields and the group's values (null when the
	// alerts lack the field), in the order the detection names them.
	Terms []SuppressionTerm `json:"terms"`
	// Start and End are the times of the group's first and last events.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// DocsCount is the number of distinct network events (finding ids) in
	// the group.
	DocsCount int64 `json:"docs_count"`
	// WindowStart and WindowEnd bound the group's window [start, end),
	// aligned to UTC multiples of the window length.
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
	// FirstEventID is the finding id of the first event, whose alert the
	// grouped alert carries.
	FirstEventID string `json:"first_event_id"`
}

// SuppressionTerm is one group-by field and its value.
type SuppressionTerm struct {
	Field string  `json:"field"`
	Value *string `json:"value"`
}

// FacingEvidence is edgewatch.internet_facing.*: the DeviceInfo row that made
// the port internet-facing.
type FacingEvidence struct {
	InternetFacing
	DeviceInfoTime time.Time `json:"device_info_time"`
}

// IndicatorEvidence is edgewatch.indicator.*.
type IndicatorEvidence struct {
	Value string `json:"value"`           // the address or CIDR that matched
	Count int    `json:"count,omitempty"` // IPsum count (number of blacklists)
	Level int    `json:"level,omitempty"` // the IPsum level it qualified for (== count capped at 8)
}

// AlertDefender is defender.*: the original row verbatim.
type AlertDefender struct {
	// NetworkEvent is the event's raw record as NewAlert keeps it (see
	// NewAlert): a JSON object, byte for byte as it was read, or a JSON
	// string when the record was not a JSON object. AppendJSON writes it
	// as it is, so it must hold one JSON value.
	NetworkEvent json.RawMessage `json:"network_event"`
	// RawNotObject is set when the event's raw record was not a JSON object
	// (in valid UTF-8) and NetworkEvent holds it as a JSON string instead.
	// It is not part of the document; the engine counts it.
	RawNotObject bool `json:"-"`
}

// AlertRelated is the ECS related.* block.
type AlertRelated struct {
	IP    []string `json:"ip"`
	Hosts []string `json:"hosts,omitempty"`
}
