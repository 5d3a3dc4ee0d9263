package correlation

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/edgewatch/edgewatch/internal/golden"
)

var (
	alertCreated = time.Date(2026, 8, 22, 10, 20, 0, 0, time.UTC)
	rawEvent     = `{"Timestamp":"2026-08-22T10:15:30.1234567Z","DeviceId":"4f8e2b1c9d0a7e6f5b4c3d2e1f0a9b8c7d6e5f4a","DeviceName":"web01.contoso.com","ActionType":"InboundConnectionAccepted","RemoteIP":"::ffff:77.90.185.20","RemotePort":51544,"LocalIP":"::ffff:10.0.0.4","LocalPort":3389,"Protocol":"Tcp","InitiatingProcessFileName":"svchost.exe","InitiatingProcessFolderPath":"c:\\windows\\system32\\svchost.exe","InitiatingProcessId":1234,"InitiatingProcessCommandLine":"svchost.exe -k termsvcs -s TermService","InitiatingProcessSHA1":"a1b2c3","InitiatingProcessSHA256":"d4e5f6","InitiatingProcessMD5":"0718","InitiatingProcessAccountName":"network service","InitiatingProcessAccountDomain":"nt authority","InitiatingProcessParentFileName":"services.exe","InitiatingProcessParentId":700,"ReportId":31337,"AdditionalFields":null}`
)

func goldenEvent() *NetworkEvent {
	return &NetworkEvent{
		Time:        goldenTime,
		DeviceID:    goldenDevice,
		DeviceName:  "web01.contoso.com",
		ActionType:  ActionInboundAccepted,
		RemoteIP:    netip.MustParseAddr("::ffff:77.90.185.20"),
		RemoteIPRaw: "::ffff:77.90.185.20",
		RemotePort:  51544,
		LocalIP:     netip.MustParseAddr("::ffff:10.0.0.4"),
		LocalIPRaw:  "::ffff:10.0.0.4",
		LocalPort:   3389,
		Protocol:    "Tcp",
		ReportID:    "31337",
		Process: Process{
			FileName: "svchost.exe", FolderPath: `c:\windows\system32\svchost.exe`, CommandLine: "svchost.exe -k termsvcs -s TermService",
			PID: 1234, SHA1: "a1b2c3", SHA256: "d4e5f6", MD5: "0718", AccountName: "network service", AccountDom: "nt authority",
			ParentName: "services.exe", ParentPID: 700,
		},
		Raw: json.RawMessage(rawEvent),
		Loc: Location{Source: "events.ndjson", Line: 7},
	}
}

func goldenFacing() *FacingPort {
	return &FacingPort{DeviceID: goldenDevice, Port: 3389, Row: DeviceInfo{
		Time:             time.Date(2026, 8, 22, 9, 0, 0, 0, time.UTC),
		DeviceID:         goldenDevice,
		DeviceName:       "web01.contoso.com",
		IsInternetFacing: true,
		PublicIP:         "52.1.2.3",
		Facing: InternetFacing{
			Reason: "ExternalNetworkConnection", LocalIP: "10.0.0.4", LocalPort: 3389,
			PublicScannedIP: "52.1.2.3", PublicScannedPort: 3389, TransportProtocol: "Tcp",
			LastSeen: time.Date(2026, 8, 22, 8, 59, 0, 123456700, time.UTC),
		},
	}}
}

// marshalAlert renders a's document (AppendJSON) indented for a golden file.
func marshalAlert(t *testing.T, a *Alert) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.Indent(&b, a.AppendJSON(nil), "", "  "); err != nil {
		t.Fatalf("alert document is not JSON: %v", err)
	}
	return append(b.Bytes(), '\n')
}

