package correlation

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/edgewatch/edgewatch/internal/jsonenc"
)

// Constant values of the alert document.
const (
	ECSVersion          = "8.11.0"
	AlertDataset        = "edgewatch.alerts"
	AlertModule         = "edgewatch"
	AlertProvider       = "DeviceNetworkEvents"
	EnrichmentField     = "source.ip"
	EnrichmentMatchType = "indicator_match_rule"
)

// NewAlert builds the alert document for a match. created is the write time.
//
// Empty rule fields take DefaultRule's values. source.* is the remote peer
// (the threat-intel address) and destination.* the local listener, the way
// round an analyst reads an inbound connection (Elastic's m365_defender
// pipeline swaps them for events without a direction; edgewatch does not).
//
// defender.network_event is ev.Raw itself when it is one JSON object in
// valid UTF-8: the record's bytes as the connector read them, never
// re-serialised (line breaks between tokens, possible only in a record read
// from a multi-line JSON document, become spaces so that the document stays
// on one NDJSON line; the slice is then a copy). A Raw that is anything else
// is kept as a JSON string holding its text (invalid UTF-8 as U+FFFD) and
// flagged in Defender.RawNotObject; an empty Raw gives a flat object of the
// event's known fields under their Advanced Hunting names.
//
// The alert and its slices are one allocation; the strings it holds are a
// few more.
func NewAlert(ev *NetworkEvent, m Match, rule Rule, created time.Time) *Alert {
	rule = rule.withDefaults()
	remote := m.Remote
	if !remote.IsValid() {
		remote, _ = EventRemote(ev)
	}
	remote = NormalizeAddr(remote)
	remoteText := addrText(remote, ev.RemoteIPRaw)
	localText := eventLocalIP(ev)
	deviceName := ev.DeviceName
	if deviceName == "" && m.Facing != nil {
		deviceName = m.Facing.Row.DeviceName
	}

	ind := m.Indicator
	feedName := ind.Feed
	if feedName == "" {
		feedName = DefaultFeedName
	}
	rangeText := ""
	if ind.Prefix.IsValid() && ind.IsRange() {
		rangeText = ind.Prefix.String()
	}
	sevLabel, sevScore := SeverityForLevel(ind.Level)
	ti := ThreatIndicator{
		IP:          remoteText,
		Type:        indicatorType(remote),
		Provider:    FeedProvider(feedName),
		Description: rangeText,
		Confidence:  ConfidenceForLevel(ind.Level),
	}
	transport := Transport(ev.Protocol)

	blk := &alertBlock{
		category: [2]string{"network", "threat"},
		typ:      [2]string{"connection", "indicator"},
	}
	en := &blk.enrichments[0]
	en.Indicator, en.Feed = ti, ThreatFeed{Name: feedName}
	en.Matched.Atomic, en.Matched.Field, en.Matched.Type = remoteText, EnrichmentField, EnrichmentMatchType

	a := &blk.a
	*a = Alert{
		Timestamp: ev.Time.UTC(),
		Event: AlertEvent{
			Kind:     "alert",
			Category: blk.category[:],
			Type:     blk.typ[:],
			Action:   ev.ActionType,
			ID:       FindingID(rule.ID, ev.DeviceID, ev.ReportID, ev.Time, remote, ev.LocalPort),
			Created:  created.UTC(),
			Severity: sevScore,
			Dataset:  AlertDataset,
			Module:   AlertModule,
			Provider: AlertProvider,
			Reason:   alertReason(ev, deviceName, remoteText, transport, ind, rangeText, ti.Provider),
		},
		Rule: AlertRule{
			ID:          rule.ID,
			Name:        rule.Name,
			Version:     rule.Version,
			Ruleset:     RuleRuleset,
			Description: rule.Description,
			Reference:   rule.Reference,
		},
		Host:    AlertHost{ID: ev.DeviceID, Name: deviceName},
		Source:  Endpoint{IP: remoteText, Port: portOrZero(ev.RemotePort)},
		Dest:    Endpoint{IP: localText, Port: portOrZero(ev.LocalPort)},
		Network: AlertNetwork{Transport: transport, Direction: "inbound"},
		Process: alertProcess(&ev.Process),
		Threat: AlertThreat{
			Indicator:   ti,
			Feed:        ThreatFeed{Name: feedName},
			Enrichments: blk.enrichments[:],
		},
		Edgewatch: AlertEdgewatch{
			Indicator:        IndicatorEvidence{Value: indicatorValue(ind, remote, remoteText, rangeText), Count: ind.Count, Level: ind.Level},
			Severity:         sevLabel,
			FindingIDVersion: FindingIDVersion,
		},
		ECS: AlertECS{Version: ECSVersion},
	}
	a.Defender.NetworkEvent, a.Defender.RawNotObject = networkEventJSON(ev)
	n := 0
	for _, ip := range [2]string{remoteText, localText} {
		if ip != "" && (n == 0 || blk.relatedIP[0] != ip) {
			blk.relatedIP[n] = ip
			n++
		}
	}
	a.Related.IP = blk.relatedIP[:n]
	if m.Facing != nil {
		a.Edgewatch.InternetFacing = FacingEvidence{InternetFacing: m.Facing.Row.Facing, DeviceInfoTime: m.Facing.Row.Time.UTC()}
	} else {
		a.Edgewatch.InternetFacing.LocalPort = NoPort
	}
	if deviceName != "" {
		blk.hosts[0] = deviceName
		a.Related.Hosts = blk.hosts[:]
	}
	return a
}

