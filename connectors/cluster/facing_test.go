package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/correlation"
)

func row(dev string, port int, at string, id string, facing bool) *correlation.DeviceInfo {
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		panic(err)
	}
	return &correlation.DeviceInfo{Time: t, DeviceID: dev, IsInternetFacing: facing,
		Facing: correlation.InternetFacing{LocalPort: port}, Loc: correlation.Location{Source: "di", DocID: id}}
}

func TestLaterRow(t *testing.T) {
	tests := []struct {
		name string
		a, b *correlation.DeviceInfo
		want bool
	}{
		{"later time", row("d", 1, "2025-01-01T00:00:00.0000002Z", "a", true), row("d", 1, "2025-01-01T00:00:00.0000001Z", "z", true), true},
		{"earlier time", row("d", 1, "2025-01-01T00:00:00Z", "z", true), row("d", 1, "2025-01-01T00:00:01Z", "a", true), false},
		{"tie: larger id", row("d", 1, "2025-01-01T00:00:00Z", "b", true), row("d", 1, "2025-01-01T00:00:00Z", "a", true), true},
		{"tie: smaller id", row("d", 1, "2025-01-01T00:00:00Z", "a", true), row("d", 1, "2025-01-01T00:00:00Z", "b", true), false},
		{"tie: the index first", &correlation.DeviceInfo{Loc: correlation.Location{Source: "di-2", DocID: "a"}}, &correlation.DeviceInfo{Loc: correlation.Location{Source: "di-1", DocID: "z"}}, true},
		{"the same row", row("d", 1, "2025-01-01T00:00:00Z", "a", true), row("d", 1, "2025-01-01T00:00:00Z", "a", true), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := LaterRow(tt.a, tt.b); got != tt.want {
				t.Errorf("LaterRow = %v, want %v", got, tt.want)
			}
		})
	}
}

