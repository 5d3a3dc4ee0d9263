package conformance

import (
	"encoding/json"
	"fmt"
	"iter"
	"net/netip"
	"strings"
	"time"

	"github.com/edgewatch/edgewatch/correlation"
)

// Row is one logical Defender row: Advanced Hunting column names and
// values as Defender writes them (AdditionalFields as JSON text). Keys that
// start with "_" are the suite's own: "_case" names the row.
type Row map[string]any

// Case is the row's "_case" name ("" when unnamed).
func (r Row) Case() string {
	s, _ := r["_case"].(string)
	return s
}

// Columns returns the row without the suite's own keys.
func (r Row) Columns() map[string]any {
	out := make(map[string]any, len(r))
	for k, v := range r {
		if !strings.HasPrefix(k, "_") {
			out[k] = v
		}
	}
	return out
}

// Dataset is what a Harness loads.
type Dataset struct {
	DeviceInfo    []Row
	NetworkEvents []Row
}

// Tables yields each table's name and rows: DeviceInfo, then
// DeviceNetworkEvents.
func (ds Dataset) Tables() iter.Seq2[string, []Row] {
	return func(yield func(string, []Row) bool) {
		if yield(TableDeviceInfo, ds.DeviceInfo) {
			yield(TableNetworkEvents, ds.NetworkEvents)
		}
	}
}

// Expect is what Run checks a Source against.
type Expect struct {
	// Window of the event step and the facing look-back.
	From, To, FacingFrom time.Time
	// Facing lists the facing pairs as "device:port@RFC3339Nano time of the
	// latest row".
	Facing []string
	// InWindow lists the ReportIds of every InboundConnectionAccepted row in
	// [From, To) that has a DeviceId.
	InWindow []string
	// Matches lists the ReportIds the detection must find.
	Matches []string
	// DeviceInfoSkips / EventSkips: rows an unfiltered read must count as
	// skipped, by reason, with the "_case" of each.
	DeviceInfoSkips map[string][]string
	EventSkips      map[string][]string
	// Indicators: a small set (indicators-first territory) and a large one
	// (more indicators than the window's remotes, and a range too wide to
	// spell out for a string-typed RemoteIP field).
	Small, Large []string
}