// alertBlock holds an alert and the backing arrays of its slices, so that
// NewAlert makes them in one allocation.
type alertBlock struct {
	a           Alert
	category    [2]string
	typ         [2]string
	enrichments [1]ThreatEnrichment
	relatedIP   [2]string
	hosts       [1]string
}

// addrText is a's text; raw (the text the address was read from) is reused
// when it is already that text, sparing an allocation.
func addrText(a netip.Addr, raw string) string {
	if !a.IsValid() {
		return ""
	}
	var buf [64]byte
	if b := a.AppendTo(buf[:0]); string(b) == raw {
		return raw
	}
	return a.String()
}

// FeedProvider is the threat.indicator.provider for a feed name: "IPsum" for
// the ipsum feed, the name itself otherwise.
func FeedProvider(feed string) string {
	if strings.EqualFold(feed, DefaultFeedName) {
		return "IPsum"
	}
	return feed
}

// Transport maps Defender's Protocol ("Tcp", "Udp", "TcpV4", "UdpV6"...) to
// ECS network.transport ("tcp", "udp").
func Transport(protocol string) string {
	switch protocol { // Defender's own spellings, without allocating
	case "Tcp", "TcpV4", "TcpV6", "tcp":
		return "tcp"
	case "Udp", "UdpV4", "UdpV6", "udp":
		return "udp"
	}
	p := strings.ToLower(strings.TrimSpace(protocol))
	if strings.HasSuffix(p, "v4") || strings.HasSuffix(p, "v6") {
		p = p[:len(p)-2]
	}
	return p
}

func indicatorType(a netip.Addr) string {
	if a.Is6() {
		return "ipv6-addr"
	}
	return "ipv4-addr"
}

// indicatorValue is edgewatch.indicator.value: the range's text, or the
// matched address (remoteText when the indicator is the remote itself).
func indicatorValue(ind Indicator, remote netip.Addr, remoteText, rangeText string) string {
	switch {
	case rangeText != "":
		return rangeText
	case ind.Prefix.IsValid() && ind.Prefix.Addr() != remote:
		return ind.Value()
	}
	return remoteText
}

func portOrZero(p int) int {
	if p < 0 || p > 65535 {
		return 0
	}
	return p
}