// LatestRows gives the same rows whatever the order and however often each
// row is offered, and the same facing set as a FacingBuilder fed every row
// in LaterRow order.
func TestLatestRowsOrderFree(t *testing.T) {
	var rows []*correlation.DeviceInfo
	for i := range 200 {
		rows = append(rows, row(fmt.Sprintf("d%d", i%7), 20+i%3, fmt.Sprintf("2025-01-01T00:00:%02dZ", i%11), fmt.Sprintf("id%03d", i), i%4 != 0))
	}
	rows = append(rows, &correlation.DeviceInfo{DeviceID: "noport", Facing: correlation.InternetFacing{LocalPort: correlation.NoPort}})
	render := func(rs []*correlation.DeviceInfo) string {
		var b correlation.FacingBuilder
		for _, r := range rs {
			b.Add(r)
		}
		s := ""
		for fp := range b.Build().All() {
			s += fmt.Sprintf("%s:%d %s\n", fp.DeviceID, fp.Port, fp.Row.Loc.DocID)
		}
		return s
	}
	var ref LatestRows
	for _, r := range rows {
		ref.Add(r)
	}
	want := render(ref.Sorted())
	if want == "" {
		t.Fatal("empty facing set")
	}
	// The builder fed all rows in LaterRow order agrees.
	var all LatestRows
	sorted := make([]*correlation.DeviceInfo, 0, len(rows))
	for _, r := range rows {
		if all.Add(r) {
			sorted = append(sorted, r)
		}
	}
	for i := range sorted {
		for j := i + 1; j < len(sorted); j++ {
			if LaterRow(sorted[i], sorted[j]) {
				sorted[i], sorted[j] = sorted[j], sorted[i]
			}
		}
	}
	if got := render(sorted); got != want {
		t.Errorf("builder over every row in order:\n%s\nwant\n%s", got, want)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 5 {
		var l LatestRows
		perm := rng.Perm(len(rows))
		for _, i := range perm {
			l.Add(rows[i])
			if i%5 == 0 {
				l.Add(rows[i]) // twice
			}
		}
		if got := render(l.Sorted()); got != want {
			t.Errorf("round %d: order changed the result", round)
		}
	}
}

func TestFacingGroupsFor(t *testing.T) {
	tests := []struct {
		name    string
		profile string
		fields  map[string]string
		maps    map[string]map[string]string
		want    string // "text", "field:<name>", or "" (rows)
	}{
		{"advanced hunting, dynamic mapping: text groups", ProfileAdvancedHunting, nil,
			map[string]map[string]string{"di": {"Timestamp": "date", "DeviceId": "text+kw", "AdditionalFields": "text+kw"}}, "text"},
		{"sentinel object: the port field", ProfileSentinel, nil,
			map[string]map[string]string{"di": {"TimeGenerated": "date", "DeviceId": "keyword", "AdditionalFields.InternetFacingLocalPort": "long"}}, "field:AdditionalFields.InternetFacingLocalPort"},
		{"sentinel, string port: its keyword sub-field", ProfileSentinel, nil,
			map[string]map[string]string{"di": {"TimeGenerated": "date", "DeviceId": "keyword", "AdditionalFields.InternetFacingLocalPort": "text+kw"}}, "field:AdditionalFields.InternetFacingLocalPort.keyword"},
		{"elastic flattened", ProfileElasticM365, nil,
			map[string]map[string]string{"logs": {"@timestamp": "date", "host.id": "keyword", "m365_defender.event.additional_fields": "flattened"}}, "field:m365_defender.event.additional_fields.InternetFacingLocalPort"},
		{"custom per-key port field", ProfileCustom, map[string]string{FieldFacingLocalPort: "facing.port"},
			map[string]map[string]string{"di": {"Timestamp": "date", "DeviceId": "keyword", "facing.port": "integer"}}, "field:facing.port"},
		{"time is text: rows", ProfileAdvancedHunting, nil,
			map[string]map[string]string{"di": {"Timestamp": "text+kw", "DeviceId": "keyword", "AdditionalFields": "text"}}, ""},
		{"device id analysed only: rows", ProfileAdvancedHunting, nil,
			map[string]map[string]string{"di": {"Timestamp": "date", "DeviceId": "text", "AdditionalFields": "text"}}, ""},
		{"keyword blob: rows", ProfileAdvancedHunting, nil,
			map[string]map[string]string{"di": {"Timestamp": "date", "DeviceId": "keyword", "AdditionalFields": "keyword"}}, ""},
		{"text in one index, object in another: rows", ProfileSentinel, nil,
			map[string]map[string]string{
				"a": {"TimeGenerated": "date", "DeviceId": "keyword", "AdditionalFields": "text"},
				"b": {"TimeGenerated": "date", "DeviceId": "keyword", "AdditionalFields.InternetFacingLocalPort": "long"},
			}, ""},
		{"device id keyword here, .keyword there: rows", ProfileAdvancedHunting, nil,
			map[string]map[string]string{
				"a": {"Timestamp": "date", "DeviceId": "keyword", "AdditionalFields": "text"},
				"b": {"Timestamp": "date", "DeviceId": "text+kw", "AdditionalFields": "text"},
			}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustProfile(t, tt.profile, tt.fields)
			g, why := facingGroupsFor(p, testMappings(tt.maps), nil)
			got := ""
			switch {
			case g == nil:
			case g.af != "":
				got = "text"
			default:
				got = "field:" + g.port
			}
			if got != tt.want {
				t.Errorf("groups = %q (why not: %q), want %q", got, why, tt.want)
			}
			if g == nil && why == "" {
				t.Error("no reason given")
			}
		})
	}
}

