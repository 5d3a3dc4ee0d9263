package file

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/edgewatch/edgewatch/connectors"
	"github.com/edgewatch/edgewatch/correlation"
)

const (
	devA = "a1b2c3d4e5f60718293a4b5c6d7e8f9001122334"
	devB = "ffeeddccbbaa99887766554433221100ffeeddcc"
)

func TestNetworkEventShapes(t *testing.T) {
	flat := `{"Timestamp":"2025-11-03T10:00:00.1234567Z","DeviceId":"` + devA + `","DeviceName":"web-01","ActionType":"InboundConnectionAccepted","RemoteIP":"77.90.185.20","RemotePort":51515,"LocalIP":"10.0.0.4","LocalPort":443,"Protocol":"Tcp","InitiatingProcessFileName":"System","InitiatingProcessId":4,"ReportId":77}`
	tests := []struct {
		name      string
		in        []byte
		want      []string
		wantSkips []string
		check     func(t *testing.T, evs []correlation.NetworkEvent)
	}{
		{
			name: "flat Advanced Hunting row",
			in:   lines(flat),
			want: []string{"L1 " + devA + " InboundConnectionAccepted 77.90.185.20(77.90.185.20) 51515>443 2025-11-03T10:00:00.1234567Z"},
			check: func(t *testing.T, evs []correlation.NetworkEvent) {
				ev := evs[0]
				if string(ev.Raw) != flat {
					t.Errorf("Raw = %s, want the row verbatim", ev.Raw)
				}
				if ev.DeviceName != "web-01" || ev.Protocol != "Tcp" || ev.ReportID != "77" || ev.Process.FileName != "System" || ev.Process.PID != 4 || ev.LocalIP.String() != "10.0.0.4" {
					t.Errorf("fields: %+v", ev)
				}
			},
		},
		{
			name: "Sentinel row: TimeGenerated, AdditionalFields object",
			in:   lines(`{"TenantId":"x","TimeGenerated":"2025-11-03T10:00:01Z","DeviceId":"` + devA + `","ActionType":"ConnectionSuccess","RemoteIP":"1.1.1.1","RemotePort":443,"LocalPort":50000,"AdditionalFields":{"direction":"Out"},"Type":"DeviceNetworkEvents"}`),
			want: []string{"L1 " + devA + " ConnectionSuccess 1.1.1.1(1.1.1.1) 443>50000 2025-11-03T10:00:01Z"},
		},
		{
			name: "Timestamp wins over TimeGenerated",
			in:   lines(`{"TimeGenerated":"2025-11-03T11:00:00Z","Timestamp":"2025-11-03T10:00:00Z","DeviceId":"` + devA + `","ActionType":"X"}`),
			want: []string{"L1 " + devA + " X (-) -1>-1 2025-11-03T10:00:00Z"},
		},
		{
			name: "Streaming API record: the row is properties",
			in:   lines(`{"time":"2025-11-03T10:00:05.0000000Z","tenantId":"t","operationName":"Publish","category":"AdvancedHunting-DeviceNetworkEvents","properties":{"Timestamp":"2025-11-03T10:00:02Z","DeviceId":"` + devA + `","ActionType":"InboundConnectionAccepted","RemoteIP":"2.57.122.53","RemotePort":"4444","LocalPort":"3389"},"Tenant":"DefaultTenant"}`),
			want: []string{"L1 " + devA + " InboundConnectionAccepted 2.57.122.53(2.57.122.53) 4444>3389 2025-11-03T10:00:02Z"},
			check: func(t *testing.T, evs []correlation.NetworkEvent) {
				if !strings.HasPrefix(string(evs[0].Raw), `{"time":"2025-11-03T10:00:05.0000000Z"`) || !strings.HasSuffix(string(evs[0].Raw), `"Tenant":"DefaultTenant"}`) {
					t.Errorf("Raw = %s, want the whole record", evs[0].Raw)
				}
			},
		},
		{
			name: "Streaming API record without properties.Timestamp uses the envelope time",
			in:   lines(`{"properties":{"DeviceId":"` + devA + `","ActionType":"A"},"time":"2025-11-03T10:00:05Z","category":"AdvancedHunting-DeviceNetworkEvents"}`),
			want: []string{"L1 " + devA + " A (-) -1>-1 2025-11-03T10:00:05Z"},
		},
		{
			name: "Event Hub batch on one line",
			in: lines(
				`{"records":[{"time":"2025-11-03T10:00:05Z","category":"AdvancedHunting-DeviceNetworkEvents","properties":{"Timestamp":"2025-11-03T10:00:03Z","DeviceId":"`+devA+`","ActionType":"A"}},{"time":"2025-11-03T10:00:06Z","properties":{"Timestamp":"2025-11-03T10:00:04Z","DeviceId":"`+devB+`","ActionType":"B"}}]}`,
				`{"records":[]}`,
			),
			want: []string{
				"L1 " + devA + " A (-) -1>-1 2025-11-03T10:00:03Z",
				"L1 " + devB + " B (-) -1>-1 2025-11-03T10:00:04Z",
			},
		},
		{
			name: "IPv4-mapped remote keeps its text",
			in:   lines(`{"Timestamp":"2025-11-03T10:00:00Z","DeviceId":"` + devA + `","ActionType":"InboundConnectionAccepted","RemoteIP":"::ffff:45.154.244.193","LocalPort":22}`),
			want: []string{"L1 " + devA + " InboundConnectionAccepted ::ffff:45.154.244.193(::ffff:45.154.244.193) -1>22 2025-11-03T10:00:00Z"},
			check: func(t *testing.T, evs []correlation.NetworkEvent) {
				if !evs[0].RemoteIP.Is4In6() || evs[0].RemoteIP.Unmap().String() != "45.154.244.193" {
					t.Errorf("RemoteIP = %v", evs[0].RemoteIP)
				}
			},
		},
		{
			name: "unfiltered read passes a bad RemoteIP and port as invalid values",
			in:   lines(`{"Timestamp":"2025-11-03T10:00:00Z","DeviceId":"` + devA + `","ActionType":"InboundConnectionAccepted","RemoteIP":"999.1.1.1","LocalPort":"https"}`),
			want: []string{"L1 " + devA + " InboundConnectionAccepted 999.1.1.1(-) -1>-1 2025-11-03T10:00:00Z"},
		},
		{
			name: "escaped keys and values",
			in:   lines(`{"Timestamp":"2025-11-03T10:00:00Z","Device\u0049d":"` + devA + `","ActionType":"Inbound\u0043onnectionAccepted","InitiatingProcessFolderPath":"c:\\windows\\system32\\svchost.exe"}`),
			want: []string{"L1 " + devA + " InboundConnectionAccepted (-) -1>-1 2025-11-03T10:00:00Z"},
			check: func(t *testing.T, evs []correlation.NetworkEvent) {
				if got := evs[0].Process.FolderPath; got != `c:\windows\system32\svchost.exe` {
					t.Errorf("FolderPath = %q", got)
				}
			},
		},
		{
			name: "duplicate keys: the first wins",
			in:   lines(`{"Timestamp":"2025-11-03T10:00:00Z","DeviceId":"` + devA + `","ActionType":"A","ActionType":"B"}`),
			want: []string{"L1 " + devA + " A (-) -1>-1 2025-11-03T10:00:00Z"},
		},
		{
			name: "blank lines and CRLF are fine",
			in:   []byte("\r\n" + `{"Timestamp":"2025-11-03T10:00:00Z","DeviceId":"` + devA + `","ActionType":"A"}` + "\r\n\r\n"),
			want: []string{"L2 " + devA + " A (-) -1>-1 2025-11-03T10:00:00Z"},
		},
		{
			name: "bad rows are counted with their line and the read goes on",
			in: lines(
				`{"Timestamp":"2025-11-03T10:00:00Z","DeviceId":"`+devA+`","ActionType":"A"}`,
				`{"Timestamp":"2025-11-03T10:00:00Z","DeviceId":"`+devA+`","Action`, // truncated
				`<html>502 Bad Gateway</html>`,
				`{"Timestamp":"2025-11-03T10:00:00Z","ActionType":"A"}`, // no DeviceId
				`{"DeviceId":"`+devA+`","ActionType":"A"}`,              // no time
				`{"Timestamp":"last tuesday","DeviceId":"`+devA+`","ActionType":"A"}`,
				`{"Timestamp":"2025-11-03T10:00:00Z","DeviceId":"`+devA+`","ActionType":"A",}`, // trailing comma
				`[1,2]`,
				`{"records":[1,{"DeviceId":"`+devB+`","Timestamp":"2025-11-03T10:00:00Z","ActionType":"B"}]}`,
				`{"Timestamp":"2025-11-03T10:00:09Z","DeviceId":"`+devB+`","ActionType":"Z"}`,
			),
			want: []string{
				"L1 " + devA + " A (-) -1>-1 2025-11-03T10:00:00Z",
				"L9 " + devB + " B (-) -1>-1 2025-11-03T10:00:00Z",
				"L10 " + devB + " Z (-) -1>-1 2025-11-03T10:00:09Z",
			},
			wantSkips: []string{"bad JSON@2,3,7", "bad time@6", "missing DeviceId@4", "missing time@5", "row is not a JSON object@8,9"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := writeTemp(t, "events.ndjson", tc.in)
			for _, workers := range []int{1, 3} {
				evs, rep := readEvents(t, Options{NetworkEvents: []string{p}, Workers: workers}, connectors.EventQuery{})
				if diff := cmp.Diff(tc.want, evSummaries(evs)); diff != "" {
					t.Errorf("workers=%d events (-want +got):\n%s", workers, diff)
				}
				if diff := cmp.Diff(tc.wantSkips, skips(rep)); diff != "" {
					t.Errorf("workers=%d skips (-want +got):\n%s", workers, diff)
				}
				if want := int64(len(tc.want)) + rep.SkippedTotal(); rep.Read != want || rep.Passed != int64(len(tc.want)) {
					t.Errorf("workers=%d Read=%d Passed=%d, want Read=%d Passed=%d", workers, rep.Read, rep.Passed, want, len(tc.want))
				}
				for _, ev := range evs {
					if ev.Loc.Source != p {
						t.Errorf("Loc.Source = %q", ev.Loc.Source)
					}
				}
				if tc.check != nil && len(evs) > 0 {
					tc.check(t, evs)
				}
			}
		})
	}
}