func TestNewAlertGolden(t *testing.T) {
	tests := []struct {
		name   string
		file   string
		ev     func() *NetworkEvent
		match  Match
		rule   Rule
		checks func(t *testing.T, a *Alert)
	}{
		{
			name:  "exact IPsum indicator, full row",
			file:  "alert.golden.json",
			ev:    goldenEvent,
			match: Match{Facing: goldenFacing(), Remote: goldenRemote, Indicator: Indicator{Prefix: netip.PrefixFrom(goldenRemote, 32), Count: 10, Level: 8, Feed: "ipsum"}},
			checks: func(t *testing.T, a *Alert) {
				if a.Event.ID != goldenFindingID {
					t.Errorf("event.id = %s, want the golden finding id", a.Event.ID)
				}
				if a.Source.IP != "77.90.185.20" || a.Source.Port != 51544 || a.Dest.IP != "10.0.0.4" || a.Dest.Port != 3389 {
					t.Errorf("source %+v destination %+v", a.Source, a.Dest)
				}
				if a.Event.Severity != ScoreCritical || a.Edgewatch.Severity != SeverityCritical {
					t.Errorf("severity %d %s", a.Event.Severity, a.Edgewatch.Severity)
				}
				if string(a.Defender.NetworkEvent) != rawEvent {
					t.Error("defender.network_event is not the raw row verbatim")
				}
			},
		},
		{
			name: "CIDR indicator from a custom feed, no raw row, no process",
			file: "alert-range-noraw.golden.json",
			ev: func() *NetworkEvent {
				ev := goldenEvent()
				ev.Raw, ev.Process, ev.Protocol = nil, Process{}, "UdpV6"
				ev.RemoteIP = netip.MustParseAddr("2a00:1450:4001::1")
				ev.LocalIP, ev.LocalIPRaw = netip.Addr{}, "fe80::1%eth0"
				ev.RemotePort = NoPort
				return ev
			},
			match: Match{Facing: goldenFacing(), Remote: netip.MustParseAddr("2a00:1450:4001::1"), Indicator: Indicator{Prefix: netip.MustParsePrefix("2a00:1450::/32"), Feed: "corp-blocklist"}},
			rule:  Rule{ID: "custom-rule", Reference: "https://example.org/runbook"},
			checks: func(t *testing.T, a *Alert) {
				if a.Process != nil {
					t.Errorf("process = %+v, want nil", a.Process)
				}
				if a.Threat.Indicator.Type != "ipv6-addr" || a.Threat.Indicator.Description != "2a00:1450::/32" || a.Threat.Indicator.Provider != "corp-blocklist" {
					t.Errorf("threat.indicator %+v", a.Threat.Indicator)
				}
				if a.Network.Transport != "udp" || a.Rule.ID != "custom-rule" || a.Rule.Name != DefaultRuleName {
					t.Errorf("network %+v rule %+v", a.Network, a.Rule)
				}
				var flat map[string]any
				if err := json.Unmarshal(a.Defender.NetworkEvent, &flat); err != nil || flat["DeviceId"] != goldenDevice || flat["LocalPort"] != float64(3389) {
					t.Errorf("fallback network_event %s: %v", a.Defender.NetworkEvent, err)
				}
				if _, ok := flat["RemotePort"]; ok {
					t.Error("NoPort remote port written into the fallback row")
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := NewAlert(tt.ev(), tt.match, tt.rule, alertCreated)
			tt.checks(t, a)
			golden.Check(t, filepath.Join("testdata", tt.file), marshalAlert(t, a))
		})
	}
}

func TestNewAlertFields(t *testing.T) {
	ev := goldenEvent()
	m := Match{Facing: goldenFacing(), Remote: goldenRemote, Indicator: Indicator{Prefix: netip.PrefixFrom(goldenRemote, 32), Count: 4, Level: 4, Feed: "ipsum"}}
	a := NewAlert(ev, m, Rule{}, alertCreated.In(time.FixedZone("X", 3600)))

	want := struct {
		Kind, Action, Dataset, Module, Provider, RuleID, RuleVersion, Ruleset, Direction, ECS, Confidence, IndProvider, Feed string
		Category, Type, RelatedIP, Hosts                                                                                     []string
		Created                                                                                                              time.Time
	}{
		"alert", ActionInboundAccepted, "edgewatch.alerts", "edgewatch", "DeviceNetworkEvents", DefaultRuleID, "1", "edgewatch", "inbound", "8.11.0", "Medium", "IPsum", "ipsum",
		[]string{"network", "threat"}, []string{"connection", "indicator"}, []string{"77.90.185.20", "10.0.0.4"}, []string{"web01.contoso.com"},
		alertCreated,
	}
	got := want
	got.Kind, got.Action, got.Dataset, got.Module, got.Provider = a.Event.Kind, a.Event.Action, a.Event.Dataset, a.Event.Module, a.Event.Provider
	got.RuleID, got.RuleVersion, got.Ruleset, got.Direction, got.ECS = a.Rule.ID, a.Rule.Version, a.Rule.Ruleset, a.Network.Direction, a.ECS.Version
	got.Confidence, got.IndProvider, got.Feed = a.Threat.Indicator.Confidence, a.Threat.Indicator.Provider, a.Threat.Feed.Name
	got.Category, got.Type, got.RelatedIP, got.Hosts, got.Created = a.Event.Category, a.Event.Type, a.Related.IP, a.Related.Hosts, a.Event.Created
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("alert fields (-want +got):\n%s", diff)
	}
	if len(a.Threat.Enrichments) != 1 {
		t.Fatalf("enrichments = %d, want 1", len(a.Threat.Enrichments))
	}
	e := a.Threat.Enrichments[0]
	if e.Matched.Atomic != "77.90.185.20" || e.Matched.Field != "source.ip" || e.Matched.Type != "indicator_match_rule" || e.Indicator.IP != "77.90.185.20" {
		t.Errorf("enrichment %+v", e)
	}
	if a.Edgewatch.InternetFacing.LocalPort != 3389 || !a.Edgewatch.InternetFacing.DeviceInfoTime.Equal(m.Facing.Row.Time) {
		t.Errorf("internet_facing %+v", a.Edgewatch.InternetFacing)
	}
	if a.Edgewatch.Indicator != (IndicatorEvidence{Value: "77.90.185.20", Count: 4, Level: 4}) {
		t.Errorf("edgewatch.indicator %+v", a.Edgewatch.Indicator)
	}
	if !a.Timestamp.Equal(ev.Time) || a.Timestamp.Location() != time.UTC {
		t.Errorf("@timestamp %v", a.Timestamp)
	}
	if a.Process == nil || a.Process.Parent == nil || a.Process.Parent.PID != 700 || a.Process.User == nil || a.Process.Hash == nil {
		t.Errorf("process %+v", a.Process)
	}
	// Same input, same document id; the write time does not enter the id.
	b := NewAlert(goldenEvent(), m, Rule{}, alertCreated.Add(time.Hour))
	if a.Event.ID != b.Event.ID {
		t.Error("event.id depends on the write time")
	}
}

