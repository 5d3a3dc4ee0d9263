package dashboards

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func jsonEq(t *testing.T, name string, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: got invalid JSON %s: %v", name, got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: bad want: %v", name, err)
	}
	if d := cmp.Diff(w, g); d != "" {
		t.Errorf("%s (-want +got):\n%s", name, d)
	}
}

func TestAggregationsOfBundle(t *testing.T) {
	aggs := fromBundle(t, KindOpenSearchDashboards, Aggregations)
	byID := map[string]VisAgg{}
	for _, a := range aggs {
		byID[a.ID] = a
	}
	if len(aggs) != 11 {
		t.Errorf("got %d visualizations, want 11", len(aggs))
	}
	tests := []struct {
		id, index, timeField, query, aggs string
	}{
		{
			id: "edgewatch-top-ips", index: AlertsPattern, timeField: "@timestamp",
			query: `{"match_all":{}}`,
			aggs:  `{"3":{"terms":{"field":"source.ip","size":20,"order":{"_count":"desc"}},"aggs":{"2":{"max":{"field":"edgewatch.indicator.count"}},"4":{"sum":{"field":"edgewatch.suppression.docs_count","missing":1}}}}}`,
		},
		{
			id: "edgewatch-alerts-over-time", index: AlertsPattern, timeField: "@timestamp",
			query: `{"match_all":{}}`,
			aggs:  `{"2":{"date_histogram":{"field":"@timestamp","fixed_interval":"1h","min_doc_count":1},"aggs":{"3":{"terms":{"field":"edgewatch.severity","size":4,"order":{"_count":"desc"}},"aggs":{"4":{"sum":{"field":"edgewatch.suppression.docs_count","missing":1}}}}}}}`,
		},
		{
			id: "edgewatch-alert-count", index: AlertsPattern, timeField: "@timestamp",
			query: `{"match_all":{}}`,
			aggs:  `{"2":{"cardinality":{"field":"host.name"}},"3":{"sum":{"field":"edgewatch.suppression.docs_count","missing":1}}}`,
		},
		{
			id: "edgewatch-feed-levels", index: IndicatorsPattern, timeField: "",
			query: `{"match_all":{}}`,
			aggs:  `{"3":{"terms":{"field":"level","size":10,"order":{"_key":"desc"}},"aggs":{"2":{"max":{"field":"loaded_at"}}}}}`,
		},
		{
			id: "edgewatch-run-health", index: StateIndex, timeField: "started_at",
			query: `{"bool":{"filter":[{"match_phrase":{"type":"run"}}]}}`,
			aggs: `{"6":{"terms":{"field":"detection","size":20,"order":{"_count":"desc"}},"aggs":{"7":{"terms":{"field":"outcome","size":5,"order":{"_count":"desc"}},"aggs":{
				"2":{"avg":{"field":"duration_ms"}},"3":{"max":{"field":"duration_ms"}},"4":{"max":{"field":"lag_ms"}},"5":{"max":{"field":"finished_at"}}}}}}}`,
		},
		{
			id: "edgewatch-runs-over-time", index: StateIndex, timeField: "started_at",
			query: `{"bool":{"filter":[{"match_phrase":{"type":"run"}}]}}`,
			aggs: `{"2":{"date_histogram":{"field":"started_at","fixed_interval":"1h","min_doc_count":1},"aggs":{"3":{"filters":{"filters":{
				"failed":{"bool":{"filter":[{"match_phrase":{"outcome":"failed"}}]}},
				"success":{"bool":{"filter":[{"match_phrase":{"outcome":"success"}}]}}}}}}}}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			a, ok := byID[tc.id]
			if !ok {
				t.Fatalf("no visualization %s", tc.id)
			}
			if a.Index != tc.index || a.TimeField != tc.timeField {
				t.Errorf("index %q time %q, want %q %q", a.Index, a.TimeField, tc.index, tc.timeField)
			}
			jsonEq(t, "query", a.Query, tc.query)
			jsonEq(t, "aggs", a.AggJSON, tc.aggs)
			var body map[string]json.RawMessage
			if err := json.Unmarshal(a.Body(), &body); err != nil || string(body["size"]) != "0" {
				t.Errorf("Body() = %s (%v)", a.Body(), err)
			}
		})
	}
}

func visLine(visState string, searchSource string) string {
	vs, _ := json.Marshal(visState)
	ss, _ := json.Marshal(searchSource)
	return `{"type":"index-pattern","id":"p","attributes":{"title":"x-*","timeFieldName":"@timestamp"},"references":[]}` + "\n" +
		`{"type":"visualization","id":"v","attributes":{"title":"v","visState":` + string(vs) +
		`,"kibanaSavedObjectMeta":{"searchSourceJSON":` + string(ss) + `}},"references":[{"name":"r","type":"index-pattern","id":"p"}]}` + "\n"
}

func TestAggregationsRebuildCases(t *testing.T) {
	const ss = `{"query":{"query":"","language":"kuery"},"filter":[],"indexRefName":"r"}`
	tests := []struct {
		name, visState, searchSource, wantAggs, wantErr string
	}{
		{
			name:     "metric only",
			visState: `{"type":"metric","aggs":[{"id":"1","type":"count","schema":"metric","params":{}},{"id":"2","type":"avg","schema":"metric","params":{"field":"n"}}]}`,
			wantAggs: `{"2":{"avg":{"field":"n"}}}`,
		},
		{
			name:     "count only is an empty aggs object",
			visState: `{"type":"metric","aggs":[{"id":"1","type":"count","schema":"metric","params":{}}]}`,
			wantAggs: `{}`,
		},
		{
			name: "outer terms ordered by a metric carries the metric",
			visState: `{"type":"table","aggs":[{"id":"1","type":"max","schema":"metric","params":{"field":"n"}},
				{"id":"2","type":"terms","schema":"bucket","params":{"field":"a","size":3,"orderBy":"1","order":"asc"}},
				{"id":"3","type":"terms","schema":"bucket","params":{"field":"b","size":2,"orderBy":"_key"}}]}`,
			wantAggs: `{"2":{"terms":{"field":"a","size":3,"order":{"1":"asc"}},"aggs":{"1":{"max":{"field":"n"}},
				"3":{"terms":{"field":"b","size":2,"order":{"_key":"desc"}},"aggs":{"1":{"max":{"field":"n"}}}}}}}`,
		},
		{
			name:     "disabled aggs are ignored",
			visState: `{"type":"pie","aggs":[{"id":"1","type":"count","schema":"metric"},{"id":"2","enabled":false,"type":"terms","schema":"segment","params":{"field":"a"}}]}`,
			wantAggs: `{}`,
		},
		{
			name:     "calendar interval",
			visState: `{"type":"histogram","aggs":[{"id":"1","type":"count","schema":"metric"},{"id":"2","type":"date_histogram","schema":"segment","params":{"field":"@timestamp","interval":"d"}}]}`,
			wantAggs: `{"2":{"date_histogram":{"field":"@timestamp","calendar_interval":"1d","min_doc_count":1}}}`,
		},
		{
			name:     "unsupported agg type",
			visState: `{"type":"table","aggs":[{"id":"1","type":"percentiles","schema":"metric","params":{"field":"n"}}]}`,
			wantErr:  `type "percentiles" is not supported`,
		},
		{
			name:     "terms ordered by a missing agg",
			visState: `{"type":"table","aggs":[{"id":"1","type":"count","schema":"metric"},{"id":"2","type":"terms","schema":"bucket","params":{"field":"a","orderBy":"9"}}]}`,
			wantErr:  `orders by unknown agg "9"`,
		},
		{
			name:     "metric without field",
			visState: `{"type":"metric","aggs":[{"id":"1","type":"max","schema":"metric","params":{}}]}`,
			wantErr:  "has no field",
		},
		{
			name:         "lucene query refused",
			visState:     `{"type":"metric","aggs":[{"id":"1","type":"count","schema":"metric"}]}`,
			searchSource: `{"query":{"query":"a:b","language":"lucene"},"filter":[],"indexRefName":"r"}`,
			wantErr:      `language "lucene"`,
		},
		{
			name:         "saved filters refused",
			visState:     `{"type":"metric","aggs":[{"id":"1","type":"count","schema":"metric"}]}`,
			searchSource: `{"query":{"query":"","language":"kuery"},"filter":[{"meta":{}}],"indexRefName":"r"}`,
			wantErr:      "saved filters",
		},
		{
			name:         "dangling index reference",
			visState:     `{"type":"metric","aggs":[{"id":"1","type":"count","schema":"metric"}]}`,
			searchSource: `{"query":{"query":"","language":"kuery"},"filter":[],"indexRefName":"nope"}`,
			wantErr:      `no reference named "nope"`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := tc.searchSource
			if src == "" {
				src = ss
			}
			aggs, err := Aggregations([]byte(visLine(tc.visState, src)))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(aggs) != 1 {
				t.Fatalf("got %d", len(aggs))
			}
			jsonEq(t, "aggs", aggs[0].AggJSON, tc.wantAggs)
		})
	}
}

func TestParseKQL(t *testing.T) {
	tests := []struct {
		q       string
		want    string
		wantErr bool
	}{
		{q: "", want: `{"match_all":{}}`},
		{q: `type:"run"`, want: `{"bool":{"filter":[{"match_phrase":{"type":"run"}}]}}`},
		{q: `type:run and outcome:"failed"`, want: `{"bool":{"filter":[{"match":{"type":"run"}},{"match_phrase":{"outcome":"failed"}}]}}`},
		{q: `a:"x y" AND b:1`, want: `{"bool":{"filter":[{"match_phrase":{"a":"x y"}},{"match":{"b":"1"}}]}}`},
		{q: `a:b or c:d`, wantErr: true},
		{q: `not a:b`, wantErr: true},
		{q: `a:b*`, wantErr: true},
		{q: `a:"open`, wantErr: true},
		{q: `justtext`, wantErr: true},
		{q: `a:b and`, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.q, func(t *testing.T) {
			cs, err := parseKQL(tc.q)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("parseKQL(%q) = %+v, want error", tc.q, cs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(kqlDSL(cs))
			jsonEq(t, tc.q, b, tc.want)
		})
	}
}

func TestFlattenMapping(t *testing.T) {
	want := map[string]string{"@timestamp": "date", "source.ip": "ip", "host.name": "keyword", "host.name.text": "text", "destination.port": "long"}
	props := `{"@timestamp":{"type":"date"},"source":{"properties":{"ip":{"type":"ip"}}},"host":{"properties":{"name":{"type":"keyword","fields":{"text":{"type":"text"}}}}},"destination":{"type":"object","properties":{"port":{"type":"long"}}}}`
	tests := []struct{ name, doc string }{
		{"bare properties", `{"properties":` + props + `}`},
		{"mappings", `{"mappings":{"dynamic":false,"properties":` + props + `}}`},
		{"index template", `{"index_patterns":["x-*"],"template":{"settings":{},"mappings":{"properties":` + props + `}}}`},
		{"GET _index_template", `{"index_templates":[{"name":"x","index_template":{"index_patterns":["x-*"],"template":{"mappings":{"properties":` + props + `}}}}]}`},
		{"GET _mapping two indices", `{"x-1":{"mappings":{"properties":` + props + `}},"x-2":{"mappings":{"properties":{"source":{"properties":{"ip":{"type":"ip"}}}}}}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FlattenMapping([]byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Error(d)
			}
		})
	}
	_, err := FlattenMapping([]byte(`{"a":{"mappings":{"properties":{"f":{"type":"keyword"}}}},"b":{"mappings":{"properties":{"f":{"type":"text"}}}}}`))
	if err == nil {
		t.Error("conflicting types across indices: want error")
	}
}

func TestCheckMapping(t *testing.T) {
	types := map[string]map[string]string{"a-*": {"ip": "ip", "name": "text", "n": "long", "t": "date", "k": "keyword"}}
	tests := []struct {
		use     FieldUse
		wantErr string
	}{
		{FieldUse{Pattern: "a-*", Field: "ip", Use: "terms"}, ""},
		{FieldUse{Pattern: "a-*", Field: "k", Use: "terms"}, ""},
		{FieldUse{Pattern: "a-*", Field: "n", Use: "terms"}, ""},
		{FieldUse{Pattern: "a-*", Field: "t", Use: "max"}, ""},
		{FieldUse{Pattern: "a-*", Field: "name", Use: "terms"}, "mapped as text"},
		{FieldUse{Pattern: "a-*", Field: "t", Use: "avg"}, "mapped as date"},
		{FieldUse{Pattern: "a-*", Field: "k", Use: "date_histogram"}, "mapped as keyword"},
		{FieldUse{Pattern: "a-*", Field: "missing", Use: "column"}, "not mapped"},
		{FieldUse{Pattern: "b-*", Field: "k", Use: "terms"}, "no mapping is known"},
	}
	for _, tc := range tests {
		t.Run(tc.use.Field+"/"+tc.use.Use, func(t *testing.T) {
			errs := CheckMapping([]FieldUse{tc.use}, types)
			if tc.wantErr == "" {
				if len(errs) != 0 {
					t.Fatalf("unexpected %v", errs)
				}
				return
			}
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.wantErr) {
				t.Fatalf("errs = %v, want %q", errs, tc.wantErr)
			}
		})
	}
}