// eventLocalIP is the local address, unmapped, or the raw text when it did
// not parse.
func eventLocalIP(ev *NetworkEvent) string {
	if ev.LocalIP.IsValid() {
		return addrText(NormalizeAddr(ev.LocalIP), ev.LocalIPRaw)
	}
	raw := strings.TrimSpace(ev.LocalIPRaw)
	if a, err := netip.ParseAddr(raw); err == nil {
		return addrText(NormalizeAddr(a), raw)
	}
	return raw
}

// alertReason is event.reason: "Device web01 accepted an inbound tcp
// connection on internet-facing port 3389 from 77.90.185.20, listed by IPsum
// at level 8 (on 10 blacklists)." The feed is named by its provider name
// (FeedProvider).
func alertReason(ev *NetworkEvent, device, remote, transport string, ind Indicator, rangeText, provider string) string {
	var buf [320]byte
	b := append(buf[:0], "Device "...)
	if device == "" {
		device = ev.DeviceID
	}
	b = append(b, device...)
	b = append(b, " accepted an inbound"...)
	if transport != "" {
		b = append(b, ' ')
		b = append(b, transport...)
	}
	b = append(b, " connection on internet-facing port "...)
	b = strconv.AppendInt(b, int64(ev.LocalPort), 10)
	b = append(b, " from "...)
	b = append(b, remote...)
	if rangeText != "" {
		b = append(b, " (in "...)
		b = append(b, rangeText...)
		b = append(b, ')')
	}
	b = append(b, ", listed by "...)
	b = append(b, provider...)
	if ind.Level > 0 {
		b = append(b, " at level "...)
		b = strconv.AppendInt(b, int64(ind.Level), 10)
		if ind.Count > 0 {
			b = append(b, " (on "...)
			b = strconv.AppendInt(b, int64(ind.Count), 10)
			b = append(b, " blacklists)"...)
		}
	}
	b = append(b, '.')
	return string(b)
}

// processBlock holds an alert's process block and its parts, so that
// alertProcess makes them in one allocation.
type processBlock struct {
	p      AlertProcess
	hash   Hash
	parent struct {
		Name string `json:"name,omitempty"`
		PID  int64  `json:"pid,omitempty"`
	}
	user struct {
		Name   string `json:"name,omitempty"`
		Domain string `json:"domain,omitempty"`
	}
}

func alertProcess(p *Process) *AlertProcess {
	if *p == (Process{}) {
		return nil
	}
	blk := &processBlock{p: AlertProcess{
		Name:        p.FileName,
		PID:         p.PID,
		Executable:  p.FolderPath,
		CommandLine: p.CommandLine,
	}}
	ap := &blk.p
	if p.MD5 != "" || p.SHA1 != "" || p.SHA256 != "" {
		blk.hash = Hash{MD5: p.MD5, SHA1: p.SHA1, SHA256: p.SHA256}
		ap.Hash = &blk.hash
	}
	if p.ParentName != "" || p.ParentPID != 0 {
		blk.parent.Name, blk.parent.PID = p.ParentName, p.ParentPID
		ap.Parent = &blk.parent
	}
	if p.AccountName != "" || p.AccountDom != "" {
		blk.user.Name, blk.user.Domain = p.AccountName, p.AccountDom
		ap.User = &blk.user
	}
	return ap
}

