package correlation

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// awkward are strings encoding/json treats specially: quotes, backslashes,
// every kind of control byte, the HTML characters it escapes, U+2028/9,
// invalid UTF-8 (written as U+FFFD), multi-byte runes and long text.
var awkward = []string{
	"", "plain", `say "hi"`, `c:\windows\system32\svchost.exe`, "tab\there", "line\nbreak\r\n",
	"\b\f\x00\x01\x1f\x7f", "<script>alert('x')</script>", "a&b>c<d", "\u2028\u2029",
	"\xff\xfe", "ok\xc3", "\xe2\x80", "héllo wörld ✓ 日本語 🙂", "nt authority\\network service",
	strings.Repeat("x", 300), "\u00e9\xed\xa0\x80", "\"\\/\b\f\n\r\t",
}

type alertGen struct{ r *rand.Rand }

func (g alertGen) str() string {
	switch g.r.IntN(4) {
	case 0:
		return ""
	case 1:
		return awkward[g.r.IntN(len(awkward))]
	case 2:
		b := make([]byte, g.r.IntN(24))
		for i := range b {
			b[i] = byte(g.r.IntN(256))
		}
		return string(b)
	}
	return "v" + string(rune('a'+g.r.IntN(26)))
}

func (g alertGen) strs() []string {
	switch g.r.IntN(4) {
	case 0:
		return nil
	case 1:
		return []string{}
	}
	out := make([]string, 1+g.r.IntN(3))
	for i := range out {
		out[i] = g.str()
	}
	return out
}

func (g alertGen) int() int {
	switch g.r.IntN(5) {
	case 0:
		return 0
	case 1:
		return math.MaxInt64
	case 2:
		return math.MinInt64
	case 3:
		return -g.r.IntN(70000)
	}
	return g.r.IntN(70000)
}

var zones = []*time.Location{time.UTC, time.FixedZone("CEST", 2*3600), time.FixedZone("X", -(9*3600 + 30*60)), time.Local}

func (g alertGen) time() time.Time {
	if g.r.IntN(6) == 0 {
		return time.Time{}
	}
	// Years 0-9999: outside them json.Marshal fails.
	t := time.Unix(g.r.Int64N(253402300799+62135596800)-62135596800, g.r.Int64N(1e9))
	if g.r.IntN(3) == 0 {
		t = t.Truncate(time.Second)
	}
	return t.In(zones[g.r.IntN(len(zones))])
}