// Addresses used by the standard dataset: global unicast (the indicator set
// refuses documentation and private ranges).
const (
	tiA     = "45.155.205.233" // on the small and large feeds
	tiB     = "185.220.101.4"  // on both feeds; written ::ffff:-mapped in one event
	tiRange = "91.240.118.2"   // inside 91.240.118.0/30 (small) and 91.240.0.0/16 (large)
	clean   = "8.8.8.8"        // never an indicator
	private = "10.0.0.9"
)

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func facingAF(port any, extra ...string) string {
	m := map[string]any{
		"InternetFacingReason":            "ExternalNetworkConnection",
		"InternetFacingLocalIp":           "10.0.0.4",
		"InternetFacingLocalPort":         port,
		"InternetFacingTransportProtocol": "Tcp",
		"InternetFacingLastSeen":          "2025-03-04T10:00:00.1234567Z",
	}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func di(name, t, dev string, facing bool, af any) Row {
	r := Row{"_case": name, "Timestamp": t, "DeviceName": strings.ToUpper(dev) + ".contoso.com",
		"IsInternetFacing": facing, "OSPlatform": "WindowsServer2022", "PublicIP": "20.1.2.3",
		"MachineGroup": "dmz", "ReportId": 500}
	if dev != "" {
		r["DeviceId"] = dev
	}
	if af != nil {
		r["AdditionalFields"] = af
	}
	return r
}

func ev(name string, report int, t, dev, action, remote string, localPort any, af string) Row {
	r := Row{"_case": name, "Timestamp": t, "DeviceName": "host.contoso.com", "ActionType": action,
		"RemoteIP": remote, "RemotePort": 50000 + report%1000, "LocalIP": "10.0.0.4", "LocalPort": localPort,
		"Protocol": "Tcp", "ReportId": report, "InitiatingProcessFileName": "svchost.exe",
		"InitiatingProcessId": 884, "InitiatingProcessFolderPath": `c:\windows\system32\svchost.exe`,
		"LocalIPType": "Private", "RemoteIPType": "Public"}
	if dev != "" {
		r["DeviceId"] = dev
		r["DeviceName"] = dev + ".contoso.com"
	}
	if af != "" {
		r["AdditionalFields"] = af
	}
	return r
}

const inbound = correlation.ActionInboundAccepted

// Standard is the dataset every implementation is checked on, with its
// expectations.
func Standard() (Dataset, Expect) {
	ds := Dataset{
		DeviceInfo: []Row{
			di("dev-a 3389 old", "2025-03-01T08:00:00Z", "dev-a", true, facingAF(3389)),
			di("dev-a 3389 latest", "2025-03-05T08:00:00.1234567Z", "dev-a", true, facingAF(3389)),
			di("dev-a 443 string port", "2025-03-05T09:00:00Z", "dev-a", true, facingAF("443")),
			// A later heartbeat (no AdditionalFields, not facing) changes nothing.
			di("dev-a heartbeat", "2025-03-09T08:00:00Z", "dev-a", false, nil),
			di("dev-b 22 facing", "2025-03-02T08:00:00Z", "dev-b", true, facingAF(22)),
			// The latest row for dev-b:22 is not facing: the pair drops out.
			di("dev-b 22 no longer facing", "2025-03-06T08:00:00Z", "dev-b", false, facingAF(22)),
			di("dev-c 8080", "2025-03-03T08:00:00Z", "dev-c", true, facingAF(8080, "InternetFacingPublicScannedIp", "20.1.2.3")),
			// Outside the facing look-back.
			di("dev-c 9999 too old", "2025-01-01T08:00:00Z", "dev-c", true, facingAF(9999)),
			// Bad rows: counted, never used.
			di("missing DeviceId", "2025-03-05T08:00:00Z", "", true, facingAF(3389)),
			di("malformed AdditionalFields", "2025-03-05T08:00:00Z", "dev-d", true, `{"InternetFacingLocalPort": 3389,`),
		},
		NetworkEvents: []Row{
			ev("match", 1001, "2025-03-10T01:00:00.1234567Z", "dev-a", inbound, tiA, 3389, ""),
			ev("match mapped remote string port", 1002, "2025-03-10T02:00:00Z", "dev-a", inbound, "::ffff:"+tiB, "443", ""),
			ev("clean remote", 1003, "2025-03-10T03:00:00Z", "dev-a", inbound, clean, 3389, ""),
			ev("non-facing port", 1004, "2025-03-10T04:00:00Z", "dev-a", inbound, tiA, 80, ""),
			ev("pair no longer facing", 1005, "2025-03-10T05:00:00Z", "dev-b", inbound, tiA, 22, ""),
			ev("match in range", 1006, "2025-03-10T06:00:00Z", "dev-c", inbound, tiRange, 8080, ""),
			ev("outbound", 1007, "2025-03-10T07:00:00Z", "dev-a", "ConnectionSuccess", tiA, 3389, ""),
			ev("100ns before From", 1008, "2025-03-09T23:59:59.9999999Z", "dev-a", inbound, tiA, 3389, ""),
			ev("at To", 1009, "2025-03-11T00:00:00Z", "dev-a", inbound, tiA, 3389, ""),
			ev("match 100ns before To", 1010, "2025-03-10T23:59:59.9999999Z", "dev-a", inbound, tiA, 3389, ""),
			ev("match 100ns after From", 1011, "2025-03-10T00:00:00.0000001Z", "dev-a", inbound, tiB, 3389, ""),
			ev("missing DeviceId", 1012, "2025-03-10T12:00:00Z", "", inbound, tiA, 3389, ""),
			ev("pair outside look-back", 1013, "2025-03-10T13:00:00Z", "dev-c", inbound, tiA, 9999, ""),
			ev("private remote", 1014, "2025-03-10T14:00:00Z", "dev-a", inbound, private, 3389, ""),
			ev("match direction In", 1015, "2025-03-10T15:00:00Z", "dev-c", inbound, tiB, 8080, `{"direction":"In"}`),
			ev("match sub-millisecond after From", 1016, "2025-03-10T00:00:00.0004999Z", "dev-c", inbound, tiA, 8080, ""),
		},
	}
	exp := Expect{
		From:       ts("2025-03-10T00:00:00Z"),
		To:         ts("2025-03-11T00:00:00Z"),
		FacingFrom: ts("2025-02-08T00:00:00Z"),
		Facing: []string{
			"dev-a:443@2025-03-05T09:00:00Z",
			"dev-a:3389@2025-03-05T08:00:00.1234567Z",
			"dev-c:8080@2025-03-03T08:00:00Z",
		},
		InWindow: []string{"1001", "1002", "1003", "1004", "1005", "1006", "1010", "1011", "1013", "1014", "1015", "1016"},
		Matches:  []string{"1001", "1002", "1006", "1010", "1011", "1015", "1016"},
		DeviceInfoSkips: map[string][]string{
			"missing DeviceId":     {"missing DeviceId"},
			"bad AdditionalFields": {"malformed AdditionalFields"},
		},
		EventSkips: map[string][]string{
			"missing DeviceId": {"missing DeviceId"},
		},
		Small: []string{tiA, tiB, "91.240.118.0/30"},
		Large: append([]string{tiA, tiB, "91.240.0.0/16"}, synthAddrs(3000)...),
	}
	return ds, exp
}

// synthAddrs returns n distinct global IPv4 addresses that no event uses.
func synthAddrs(n int) []string {
	out := make([]string, 0, n)
	a := netip.MustParseAddr("77.90.0.1")
	for len(out) < n {
		out = append(out, a.String())
		a = a.Next()
	}
	return out
}

// IndicatorSet builds a set from addresses and CIDRs.
func IndicatorSet(vals []string) (*correlation.IndicatorSet, error) {
	s := correlation.NewIndicatorSet("conformance")
	for _, v := range vals {
		var p netip.Prefix
		var err error
		if strings.Contains(v, "/") {
			p, err = netip.ParsePrefix(v)
		} else {
			var a netip.Addr
			a, err = netip.ParseAddr(v)
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if err != nil {
			return nil, err
		}
		if ok, why := s.Add(correlation.Indicator{Prefix: p, Level: 1, Count: 1}, false); !ok {
			return nil, fmt.Errorf("indicator %s refused: %s", v, why)
		}
	}
	return s, nil
}
