package cluster

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/correlation"
	goldenfile "github.com/edgewatch/edgewatch/internal/golden"
	"github.com/google/go-cmp/cmp"
)

// testMappings builds mappings from index -> field -> type. A type "text+kw"
// is text with a .keyword sub-field.
func testMappings(spec map[string]map[string]string) *mappings {
	m := &mappings{fields: map[string]*fieldMap{}}
	for idx, fields := range spec {
		m.indices = append(m.indices, idx)
		for f, typ := range fields {
			if typ == "text+kw" {
				m.field(f).byIndex[idx] = kindText
				m.field(f).keywordSub[idx] = true
				continue
			}
			m.field(f).byIndex[idx] = kindOf(typ)
		}
	}
	return m
}

func jsonText(t *testing.T, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func golden(t *testing.T, name string, got string) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", name), []byte(got+"\n"))
}

func TestFieldPlan(t *testing.T) {
	m := testMappings(map[string]map[string]string{
		"a": {"DeviceId": "text+kw", "RemoteIP": "ip", "AF": "text", "flat": "flattened", "Timestamp": "date", "mixed": "keyword"},
		"b": {"DeviceId": "keyword", "RemoteIP": "ip", "AF": "text", "Timestamp": "date_nanos", "mixed": "text+kw"},
	})
	tests := []struct {
		path string
		want fieldPlan
	}{
		{"DeviceId", fieldPlan{Fields: []string{"DeviceId", "DeviceId.keyword"}, Pushable: true, AnyKeyword: true}},
		{"RemoteIP", fieldPlan{Fields: []string{"RemoteIP"}, Pushable: true, AllIP: true}},
		{"AF", fieldPlan{Pushable: false}},
		{"flat.InternetFacingLocalPort", fieldPlan{Fields: []string{"flat.InternetFacingLocalPort"}, Pushable: true, AnyKeyword: true}},
		{"Timestamp", fieldPlan{Fields: []string{"Timestamp"}, Pushable: true, AllDate: true}},
		{"unmapped", fieldPlan{Pushable: true}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, m.plan(tt.path)); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTermsClauseChunks(t *testing.T) {
	plan := fieldPlan{Fields: []string{"f"}, Pushable: true}
	vals := []any{"a", "b", "c", "d", "e"}
	got, ok := termsClause("f", plan, vals, 2)
	if !ok {
		t.Fatal("not pushable")
	}
	want := `{"bool":{"minimum_should_match":1,"should":[{"terms":{"f":["a","b"]}},{"terms":{"f":["c","d"]}},{"terms":{"f":["e"]}}]}}`
	if b, _ := json.Marshal(got); string(b) != want {
		t.Errorf("got %s\nwant %s", b, want)
	}
	gotS, _ := termsClauseStrings("f", plan, []string{"a", "b", "c", "d", "e"}, 2)
	if b, _ := json.Marshal(gotS); string(b) != want {
		t.Errorf("strings: got %s\nwant %s", b, want)
	}
	if _, ok := termsClause("f", fieldPlan{}, vals, 2); ok {
		t.Error("analysed-only field: want not pushable")
	}
	if got, _ := termsClause("f", plan, nil, 2); jsonText(t, got) != jsonText(t, matchNone()) {
		t.Errorf("no values: got %v, want match_none", got)
	}
}

func TestTimeRangeWidensToMilliseconds(t *testing.T) {
	plan := fieldPlan{Fields: []string{"Timestamp"}, Pushable: true, AllDate: true}
	from := time.Date(2025, 1, 1, 0, 0, 0, 123456700, time.UTC)
	to := time.Date(2025, 1, 2, 0, 0, 0, 500000, time.UTC) // 0.0005 s
	got, ok := timeRange("Timestamp", plan, from, to)
	if !ok {
		t.Fatal("not pushed")
	}
	want := `{"range":{"Timestamp":{"format":"strict_date_optional_time","gte":"2025-01-01T00:00:00.123Z","lte":"2025-01-02T00:00:00.000Z"}}}`
	if b, _ := json.Marshal(got); string(b) != want {
		t.Errorf("got %s\nwant %s", b, want)
	}
	// A bound on a whole millisecond: lte is the millisecond before.
	got, _ = timeRange("Timestamp", plan, time.Time{}, time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC))
	if b, _ := json.Marshal(got); !strings.Contains(string(b), `"lte":"2025-01-01T23:59:59.999Z"`) {
		t.Errorf("got %s, want lte 23:59:59.999", b)
	}
	if _, ok := timeRange("Timestamp", fieldPlan{Fields: []string{"Timestamp"}, Pushable: true}, from, to); ok {
		t.Error("keyword time field: want no range (string compare is wrong)")
	}
}

func indicators(t *testing.T, vals ...string) *correlation.IndicatorSet {
	t.Helper()
	s := correlation.NewIndicatorSet("test")
	for _, v := range vals {
		p, err := correlation.ParsePrefix(v)
		if err != nil {
			t.Fatal(err)
		}
		if ok, why := s.Add(correlation.Indicator{Prefix: p, Level: 1}, false); !ok {
			t.Fatalf("add %s: %s", v, why)
		}
	}
	return s
}

func TestIndicatorTerms(t *testing.T) {
	set := indicators(t, "8.8.8.8", "2a00:1450::1", "1.2.3.0/30")
	tests := []struct {
		name  string
		plan  fieldPlan
		max   int
		want  []string
		cidrs int
		ok    bool
	}{
		{"ip field: CIDR as is", fieldPlan{AllIP: true}, 10,
			[]string{"8.8.8.8", "2a00:1450::1", "1.2.3.0/30"}, 1, true},
		{"keyword field: both forms, small range expanded", fieldPlan{AnyKeyword: true}, 10,
			[]string{"8.8.8.8", "::ffff:8.8.8.8", "2a00:1450::1",
				"1.2.3.0", "::ffff:1.2.3.0", "1.2.3.1", "::ffff:1.2.3.1", "1.2.3.2", "::ffff:1.2.3.2", "1.2.3.3", "::ffff:1.2.3.3"}, 0, true},
		{"ip field over the CIDR budget", fieldPlan{AllIP: true}, 0, nil, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, cidrs, ok := indicatorTerms(set, tt.plan, tt.max)
			if ok != tt.ok || cidrs != tt.cidrs {
				t.Fatalf("ok=%v cidrs=%d, want ok=%v cidrs=%d", ok, cidrs, tt.ok, tt.cidrs)
			}
			if diff := cmp.Diff(tt.want, got); tt.ok && diff != "" {
				t.Errorf("terms (-want +got):\n%s", diff)
			}
		})
	}
	big := indicators(t, "9.9.0.0/16")
	if _, _, ok := indicatorTerms(big, fieldPlan{AnyKeyword: true}, 10); ok {
		t.Error("a /16 on a keyword field: want not pushable")
	}
}