func TestPortToken(t *testing.T) {
	p := mustProfile(t, ProfileAdvancedHunting, nil)
	tests := []struct {
		name, af string
		want     string
	}{
		{"number", `{"InternetFacingLocalPort":3389}`, "3389"},
		{"string", `{"InternetFacingLocalPort":"443"}`, "443"},
		{"leading zero", `{"InternetFacingLocalPort":"03389"}`, "03389"},
		{"float", `{"InternetFacingLocalPort":3389.0}`, "3389.0"},
		{"spaces trimmed", `{"InternetFacingLocalPort":" 25 "}`, "25"},
		{"other case key", `{"internetfacinglocalport":22}`, "22"},
		{"null", `{"InternetFacingLocalPort":null}`, "null"},
		{"two words: no token", `{"InternetFacingLocalPort":"22 23"}`, ""},
		{"punctuation: no token", `{"InternetFacingLocalPort":"+80"}`, ""},
		{"no key", `{"InternetFacingReason":"x"}`, ""},
		{"malformed", `{"InternetFacingLocalPort": 1433,`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, enc := range []string{"text", "double"} {
				af, _ := json.Marshal(tt.af)
				if enc == "double" {
					af, _ = json.Marshal(string(af))
				}
				src := []byte(`{"Timestamp":"2025-01-01T00:00:00Z","DeviceId":"d","AdditionalFields":` + string(af) + `}`)
				if got := portToken(p, src); got != tt.want {
					t.Errorf("%s: portToken = %q, want %q", enc, got, tt.want)
				}
			}
		})
	}
}

func TestCollapseKey(t *testing.T) {
	tests := []struct {
		name, fields, field, want string
	}{
		{"keyword", `{"DeviceId.keyword":["abc"]}`, "DeviceId.keyword", "abc"},
		{"first of several", `{"host.id":["h1"],"x":[1]}`, "host.id", "h1"},
		{"later member", `{"x":[1], "host.id" : [ "h2", "h3" ]}`, "host.id", "h2"},
		{"escaped value", `{"DeviceId":["a\"b"]}`, "DeviceId", `a"b`},
		{"escaped key", `{"Device\u0049d":["abc"]}`, "DeviceId", "abc"},
		{"number", `{"DeviceId":[42]}`, "DeviceId", "42"},
		{"null", `{"DeviceId":[null]}`, "DeviceId", ""},
		{"empty array", `{"DeviceId":[]}`, "DeviceId", ""},
		{"not an array", `{"DeviceId":"abc"}`, "DeviceId", ""},
		{"absent", `{}`, "DeviceId", ""},
		{"no fields", ``, "DeviceId", ""},
		{"malformed", `{"DeviceId":["abc"`, "DeviceId", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := collapseKey(json.RawMessage(tt.fields), tt.field); got != tt.want {
				t.Errorf("collapseKey(%s, %s) = %q, want %q", tt.fields, tt.field, got, tt.want)
			}
		})
	}
}

// A query the cluster refuses for its shape or size makes the facing step
// read rows; any other failure is the run's.
func TestFacingSearchFallback(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   bool // errGroupUnsupported
	}{
		{"400: a feature the mapping lacks", 400, `{"error":{"type":"illegal_argument_exception","reason":"cannot write xcontent for unknown value"},"status":400}`, true},
		{"500: too many nested clauses", 500, `{"error":{"root_cause":[{"type":"too_many_nested_clauses","reason":"Query contains too many nested clauses; maxClauseCount is set to 1024"}],"type":"search_phase_execution_exception","reason":"all shards failed"},"status":500}`, true},
		{"503: the cluster is not ready", 503, `{"error":{"type":"cluster_block_exception","reason":"blocked"},"status":503}`, false},
		{"403: not allowed", 403, `{"error":{"type":"security_exception","reason":"no permission"},"status":403}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doer := DoerFunc(func(context.Context, Request) (*Response, error) {
				return &Response{Status: tt.status, Body: []byte(tt.body)}, nil
			})
			s, err := NewSource(doer, OpenSearch, SourceConfig{DeviceInfoIndex: "di", NetworkEventsIndex: "ev"})
			if err != nil {
				t.Fatal(err)
			}
			r := &facingRead{s: s, plan: &FacingPlan{}}
			_, err = r.search(context.Background(), jsonObj{})
			if got := errors.Is(err, errGroupUnsupported); got != tt.want {
				t.Errorf("err = %v: unsupported %v, want %v", err, got, tt.want)
			}
		})
	}
}