// raw is a compact JSON object as json.Marshal writes it (so json.Marshal
// leaves it unchanged inside the alert), or nil.
func (g alertGen) raw() json.RawMessage {
	if g.r.IntN(5) == 0 {
		return nil
	}
	m := map[string]any{}
	for range g.r.IntN(6) {
		switch g.r.IntN(4) {
		case 0:
			m[g.str()] = g.str()
		case 1:
			m[g.str()] = g.int()
		case 2:
			m[g.str()] = map[string]any{"n": nil, "l": []any{true, 1.5, g.str()}}
		default:
			m[g.str()] = nil
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

func (g alertGen) indicator() ThreatIndicator {
	return ThreatIndicator{IP: g.str(), Type: g.str(), Provider: g.str(), Description: g.str(), Confidence: g.str()}
}

func (g alertGen) alert() *Alert {
	a := &Alert{
		Timestamp: g.time(),
		Event: AlertEvent{Kind: g.str(), Category: g.strs(), Type: g.strs(), Action: g.str(), ID: g.str(), Created: g.time(),
			Severity: g.int(), Dataset: g.str(), Module: g.str(), Provider: g.str(), Reason: g.str()},
		Rule:    AlertRule{ID: g.str(), Name: g.str(), Version: g.str(), Ruleset: g.str(), Description: g.str(), Reference: g.str()},
		Host:    AlertHost{ID: g.str(), Name: g.str()},
		Source:  Endpoint{IP: g.str(), Port: g.int()},
		Dest:    Endpoint{IP: g.str(), Port: g.int()},
		Network: AlertNetwork{Transport: g.str(), Direction: g.str()},
		Threat:  AlertThreat{Framework: g.str(), Indicator: g.indicator(), Feed: ThreatFeed{Name: g.str()}},
		Edgewatch: AlertEdgewatch{
			InternetFacing: FacingEvidence{InternetFacing: InternetFacing{Reason: g.str(), LocalIP: g.str(), LocalPort: g.int(),
				PublicScannedIP: g.str(), PublicScannedPort: g.int(), TransportProtocol: g.str(), LastSeen: g.time()}, DeviceInfoTime: g.time()},
			Indicator: IndicatorEvidence{Value: g.str(), Count: g.int(), Level: g.int()},
			Severity:  g.str(), RetroHunt: g.r.IntN(2) == 0, FindingIDVersion: g.int(), RunID: g.str(),
		},
		Defender: AlertDefender{NetworkEvent: g.raw()},
		Related:  AlertRelated{IP: g.strs(), Hosts: g.strs()},
		ECS:      AlertECS{Version: g.str()},
	}
	if g.r.IntN(4) > 0 {
		a.Process = &AlertProcess{Name: g.str(), PID: int64(g.int()), Executable: g.str(), CommandLine: g.str()}
		if g.r.IntN(2) == 0 {
			a.Process.Hash = &Hash{MD5: g.str(), SHA1: g.str(), SHA256: g.str()}
		}
		var pb processBlock
		if g.r.IntN(2) == 0 {
			pb.parent.Name, pb.parent.PID = g.str(), int64(g.int())
			a.Process.Parent = &pb.parent
		}
		if g.r.IntN(2) == 0 {
			pb.user.Name, pb.user.Domain = g.str(), g.str()
			a.Process.User = &pb.user
		}
	}
	if g.r.IntN(3) == 0 {
		a.Edgewatch.GroupID = g.str()
		s := &Suppression{Start: g.time(), End: g.time(), DocsCount: int64(g.int()), WindowStart: g.time(), WindowEnd: g.time(), FirstEventID: g.str()}
		if g.r.IntN(4) > 0 {
			s.Terms = []SuppressionTerm{}
			for range g.r.IntN(4) {
				t := SuppressionTerm{Field: g.str()}
				if g.r.IntN(3) > 0 {
					v := g.str()
					t.Value = &v
				}
				s.Terms = append(s.Terms, t)
			}
		}
		a.Edgewatch.Suppression = s
	}
	if g.r.IntN(5) > 0 {
		a.Threat.Enrichments = []ThreatEnrichment{}
		for range g.r.IntN(3) {
			en := ThreatEnrichment{Indicator: g.indicator(), Feed: ThreatFeed{Name: g.str()}}
			en.Matched.Atomic, en.Matched.Field, en.Matched.Type = g.str(), g.str(), g.str()
			a.Threat.Enrichments = append(a.Threat.Enrichments, en)
		}
	}
	return a
}

// event is a NetworkEvent with awkward text where the connectors put text.
func (g alertGen) event() (*NetworkEvent, Match) {
	ev := goldenEvent()
	ev.DeviceName, ev.ActionType, ev.Protocol, ev.ReportID = g.str(), g.str(), g.str(), g.str()
	ev.LocalIPRaw, ev.LocalIP = g.str(), netip.Addr{}
	ev.Process = Process{FileName: g.str(), FolderPath: g.str(), CommandLine: g.str(), PID: int64(g.int()), SHA1: g.str(),
		AccountName: g.str(), AccountDom: g.str(), ParentName: g.str(), ParentPID: int64(g.int())}
	ev.Time = g.time()
	ev.Raw = g.raw()
	ev.RemotePort, ev.LocalPort = g.int(), g.int()
	ind := Indicator{Prefix: netip.PrefixFrom(goldenRemote, 32), Count: g.int() & 0xffff, Level: g.r.IntN(9), Feed: g.str()}
	if g.r.IntN(3) == 0 {
		ind.Prefix = netip.MustParsePrefix("77.90.0.0/16")
	}
	m := Match{Remote: goldenRemote, Indicator: ind}
	if g.r.IntN(2) == 0 {
		m.Facing = goldenFacing()
		m.Facing.Row.Facing.Reason, m.Facing.Row.DeviceName = g.str(), g.str()
	}
	return ev, m
}

// TestAppendJSONMatchesMarshal: AppendJSON writes exactly what json.Marshal
// writes, over generated alerts of every shape and over NewAlert's output
// for generated events, awkward strings included.
func TestAppendJSONMatchesMarshal(t *testing.T) {
	g := alertGen{rand.New(rand.NewPCG(14, 18))}
	check := func(i int, a *Alert) {
		t.Helper()
		want, err := json.Marshal(a)
		if err != nil {
			t.Fatalf("alert %d: json.Marshal: %v", i, err)
		}
		got := a.AppendJSON(nil)
		if !bytes.Equal(got, want) {
			t.Fatalf("alert %d: AppendJSON differs from json.Marshal\n got: %s\nwant: %s", i, got, want)
		}
	}
	check(-1, &Alert{}) // the zero alert: nil slices are null, as json.Marshal writes them
	for i := range 3000 {
		check(i, g.alert())
	}
	for i := range 3000 {
		ev, m := g.event()
		rule := Rule{ID: g.str(), Name: g.str(), Reference: g.str()}
		check(i, NewAlert(ev, m, rule, g.time()))
	}
}

// TestAppendJSONRawVerbatim: the raw record reaches the document byte for
// byte, whitespace and characters json.Marshal would escape included, and
// the document is one valid JSON line.
func TestAppendJSONRawVerbatim(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want string // what defender.network_event holds; "" = raw itself
	}{
		{name: "flat row", raw: rawEvent},
		{name: "Streaming API envelope, spaced", raw: `{ "time": "2026-08-22T10:15:31.6234567Z", "tenantId": "c0ffee00-0000-4000-8000-000000000001", "operationName": "Publish", "category": "AdvancedHunting-DeviceNetworkEvents", "properties": {"Timestamp":"2026-08-22T10:15:30.1234567Z","RemoteIP":"77.90.185.20"}, "Tenant": "DefaultTenant" }`},
		{name: "HTML characters and escapes", raw: `{"InitiatingProcessCommandLine":"cmd.exe /c \"a<b>&c\" \u003c \/ \u2028","U":"\u00e9 é 🙂"}`},
		{name: "raw U+2028 inside a string", raw: "{\"x\":\"a\u2028b\"}"},
		{name: "surrounding whitespace", raw: " \t{\"a\":1} "},
		{name: "line breaks become spaces", raw: "{\n  \"a\": [1,\r\n 2]\n}", want: "{   \"a\": [1,   2] }"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := goldenEvent()
			ev.Raw = json.RawMessage(tt.raw)
			a := NewAlert(ev, Match{Facing: goldenFacing(), Remote: goldenRemote}, Rule{}, alertCreated)
			doc := a.AppendJSON(nil)
			want := tt.want
			if want == "" {
				want = tt.raw
			}
			if !bytes.Contains(doc, []byte(`"network_event":`+want+`},"related"`)) {
				t.Errorf("defender.network_event is not the raw record verbatim:\n%s", doc)
			}
			if !json.Valid(doc) || bytes.ContainsAny(doc, "\r\n") {
				t.Errorf("document is not one valid JSON line:\n%q", doc)
			}
			if a.Defender.RawNotObject {
				t.Error("RawNotObject set for an object")
			}
			var back struct {
				Defender struct {
					NetworkEvent any `json:"network_event"`
				} `json:"defender"`
			}
			var orig any
			if err := json.Unmarshal(doc, &back); err != nil || json.Unmarshal([]byte(tt.raw), &orig) != nil {
				t.Fatal(err)
			}
			if b1, b2 := mustJSON(t, back.Defender.NetworkEvent), mustJSON(t, orig); b1 != b2 {
				t.Errorf("network_event decodes to %s, the raw record to %s", b1, b2)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestNewAlertRawNotObject: a raw record that is not one JSON object in
// valid UTF-8 is kept as a JSON string of its text and flagged.
func TestNewAlertRawNotObject(t *testing.T) {
	tests := []struct {
		name, raw, want string
	}{
		{"truncated", `{"truncated":`, `"{\"truncated\":"`},
		{"array", `[{"a":1}]`, `"[{\"a\":1}]"`},
		{"number", `42`, `"42"`},
		{"two objects", `{}{}`, `"{}{}"`},
		{"invalid UTF-8 in a string", "{\"a\":\"\xff\"}", `"{\"a\":\"\ufffd\"}"`},
		{"CSV text", "a,b,<c>", `"a,b,\u003cc\u003e"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := goldenEvent()
			ev.Raw = json.RawMessage(tt.raw)
			a := NewAlert(ev, Match{Remote: goldenRemote}, Rule{}, alertCreated)
			if !a.Defender.RawNotObject {
				t.Error("RawNotObject not set")
			}
			if got := string(a.Defender.NetworkEvent); got != tt.want {
				t.Errorf("network_event = %s, want %s", got, tt.want)
			}
			doc := a.AppendJSON(nil)
			if !json.Valid(doc) {
				t.Errorf("document is not valid JSON: %s", doc)
			}
			if m, err := json.Marshal(a); err != nil || !bytes.Equal(m, doc) {
				t.Errorf("json.Marshal differs (%v)", err)
			}
		})
	}
	ev := goldenEvent()
	ev.Raw = nil
	a := NewAlert(ev, Match{Remote: goldenRemote}, Rule{}, alertCreated)
	if a.Defender.RawNotObject || !bytes.Contains(a.Defender.NetworkEvent, []byte(`"ReportId":"31337"`)) {
		t.Errorf("no raw row: fallback %s (flagged %v)", a.Defender.NetworkEvent, a.Defender.RawNotObject)
	}
}

func TestAppendJSONAllocs(t *testing.T) {
	a := NewAlert(goldenEvent(), Match{Facing: goldenFacing(), Remote: goldenRemote, Indicator: Indicator{Prefix: netip.PrefixFrom(goldenRemote, 32), Count: 3, Level: 3}}, Rule{}, alertCreated)
	buf := make([]byte, 0, 8192)
	if n := testing.AllocsPerRun(50, func() { buf = a.AppendJSON(buf[:0]) }); n != 0 {
		t.Errorf("AppendJSON into a large enough buffer allocates %v times, want 0", n)
	}
}

func TestRawObject(t *testing.T) {
	deep := strings.Repeat("[", maxRawDepth) + strings.Repeat("]", maxRawDepth)
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{`{}`, true}, {` {"a":[1,-2.5e+3,true,false,null,"x\u00e9\n",{}]} `, true}, {`{"a":{"b":{"c":[]}}}`, true},
		{``, false}, {`[]`, false}, {`"s"`, false}, {`{`, false}, {`{"a"}`, false}, {`{"a":}`, false}, {`{"a":1,}`, false},
		{`{"a":01}`, false}, {`{"a":1.}`, false}, {`{"a":-}`, false}, {`{"a":tru}`, false}, {`{"a":"\x"}`, false},
		{`{"a":"\u12"}`, false}, {"{\"a\":\"\x01\"}", false}, {`{} x`, false}, {`{"a":[1 2]}`, false}, {`{1:2}`, false},
		{"{\"a\":\"\xff\"}", false}, {`{"a":` + deep + `}`, false}, {`{"a":` + deep[1:len(deep)-1] + `}`, true},
	} {
		if got := rawObject([]byte(tt.in)); got != tt.want {
			t.Errorf("rawObject(%.40q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// FuzzRawObject: rawObject agrees with json.Valid plus "an object at the
// top, in valid UTF-8".
func FuzzRawObject(f *testing.F) {
	for _, s := range []string{rawEvent, `{}`, `{"a":[1,{"b":null}]}`, `{"a":"\ud800"}`, `[1]`, `{"a":1e5}`, "{\"a\":\"\xff\"}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		want := json.Valid(b) && utf8.Valid(b) && bytes.HasPrefix(bytes.TrimLeft(b, " \t\r\n"), []byte("{"))
		if got := rawObject(b); got != want {
			t.Fatalf("rawObject(%q) = %v, want %v", b, got, want)
		}
	})
}