func TestFacingQueries(t *testing.T) {
	from := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(2025, 1, 31, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		profile string
		maps    map[string]map[string]string
		golden  string
		notes   int
	}{
		{"ah dynamic mapping: match on the text blob", ProfileAdvancedHunting,
			map[string]map[string]string{"di": {"Timestamp": "date", "AdditionalFields": "text+kw", "DeviceId": "text+kw"}},
			"facing_ah_dynamic.json", 0},
		{"ah keyword blob: presence left to the client", ProfileAdvancedHunting,
			map[string]map[string]string{"di": {"Timestamp": "date", "AdditionalFields": "keyword"}},
			"facing_ah_keyword.json", 1},
		{"sentinel object: exists on the port key", ProfileSentinel,
			map[string]map[string]string{"di": {"TimeGenerated": "date", "AdditionalFields.InternetFacingLocalPort": "long"}},
			"facing_sentinel.json", 0},
		{"elastic flattened: category and exists on the keyed port", ProfileElasticM365,
			map[string]map[string]string{"logs": {"@timestamp": "date", "m365_defender.event.additional_fields": "flattened", "m365_defender.event.category": "keyword"}},
			"facing_elastic.json", 0},
		{"elastic without the category field: no category filter", ProfileElasticM365,
			map[string]map[string]string{"logs": {"@timestamp": "date", "m365_defender.event.additional_fields": "flattened"}},
			"facing_elastic_nocategory.json", 0},
		{"sentinel export sharing an index: Type", ProfileSentinel,
			map[string]map[string]string{"la": {"TimeGenerated": "date", "AdditionalFields.InternetFacingLocalPort": "long", "Type": "keyword"}},
			"facing_sentinel_shared.json", 0},
		{"a marker that is analysed text only: left to decoding", ProfileSentinel,
			map[string]map[string]string{"la": {"TimeGenerated": "date", "AdditionalFields.InternetFacingLocalPort": "long", "Type": "text"}},
			"facing_sentinel.json", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, notes := facingQuery(mustProfile(t, tt.profile, nil), testMappings(tt.maps), from, to)
			if len(notes) != tt.notes {
				t.Errorf("notes = %q, want %d", notes, tt.notes)
			}
			golden(t, tt.golden, jsonText(t, q))
		})
	}
}