func TestNewAlertNoFacingEvidence(t *testing.T) {
	a := NewAlert(goldenEvent(), Match{Remote: goldenRemote}, Rule{}, alertCreated)
	if a.Edgewatch.InternetFacing.LocalPort != NoPort {
		t.Errorf("no facing evidence should read NoPort, got %d", a.Edgewatch.InternetFacing.LocalPort)
	}
}

func TestTransport(t *testing.T) {
	for in, want := range map[string]string{"Tcp": "tcp", "Udp": "udp", "TcpV4": "tcp", "UdpV6": "udp", "Icmp": "icmp", "": "", " TCP ": "tcp"} {
		if got := Transport(in); got != want {
			t.Errorf("Transport(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSeverityForLevel(t *testing.T) {
	tests := []struct {
		level      int
		label      string
		score      int
		confidence string
	}{
		{-1, SeverityMedium, 47, "Not Specified"},
		{0, SeverityMedium, 47, "Not Specified"},
		{1, SeverityLow, 21, "Low"},
		{2, SeverityLow, 21, "Low"},
		{3, SeverityMedium, 47, "Medium"},
		{4, SeverityMedium, 47, "Medium"},
		{5, SeverityHigh, 73, "High"},
		{6, SeverityHigh, 73, "High"},
		{7, SeverityCritical, 99, "High"},
		{8, SeverityCritical, 99, "High"},
		{12, SeverityCritical, 99, "High"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("level %d", tt.level), func(t *testing.T) {
			label, score := SeverityForLevel(tt.level)
			if label != tt.label || score != tt.score || ConfidenceForLevel(tt.level) != tt.confidence {
				t.Errorf("level %d: %s %d %s; want %s %d %s", tt.level, label, score, ConfidenceForLevel(tt.level), tt.label, tt.score, tt.confidence)
			}
		})
	}
}
