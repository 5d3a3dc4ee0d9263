package cluster

import (
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/correlation"
	"github.com/google/go-cmp/cmp"
)

func mustProfile(t *testing.T, name string, o map[string]string) *Profile {
	t.Helper()
	p, err := NewProfile(name, o)
	if err != nil {
		t.Fatalf("NewProfile(%q): %v", name, err)
	}
	return p
}

func TestNewProfileErrors(t *testing.T) {
	tests := []struct {
		name    string
		profile string
		o       map[string]string
		want    string
	}{
		{"unknown profile", "splunk", nil, "unknown field profile"},
		{"custom without fields", ProfileCustom, nil, "no profile fields"},
		{"unknown logical field", ProfileCustom, map[string]string{"Remote": "x"}, "unknown profile fields Remote"},
		{"empty required field", ProfileAdvancedHunting, map[string]string{FieldDeviceID: ""}, "DeviceId must not be empty"},
		{"empty action", ProfileAdvancedHunting, map[string]string{KeyInboundAction: ""}, "empty InboundActionValue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewProfile(tt.profile, tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestDecodeDeviceInfo(t *testing.T) {
	ts := time.Date(2025, 1, 2, 3, 4, 5, 123456700, time.UTC)
	facing := correlation.InternetFacing{
		Reason: "ExternalNetworkConnection", LocalIP: "10.0.0.4", LocalPort: 3389,
		TransportProtocol: "Tcp", LastSeen: time.Date(2025, 1, 1, 10, 0, 0, 0, time.UTC),
	}
	af := `{"InternetFacingReason":"ExternalNetworkConnection","InternetFacingLocalIp":"10.0.0.4","InternetFacingLocalPort":3389,"InternetFacingTransportProtocol":"Tcp","InternetFacingLastSeen":"2025-01-01T10:00:00Z"}`
	afQuoted, _ := json.Marshal(af)
	tests := []struct {
		name    string
		profile string
		o       map[string]string
		src     string
		want    correlation.DeviceInfo
		reason  string // expected skip reason
	}{
		{
			name:    "advanced hunting, AdditionalFields as JSON text",
			profile: ProfileAdvancedHunting,
			src:     `{"Timestamp":"2025-01-02T03:04:05.1234567Z","DeviceId":"d1","DeviceName":"Web-1.contoso.com","IsInternetFacing":true,"PublicIP":"203.0.113.9","OSPlatform":"WindowsServer2022","MachineGroup":"dmz","AdditionalFields":` + string(afQuoted) + `}`,
			want: correlation.DeviceInfo{Time: ts, DeviceID: "d1", DeviceName: "Web-1.contoso.com", IsInternetFacing: true,
				PublicIP: "203.0.113.9", OSPlatform: "WindowsServer2022", MachineGroup: "dmz", Facing: facing},
		},
		{
			name:    "sentinel, AdditionalFields as object, port as string, bool as text",
			profile: ProfileSentinel,
			src:     `{"TimeGenerated":"2025-01-02T03:04:05.1234567Z","DeviceId":"d1","IsInternetFacing":"True","AdditionalFields":{"InternetFacingLocalPort":"3389","InternetFacingReason":"ExternalNetworkConnection"}}`,
			want: correlation.DeviceInfo{Time: ts, DeviceID: "d1", IsInternetFacing: true,
				Facing: correlation.InternetFacing{Reason: "ExternalNetworkConnection", LocalPort: 3389}},
		},
		{
			name:    "streaming record",
			profile: ProfileStreaming,
			src:     `{"time":"2025-01-02T03:04:06Z","category":"AdvancedHunting-DeviceInfo","properties":{"Timestamp":"2025-01-02T03:04:05.1234567Z","DeviceId":"d1","IsInternetFacing":false,"AdditionalFields":` + string(afQuoted) + `}}`,
			want:    correlation.DeviceInfo{Time: ts, DeviceID: "d1", Facing: facing},
		},
		{
			name:    "elastic m365, dotted keys and epoch millis",
			profile: ProfileElasticM365,
			src:     `{"@timestamp":1735787045123,"host.id":"d1","host":{"name":"web-1.contoso.com","ip":["203.0.113.9"]},"m365_defender":{"event":{"is_internet_facing":true,"additional_fields":{"InternetFacingLocalPort":3389}}}}`,
			want: correlation.DeviceInfo{Time: time.Date(2025, 1, 2, 3, 4, 5, 123000000, time.UTC), DeviceID: "d1",
				DeviceName: "web-1.contoso.com", IsInternetFacing: true, PublicIP: "203.0.113.9",
				Facing: correlation.InternetFacing{LocalPort: 3389}},
		},
		{
			name:    "heartbeat without AdditionalFields",
			profile: ProfileAdvancedHunting,
			src:     `{"Timestamp":"2025-01-02T03:04:05.1234567Z","DeviceId":"d1","IsInternetFacing":true}`,
			want:    correlation.DeviceInfo{Time: ts, DeviceID: "d1", IsInternetFacing: true, Facing: correlation.InternetFacing{LocalPort: correlation.NoPort}},
		},
		{
			name:    "custom profile with per-key facing fields",
			profile: ProfileCustom,
			o:       map[string]string{FieldTime: "ts", FieldDeviceID: "device.id", FieldFacingLocalPort: "facing.port", FieldIsInternetFacing: "facing.on"},
			src:     `{"ts":"2025-01-02T03:04:05.1234567Z","device":{"id":"d1"},"facing":{"port":"443","on":1}}`,
			want:    correlation.DeviceInfo{Time: ts, DeviceID: "d1", IsInternetFacing: true, Facing: correlation.InternetFacing{LocalPort: 443}},
		},
		{name: "malformed AdditionalFields text", profile: ProfileAdvancedHunting,
			src: `{"Timestamp":"2025-01-02T03:04:05Z","DeviceId":"d1","AdditionalFields":"{not json"}`, reason: SkipBadAdditionalFields},
		{name: "malformed facing port", profile: ProfileSentinel,
			src: `{"TimeGenerated":"2025-01-02T03:04:05Z","DeviceId":"d1","AdditionalFields":{"InternetFacingLocalPort":"http"}}`, reason: SkipBadAdditionalFields},
		{name: "missing time", profile: ProfileAdvancedHunting, src: `{"DeviceId":"d1"}`, reason: SkipMissingTime},
		{name: "bad time", profile: ProfileAdvancedHunting, src: `{"Timestamp":"yesterday","DeviceId":"d1"}`, reason: SkipBadTime},
		{name: "missing device", profile: ProfileAdvancedHunting, src: `{"Timestamp":"2025-01-02T03:04:05Z"}`, reason: SkipMissingDeviceID},
		{name: "not an object", profile: ProfileAdvancedHunting, src: `[1,2]`, reason: SkipBadDocument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustProfile(t, tt.profile, tt.o)
			var got correlation.DeviceInfo
			err := p.DecodeDeviceInfo(json.RawMessage(tt.src), &got)
			if !decodedOK(t, err, tt.reason) {
				return
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("DeviceInfo (-want +got):\n%s", diff)
			}
		})
	}
}

// decodedOK checks a decode's err: a case with a skip reason wants a
// decodeError with that reason (and nothing more to check, false), any other
// case no error (true: check what was decoded).
func decodedOK(t *testing.T, err error, reason string) bool {
	t.Helper()
	if reason != "" {
		var de *decodeError
		if !errors.As(err, &de) || de.Reason != reason {
			t.Fatalf("err = %v, want skip reason %q", err, reason)
		}
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

func TestDecodeNetworkEvent(t *testing.T) {
	ts := time.Date(2025, 1, 2, 3, 4, 5, 123456700, time.UTC)
	ahRow := `{"Timestamp":"2025-01-02T03:04:05.1234567Z","DeviceId":"d1","DeviceName":"web-1","ActionType":"InboundConnectionAccepted","RemoteIP":"::ffff:198.51.100.7","RemotePort":51234,"LocalIP":"10.0.0.4","LocalPort":"3389","Protocol":"Tcp","ReportId":12345,"InitiatingProcessFileName":"svchost.exe","InitiatingProcessId":"884","InitiatingProcessParentId":600}`
	type want struct {
		DeviceID, DeviceName, Action, Remote, Local string
		RemotePort, LocalPort                       int
		ReportID, Proc                              string
		PID, PPID                                   int64
		Raw                                         string
	}
	tests := []struct {
		name    string
		profile string
		src     string
		want    want
		reason  string
	}{
		{
			name: "advanced hunting: mapped remote, string port, numeric report id", profile: ProfileAdvancedHunting, src: ahRow,
			want: want{"d1", "web-1", correlation.ActionInboundAccepted, "::ffff:198.51.100.7", "10.0.0.4", 51234, 3389, "12345", "svchost.exe", 884, 600, ahRow},
		},
		{
			name: "streaming: Raw is the properties object", profile: ProfileStreaming,
			src:  `{"time":"2025-01-02T03:04:06Z","properties":` + ahRow + `}`,
			want: want{"d1", "web-1", correlation.ActionInboundAccepted, "::ffff:198.51.100.7", "10.0.0.4", 51234, 3389, "12345", "svchost.exe", 884, 600, ahRow},
		},
		{
			name:    "elastic m365 without direction: remote is destination, local port is source.port",
			profile: ProfileElasticM365,
			src:     `{"@timestamp":"2025-01-02T03:04:05.123Z","host":{"id":"d1","name":"web-1"},"event":{"action":"inboundconnectionaccepted"},"source":{"ip":"10.0.0.4","port":3389},"destination":{"ip":"198.51.100.7","port":51234},"m365_defender":{"event":{"report_id":"12345"}},"process":{"name":"svchost.exe","pid":884}}`,
			want:    want{"d1", "web-1", correlation.ActionInboundAccepted, "198.51.100.7", "10.0.0.4", 51234, 3389, "12345", "svchost.exe", 884, 0, ""},
		},
		{
			name:    "elastic m365 with direction In: swapped",
			profile: ProfileElasticM365,
			src:     `{"@timestamp":"2025-01-02T03:04:05.123Z","host":{"id":"d1"},"event":{"action":"inboundconnectionaccepted"},"source":{"ip":"198.51.100.7","port":3389},"destination":{"ip":"10.0.0.4","port":3389},"m365_defender":{"event":{"network_direction":"In"}}}`,
			want:    want{DeviceID: "d1", Action: correlation.ActionInboundAccepted, Remote: "198.51.100.7", Local: "10.0.0.4", RemotePort: correlation.NoPort, LocalPort: 3389},
		},
		{
			name: "other action kept as is", profile: ProfileAdvancedHunting,
			src:  `{"Timestamp":"2025-01-02T03:04:05.1234567Z","DeviceId":"d1","ActionType":"ConnectionSuccess","RemoteIP":"x","LocalPort":"n/a"}`,
			want: want{DeviceID: "d1", Action: "ConnectionSuccess", Remote: "", RemotePort: correlation.NoPort, LocalPort: correlation.NoPort},
		},
		{name: "missing device", profile: ProfileAdvancedHunting, src: `{"Timestamp":"2025-01-02T03:04:05Z","ActionType":"InboundConnectionAccepted"}`, reason: SkipMissingDeviceID},
		{name: "bad time", profile: ProfileSentinel, src: `{"TimeGenerated":"02/01/2025","DeviceId":"d1"}`, reason: SkipBadTime},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustProfile(t, tt.profile, nil)
			var ev correlation.NetworkEvent
			err := p.DecodeNetworkEvent(json.RawMessage(tt.src), &ev)
			if !decodedOK(t, err, tt.reason) {
				return
			}
			if tt.profile != ProfileElasticM365 && !ev.Time.Equal(ts) {
				t.Errorf("Time = %v, want %v", ev.Time, ts)
			}
			got := want{ev.DeviceID, ev.DeviceName, ev.ActionType, addrText(ev.RemoteIP), addrText(ev.LocalIP),
				ev.RemotePort, ev.LocalPort, ev.ReportID, ev.Process.FileName, ev.Process.PID, ev.Process.ParentPID, ""}
			if tt.want.Raw != "" {
				got.Raw = string(ev.Raw)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("event (-want +got):\n%s", diff)
			}
			if tt.want.Raw == "" && tt.profile == ProfileElasticM365 && string(ev.Raw) != tt.src {
				t.Errorf("Raw = %s, want the whole _source", ev.Raw)
			}
		})
	}
}

func addrText(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func TestDocViewDottedAndNested(t *testing.T) {
	d, err := newDocView(json.RawMessage(`{"a":{"b.c":{"d":1}},"a.b":{"x":"y"},"m":{"n":null},"arr":[7,8]}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		want string
	}{
		{"a.b.c.d", "1"},
		{"a.b.x", "y"},
		{"m.n", ""},
		{"arr", "7"},
		{"nope", ""},
		{"a.b.c.d.e", ""},
	}
	for _, tt := range tests {
		if got := d.str(tt.path); got != tt.want {
			t.Errorf("str(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestEventSourceFilter(t *testing.T) {
	if got := mustProfile(t, ProfileAdvancedHunting, nil).eventSourceFilter(); got != true {
		t.Errorf("flat profile: _source = %v, want true (the whole row)", got)
	}
	got := mustProfile(t, ProfileStreaming, nil).eventSourceFilter()
	want := jsonObj{"includes": []string{"properties"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("streaming _source (-want +got):\n%s", diff)
	}
}

// A row whose table marker names another table is neither a DeviceInfo row
// nor an event, and not a bad row either; rows without a marker decode as
// before.
func TestDecodeOtherTables(t *testing.T) {
	af := `"AdditionalFields":"{\"InternetFacingLocalPort\":3389}"`
	tests := []struct {
		name, profile, doc string
		table              string // "": decodes
	}{
		{"sentinel DeviceInfo", ProfileSentinel, `{"Type":"DeviceInfo","TimeGenerated":"2025-01-01T00:00:00Z","DeviceId":"d",` + af + `}`, ""},
		{"sentinel other table", ProfileSentinel, `{"Type":"DeviceProcessEvents","TimeGenerated":"2025-01-01T00:00:00Z","DeviceId":"d",` + af + `}`, "DeviceProcessEvents"},
		{"sentinel no marker", ProfileSentinel, `{"TimeGenerated":"2025-01-01T00:00:00Z","DeviceId":"d",` + af + `}`, ""},
		{"streaming DeviceInfo, any case", ProfileStreaming, `{"category":"advancedhunting-deviceinfo","properties":{"Timestamp":"2025-01-01T00:00:00Z","DeviceId":"d",` + af + `}}`, ""},
		{"streaming other table", ProfileStreaming, `{"category":"AdvancedHunting-DeviceNetworkInfo","properties":{"Timestamp":"2025-01-01T00:00:00Z","DeviceId":"d",` + af + `}}`, "DeviceNetworkInfo"},
		{"elastic other table", ProfileElasticM365, `{"@timestamp":"2025-01-01T00:00:00Z","host":{"id":"d"},"m365_defender":{"event":{"category":"AdvancedHunting-DeviceLogonEvents"}}}`, "DeviceLogonEvents"},
		{"advanced hunting has no marker", ProfileAdvancedHunting, `{"Type":"DeviceProcessEvents","Timestamp":"2025-01-01T00:00:00Z","DeviceId":"d",` + af + `}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustProfile(t, tt.profile, nil)
			var row correlation.DeviceInfo
			err := p.DecodeDeviceInfo([]byte(tt.doc), &row)
			var ot *OtherTableError
			switch {
			case tt.table == "" && err != nil:
				t.Fatalf("DecodeDeviceInfo: %v", err)
			case tt.table != "" && (!errors.As(err, &ot) || ot.Table != tt.table):
				t.Fatalf("err = %v, want a row of table %s", err, tt.table)
			}
			var ev correlation.NetworkEvent
			err = p.DecodeNetworkEvent([]byte(tt.doc), &ev)
			if tt.table != "" && !errors.As(err, &ot) {
				t.Errorf("as an event: err = %v, want a row of another table", err)
			}
			if tt.table == "" && strings.Contains(tt.name, "DeviceInfo") && !errors.As(err, &ot) {
				t.Errorf("a DeviceInfo row decoded as an event: %v", err)
			}
		})
	}
}