func facingSet(t *testing.T, pairs ...any) *correlation.FacingSet {
	t.Helper()
	var b correlation.FacingBuilder
	for i := 0; i < len(pairs); i += 2 {
		b.Add(&correlation.DeviceInfo{
			Time: time.Unix(0, 0), DeviceID: pairs[i].(string), IsInternetFacing: true,
			Facing: correlation.InternetFacing{LocalPort: pairs[i+1].(int)},
		})
	}
	return b.Build()
}

func TestEventQueries(t *testing.T) {
	from := time.Date(2025, 1, 30, 0, 0, 0, 0, time.UTC)
	to := time.Date(2025, 1, 31, 0, 0, 0, 0, time.UTC)
	fs := facingSet(t, "d1", 3389, "d2", 443, "d2", 3389)
	ind := indicators(t, "45.155.205.233", "185.220.101.0/31")
	tests := []struct {
		name    string
		profile string
		maps    map[string]map[string]string
		golden  string
	}{
		{"ah dynamic mapping: keyword sub-fields, both IP forms", ProfileAdvancedHunting,
			map[string]map[string]string{"ev": {"Timestamp": "date", "ActionType": "text+kw", "DeviceId": "text+kw", "LocalPort": "long", "RemoteIP": "text+kw"}},
			"events_ah_dynamic.json"},
		{"sentinel typed mapping: ip field with CIDR", ProfileSentinel,
			map[string]map[string]string{"ev": {"TimeGenerated": "date", "ActionType": "keyword", "DeviceId": "keyword", "LocalPort": "integer", "RemoteIP": "ip"}},
			"events_sentinel.json"},
		{"elastic: both arrangements", ProfileElasticM365,
			map[string]map[string]string{"logs": {"@timestamp": "date", "event.action": "keyword", "host.id": "keyword",
				"source.ip": "ip", "destination.ip": "ip", "source.port": "long", "destination.port": "long",
				"m365_defender.event.network_direction": "keyword"}},
			"events_elastic.json"},
		{"elastic in a shared data stream: the table marker", ProfileElasticM365,
			map[string]map[string]string{"logs": {"@timestamp": "date", "event.action": "keyword", "host.id": "keyword",
				"source.ip": "ip", "destination.ip": "ip", "source.port": "long", "destination.port": "long",
				"m365_defender.event.network_direction": "keyword", "m365_defender.event.category": "keyword"}},
			"events_elastic_shared.json"},
		{"streaming, dynamic mapping: category.keyword", ProfileStreaming,
			map[string]map[string]string{"hub": {"properties.Timestamp": "date", "properties.ActionType": "text+kw", "properties.DeviceId": "text+kw",
				"properties.LocalPort": "long", "properties.RemoteIP": "text+kw", "category": "text+kw"}},
			"events_streaming_shared.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustProfile(t, tt.profile, nil)
			m := testMappings(tt.maps)
			filter, arrs, notes := baseEventFilter(eventPlanInput{profile: p, maps: m, lim: defaultLimits(), from: from, to: to, facing: fs})
			if len(notes) > 0 {
				t.Errorf("notes: %q", notes)
			}
			remote := make([]any, len(arrs))
			for i, a := range p.Arrangements {
				plan := m.plan(a.RemoteIP)
				vals, _, ok := indicatorTerms(ind, plan, 100)
				if !ok {
					t.Fatalf("indicator terms not pushable on %s", a.RemoteIP)
				}
				remote[i], _ = termsClauseStrings(a.RemoteIP, plan, vals, 65536)
			}
			golden(t, tt.golden, jsonText(t, eventQuery(filter, arrs, remote, nil)))
		})
	}
}

func TestEventQuerySkipsArrangements(t *testing.T) {
	arrs := []arrClause{{filter: []any{"A"}}, {filter: []any{"B"}, mustNot: []any{"N"}}}
	got := jsonText(t, eventQuery([]any{"F"}, arrs, []any{"rA", "rB"}, []bool{true, false}))
	want := jsonText(t, jsonObj{"bool": jsonObj{"filter": []any{"F", "B", "rB"}, "must_not": []any{"N"}}})
	if got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	got = jsonText(t, eventQuery([]any{"F"}, arrs, nil, []bool{true, true}))
	if !bytes.Contains([]byte(got), []byte("match_none")) {
		t.Errorf("every arrangement skipped: got %s, want match_none", got)
	}
}