func TestDeviceInfoShapes(t *testing.T) {
	tests := []struct {
		name      string
		in        []byte
		want      []string
		wantSkips []string
	}{
		{
			name: "AH row: AdditionalFields as JSON text, numeric port",
			in:   lines(`{"Timestamp":"2025-11-01T08:00:00Z","DeviceId":"` + devA + `","DeviceName":"web-01","IsInternetFacing":true,"AdditionalFields":"{\"InternetFacingReason\":\"ExternalNetworkConnection\",\"InternetFacingLocalIp\":\"10.0.0.4\",\"InternetFacingLocalPort\":443,\"InternetFacingTransportProtocol\":\"Tcp\",\"InternetFacingLastSeen\":\"2025-11-01T07:59:00.1234567Z\"}"}`),
			want: []string{"L1 " + devA + " facing=true port=443 reason=ExternalNetworkConnection scanned=:0 2025-11-01T08:00:00Z"},
		},
		{
			name: "Sentinel row: AdditionalFields object, string port, seed key spelling, string bool",
			in:   lines(`{"TimeGenerated":"2025-11-01T08:00:00Z","DeviceId":"` + devA + `","IsInternetFacing":"true","AdditionalFields":{"InternetFacingReason":"PublicScan","InternetFacingLocalPort":"3389","InternetFacingScannedPublicIp":"20.1.2.3","InternetFacingScannedPublicPort":3389}}`),
			want: []string{"L1 " + devA + " facing=true port=3389 reason=PublicScan scanned=20.1.2.3:3389 2025-11-01T08:00:00Z"},
		},
		{
			name: "heartbeat without AdditionalFields",
			in:   lines(`{"Timestamp":"2025-11-01T08:00:00Z","DeviceId":"`+devA+`","IsInternetFacing":true}`, `{"Timestamp":"2025-11-01T09:00:00Z","DeviceId":"`+devB+`","AdditionalFields":""}`, `{"Timestamp":"2025-11-01T09:00:00Z","DeviceId":"`+devB+`","AdditionalFields":null,"IsInternetFacing":1}`),
			want: []string{
				"L1 " + devA + " facing=true port=-1 reason= scanned=:0 2025-11-01T08:00:00Z",
				"L2 " + devB + " facing=false port=-1 reason= scanned=:0 2025-11-01T09:00:00Z",
				"L3 " + devB + " facing=true port=-1 reason= scanned=:0 2025-11-01T09:00:00Z",
			},
		},
		{
			name: `AdditionalFields [], "[]", {}, "{}", "" and null all mean no fields`,
			in: lines(
				`{"Timestamp":"2025-11-01T08:00:00Z","DeviceId":"`+devA+`","AdditionalFields":"[]"}`,
				`{"Timestamp":"2025-11-01T08:00:00Z","DeviceId":"`+devA+`","AdditionalFields":[]}`,
				`{"Timestamp":"2025-11-01T08:00:00Z","DeviceId":"`+devA+`","AdditionalFields":{}}`,
				`{"Timestamp":"2025-11-01T08:00:00Z","DeviceId":"`+devA+`","AdditionalFields":"{}"}`,
				`{"Timestamp":"2025-11-01T08:00:00Z","DeviceId":"`+devA+`","AdditionalFields":""}`,
				`{"Timestamp":"2025-11-01T08:00:00Z","DeviceId":"`+devA+`","AdditionalFields":null}`,
				`{"Timestamp":"2025-11-01T08:00:00Z","DeviceId":"`+devA+`","AdditionalFields":"\"[]\""}`,
			),
			want: []string{
				"L1 " + devA + " facing=false port=-1 reason= scanned=:0 2025-11-01T08:00:00Z",
				"L2 " + devA + " facing=false port=-1 reason= scanned=:0 2025-11-01T08:00:00Z",
				"L3 " + devA + " facing=false port=-1 reason= scanned=:0 2025-11-01T08:00:00Z",
				"L4 " + devA + " facing=false port=-1 reason= scanned=:0 2025-11-01T08:00:00Z",
				"L5 " + devA + " facing=false port=-1 reason= scanned=:0 2025-11-01T08:00:00Z",
				"L6 " + devA + " facing=false port=-1 reason= scanned=:0 2025-11-01T08:00:00Z",
				"L7 " + devA + " facing=false port=-1 reason= scanned=:0 2025-11-01T08:00:00Z",
			},
		},
		{
			name: "port that stopped facing keeps its port with IsInternetFacing false",
			in:   lines(`{"Timestamp":"2025-11-02T08:00:00Z","DeviceId":"` + devA + `","IsInternetFacing":false,"AdditionalFields":"{\"InternetFacingLocalPort\":22}"}`),
			want: []string{"L1 " + devA + " facing=false port=22 reason= scanned=:0 2025-11-02T08:00:00Z"},
		},
		{
			name: "Streaming API record and Event Hub batch",
			in: lines(
				`{"time":"2025-11-01T08:00:01Z","tenantId":"t","category":"AdvancedHunting-DeviceInfo","properties":{"Timestamp":"2025-11-01T08:00:00Z","DeviceId":"`+devA+`","IsInternetFacing":true,"AdditionalFields":"{\"InternetFacingLocalPort\":8443}"}}`,
				`{"records":[{"time":"2025-11-01T08:00:01Z","properties":{"DeviceId":"`+devB+`","IsInternetFacing":true,"AdditionalFields":{"InternetFacingLocalPort":21}}}]}`,
			),
			want: []string{
				"L1 " + devA + " facing=true port=8443 reason= scanned=:0 2025-11-01T08:00:00Z",
				"L2 " + devB + " facing=true port=21 reason= scanned=:0 2025-11-01T08:00:01Z",
			},
		},
		{
			name: "bad rows",
			in: lines(
				`{"Timestamp":"2025-11-01T08:00:00Z","DeviceId":"`+devA+`","AdditionalFields":"{not json"}`,
				`{"Timestamp":"2025-11-01T08:00:00Z","DeviceId":"`+devA+`","AdditionalFields":"{\"InternetFacingLocalPort\":\"ssh\"}"}`,
				`{"Timestamp":"2025-11-01T08:00:00Z","DeviceId":"`+devA+`","AdditionalFields":[1]}`,
				`{"Timestamp":"2025-11-01T08:00:00Z"}`,
				`{"Timestamp":"2025-11-01T08:00:00Z","DeviceId":"`+devA+`"`,
				`{"Timestamp":"2025-11-01T08:00:00Z","DeviceId":"`+devA+`","AdditionalFields":"{\"InternetFacingLocalPort\":25,\"InternetFacingLastSeen\":\"soon\"}"}`,
			),
			want:      []string{"L6 " + devA + " facing=false port=25 reason= scanned=:0 2025-11-01T08:00:00Z"},
			wantSkips: []string{"bad AdditionalFields@1,2,3", "bad JSON@5", "missing DeviceId@4"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := writeTemp(t, "device_info.ndjson", tc.in)
			got, rep := readDevices(t, Options{DeviceInfo: []string{p}}, connectors.FacingQuery{})
			var sums []string
			for i := range got {
				sums = append(sums, diSummary(&got[i]))
			}
			if diff := cmp.Diff(tc.want, sums); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantSkips, skips(rep)); diff != "" {
				t.Errorf("skips (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTimeWindow(t *testing.T) {
	ev := func(ts string) string {
		return `{"Timestamp":"` + ts + `","DeviceId":"` + devA + `","ActionType":"InboundConnectionAccepted","RemoteIP":"77.90.185.20","LocalPort":443}`
	}
	di := func(ts string) string {
		return `{"TimeGenerated":"` + ts + `","DeviceId":"` + devA + `","IsInternetFacing":true,"AdditionalFields":{"InternetFacingLocalPort":443}}`
	}
	evPath := writeTemp(t, "e.ndjson", lines(ev("2025-11-03T09:59:59.9999999Z"), ev("2025-11-03T10:00:00Z"), ev("2025-11-03T10:30:00Z"), ev("2025-11-03T11:00:00Z")))
	diPath := writeTemp(t, "d.ndjson", lines(di("2025-11-03T09:59:59.9999999Z"), di("2025-11-03T10:00:00Z"), di("2025-11-03T10:30:00Z"), di("2025-11-03T11:00:00Z")))
	from := time.Date(2025, 11, 3, 10, 0, 0, 0, time.UTC)
	to := from.Add(time.Hour)
	tests := []struct {
		name     string
		from, to time.Time
		want     []int // lines
	}{
		{"unbounded", time.Time{}, time.Time{}, []int{1, 2, 3, 4}},
		{"from is inclusive, to exclusive", from, to, []int{2, 3}},
		{"only from", from, time.Time{}, []int{2, 3, 4}},
		{"only to", time.Time{}, to, []int{1, 2, 3}},
	}
	facing := facingSet(map[string][]int{devA: {443}})
	ind := indicatorSet(t, "77.90.185.20")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, filtered := range []bool{false, true} {
				q := connectors.EventQuery{From: tc.from, To: tc.to}
				if filtered {
					q.Facing, q.Indicators = facing, ind
				}
				evs, rep := readEvents(t, Options{NetworkEvents: []string{evPath}}, q)
				var got []int
				for _, e := range evs {
					got = append(got, e.Loc.Line)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("filtered=%v events (-want +got):\n%s", filtered, diff)
				}
				if rep.Read != 4 || rep.SkippedTotal() != 0 {
					t.Errorf("filtered=%v report %+v", filtered, rep)
				}
			}
			rows, _ := readDevices(t, Options{DeviceInfo: []string{diPath}}, connectors.FacingQuery{From: tc.from, To: tc.to})
			var got []int
			for _, r := range rows {
				got = append(got, r.Loc.Line)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("device info (-want +got):\n%s", diff)
			}
		})
	}
}