// flatNetworkEvent is the fallback defender.network_event: the event's known
// fields under their Advanced Hunting column names.
type flatNetworkEvent struct {
	Timestamp                      time.Time `json:"Timestamp,omitzero"`
	DeviceID                       string    `json:"DeviceId,omitempty"`
	DeviceName                     string    `json:"DeviceName,omitempty"`
	ActionType                     string    `json:"ActionType,omitempty"`
	RemoteIP                       string    `json:"RemoteIP,omitempty"`
	RemotePort                     *int      `json:"RemotePort,omitempty"`
	LocalIP                        string    `json:"LocalIP,omitempty"`
	LocalPort                      *int      `json:"LocalPort,omitempty"`
	Protocol                       string    `json:"Protocol,omitempty"`
	ReportID                       string    `json:"ReportId,omitempty"`
	InitiatingProcessFileName      string    `json:"InitiatingProcessFileName,omitempty"`
	InitiatingProcessFolderPath    string    `json:"InitiatingProcessFolderPath,omitempty"`
	InitiatingProcessCommandLine   string    `json:"InitiatingProcessCommandLine,omitempty"`
	InitiatingProcessID            int64     `json:"InitiatingProcessId,omitempty"`
	InitiatingProcessSHA1          string    `json:"InitiatingProcessSHA1,omitempty"`
	InitiatingProcessSHA256        string    `json:"InitiatingProcessSHA256,omitempty"`
	InitiatingProcessMD5           string    `json:"InitiatingProcessMD5,omitempty"`
	InitiatingProcessAccountName   string    `json:"InitiatingProcessAccountName,omitempty"`
	InitiatingProcessAccountDomain string    `json:"InitiatingProcessAccountDomain,omitempty"`
	InitiatingProcessParentName    string    `json:"InitiatingProcessParentFileName,omitempty"`
	InitiatingProcessParentID      int64     `json:"InitiatingProcessParentId,omitempty"`
}

// networkEventJSON is defender.network_event for ev (see NewAlert) and
// whether the raw record was not a JSON object.
func networkEventJSON(ev *NetworkEvent) (json.RawMessage, bool) {
	if len(ev.Raw) > 0 {
		if !rawObject(ev.Raw) {
			return jsonenc.AppendString(nil, ev.Raw), true
		}
		if bytes.IndexByte(ev.Raw, '\n') < 0 && bytes.IndexByte(ev.Raw, '\r') < 0 {
			return ev.Raw, false
		}
		// Outside strings a valid record can only hold line breaks as
		// whitespace: a space in their place keeps every other byte.
		raw := bytes.Clone(ev.Raw)
		for i, c := range raw {
			if c == '\n' || c == '\r' {
				raw[i] = ' '
			}
		}
		return raw, false
	}
	ip := func(a netip.Addr, raw string) string {
		if a.IsValid() {
			return a.String()
		}
		return raw
	}
	port := func(p int) *int {
		if p == NoPort {
			return nil
		}
		return &p
	}
	f := flatNetworkEvent{
		Timestamp:                      ev.Time.UTC(),
		DeviceID:                       ev.DeviceID,
		DeviceName:                     ev.DeviceName,
		ActionType:                     ev.ActionType,
		RemoteIP:                       ip(ev.RemoteIP, ev.RemoteIPRaw),
		RemotePort:                     port(ev.RemotePort),
		LocalIP:                        ip(ev.LocalIP, ev.LocalIPRaw),
		LocalPort:                      port(ev.LocalPort),
		Protocol:                       ev.Protocol,
		ReportID:                       ev.ReportID,
		InitiatingProcessFileName:      ev.Process.FileName,
		InitiatingProcessFolderPath:    ev.Process.FolderPath,
		InitiatingProcessCommandLine:   ev.Process.CommandLine,
		InitiatingProcessID:            ev.Process.PID,
		InitiatingProcessSHA1:          ev.Process.SHA1,
		InitiatingProcessSHA256:        ev.Process.SHA256,
		InitiatingProcessMD5:           ev.Process.MD5,
		InitiatingProcessAccountName:   ev.Process.AccountName,
		InitiatingProcessAccountDomain: ev.Process.AccountDom,
		InitiatingProcessParentName:    ev.Process.ParentName,
		InitiatingProcessParentID:      ev.Process.ParentPID,
	}
	b, err := json.Marshal(f)
	if err != nil {
		return json.RawMessage("{}"), false
	}
	return b, false
}
