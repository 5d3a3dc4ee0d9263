package correlation

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"
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
// defender.network_event is ev.Raw verbatim when it is valid JSON, otherwise a
// flat object of the event's known fields under their Advanced Hunting names.
func NewAlert(ev *NetworkEvent, m Match, rule Rule, created time.Time) *Alert {
	rule = rule.withDefaults()
	remote := m.Remote
	if !remote.IsValid() {
		remote, _ = EventRemote(ev)
	}
	remote = NormalizeAddr(remote)
	remoteText := ""
	if remote.IsValid() {
		remoteText = remote.String()
	}
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
	sevLabel, sevScore := SeverityForLevel(ind.Level)
	ti := ThreatIndicator{
		IP:         remoteText,
		Type:       indicatorType(remote),
		Provider:   FeedProvider(feedName),
		Confidence: ConfidenceForLevel(ind.Level),
	}
	if ind.Prefix.IsValid() && ind.IsRange() {
		ti.Description = ind.Prefix.String()
	}
	enrichment := ThreatEnrichment{Indicator: ti, Feed: ThreatFeed{Name: feedName}}
	enrichment.Matched.Atomic = remoteText
	enrichment.Matched.Field = EnrichmentField
	enrichment.Matched.Type = EnrichmentMatchType

	a := &Alert{
		Timestamp: ev.Time.UTC(),
		Event: AlertEvent{
			Kind:     "alert",
			Category: []string{"network", "threat"},
			Type:     []string{"connection", "indicator"},
			Action:   ev.ActionType,
			ID:       FindingID(rule.ID, ev.DeviceID, ev.ReportID, ev.Time, remote, ev.LocalPort),
			Created:  created.UTC(),
			Severity: sevScore,
			Dataset:  AlertDataset,
			Module:   AlertModule,
			Provider: AlertProvider,
			Reason:   alertReason(ev, deviceName, remoteText, ind, feedName),
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
		Network: AlertNetwork{Transport: Transport(ev.Protocol), Direction: "inbound"},
		Process: alertProcess(&ev.Process),
		Threat: AlertThreat{
			Indicator:   ti,
			Feed:        ThreatFeed{Name: feedName},
			Enrichments: []ThreatEnrichment{enrichment},
		},
		Edgewatch: AlertEdgewatch{
			Indicator: IndicatorEvidence{Value: indicatorValue(ind, remote), Count: ind.Count, Level: ind.Level},
			Severity:  sevLabel,
		},
		Defender: AlertDefender{NetworkEvent: networkEventJSON(ev)},
		Related:  AlertRelated{IP: related(remoteText, localText)},
		ECS:      map[string]string{"version": ECSVersion},
	}
	if m.Facing != nil {
		a.Edgewatch.InternetFacing = FacingEvidence{InternetFacing: m.Facing.Row.Facing, DeviceInfoTime: m.Facing.Row.Time.UTC()}
	} else {
		a.Edgewatch.InternetFacing.LocalPort = NoPort
	}
	if deviceName != "" {
		a.Related.Hosts = []string{deviceName}
	}
	return a
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

func indicatorValue(ind Indicator, remote netip.Addr) string {
	if ind.Prefix.IsValid() {
		return ind.Value()
	}
	if remote.IsValid() {
		return remote.String()
	}
	return ""
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
		return NormalizeAddr(ev.LocalIP).String()
	}
	raw := strings.TrimSpace(ev.LocalIPRaw)
	if a, err := netip.ParseAddr(raw); err == nil {
		return NormalizeAddr(a).String()
	}
	return raw
}

func related(ips ...string) []string {
	out := make([]string, 0, len(ips))
	for _, ip := range ips {
		if ip == "" {
			continue
		}
		dup := false
		for _, o := range out {
			dup = dup || o == ip
		}
		if !dup {
			out = append(out, ip)
		}
	}
	return out
}

func alertReason(ev *NetworkEvent, device, remote string, ind Indicator, feed string) string {
	var b strings.Builder
	if device == "" {
		device = ev.DeviceID
	}
	fmt.Fprintf(&b, "Device %s accepted an inbound", device)
	if t := Transport(ev.Protocol); t != "" {
		b.WriteString(" " + t)
	}
	fmt.Fprintf(&b, " connection on internet-facing port %d from %s", ev.LocalPort, remote)
	if ind.Prefix.IsValid() && ind.IsRange() {
		fmt.Fprintf(&b, " (in %s)", ind.Prefix)
	}
	fmt.Fprintf(&b, ", listed by %s", FeedProvider(feed))
	switch {
	case ind.Level > 0 && ind.Count > 0:
		fmt.Fprintf(&b, " at level %d (on %d blacklists)", ind.Level, ind.Count)
	case ind.Level > 0:
		fmt.Fprintf(&b, " at level %d", ind.Level)
	}
	b.WriteString(".")
	return b.String()
}

func alertProcess(p *Process) *AlertProcess {
	if *p == (Process{}) {
		return nil
	}
	ap := &AlertProcess{
		Name:        p.FileName,
		PID:         p.PID,
		Executable:  p.FolderPath,
		CommandLine: p.CommandLine,
	}
	if p.MD5 != "" || p.SHA1 != "" || p.SHA256 != "" {
		ap.Hash = &Hash{MD5: p.MD5, SHA1: p.SHA1, SHA256: p.SHA256}
	}
	if p.ParentName != "" || p.ParentPID != 0 {
		ap.Parent = &struct {
			Name string `json:"name,omitempty"`
			PID  int64  `json:"pid,omitempty"`
		}{Name: p.ParentName, PID: p.ParentPID}
	}
	if p.AccountName != "" || p.AccountDom != "" {
		ap.User = &struct {
			Name   string `json:"name,omitempty"`
			Domain string `json:"domain,omitempty"`
		}{Name: p.AccountName, Domain: p.AccountDom}
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

func networkEventJSON(ev *NetworkEvent) json.RawMessage {
	if len(ev.Raw) > 0 && json.Valid(ev.Raw) {
		return ev.Raw
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
		return json.RawMessage("{}")
	}
	return b
}
