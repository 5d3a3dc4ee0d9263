package dashboards

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// VisAgg is the search one visualization sends, rebuilt from its saved
// object: the aggregation tree Dashboards/Kibana derive from the visState
// (bucket aggs nested in order, metrics inside the deepest bucket, each keyed
// by its agg id) and the query from its search source.
type VisAgg struct {
	ID        string
	Title     string
	VisType   string
	PatternID string          // the index-pattern object id
	Index     string          // the index pattern's title: the search target
	TimeField string          // the index pattern's time field ("" = none)
	Query     json.RawMessage // query DSL of the saved query (match_all when empty)
	AggJSON   json.RawMessage // the "aggs" object
	Fields    []FieldUse      // fields the visualization uses
}

// Body is a size-0 search body running the visualization's aggregations.
func (v VisAgg) Body() []byte {
	b, _ := json.Marshal(map[string]json.RawMessage{
		"size":  json.RawMessage("0"),
		"query": v.Query,
		"aggs":  v.AggJSON,
	})
	return b
}

// FieldUse records that an object uses a field of an index pattern, and how.
type FieldUse struct {
	Pattern string `json:"pattern"` // index pattern title
	Field   string `json:"field"`
	Use     string `json:"use"`    // terms, date_histogram, max, avg, cardinality, time, column, query
	Object  string `json:"object"` // the saved object id
}

// rawObject and the types below read saved objects the way Dashboards and
// Kibana do, on purpose apart from the generator's types in
// internal/bundle: a checker that shares the generator's structs would
// agree with any mistake in them. They are also more permissive, as the
// UIs are (an absent "enabled" means enabled, a query may be an object).
type rawObject struct {
	Type       string `json:"type"`
	ID         string `json:"id"`
	Attributes struct {
		Title                 string   `json:"title"`
		TimeFieldName         string   `json:"timeFieldName"`
		VisState              string   `json:"visState"`
		Columns               []string `json:"columns"`
		KibanaSavedObjectMeta struct {
			SearchSourceJSON string `json:"searchSourceJSON"`
		} `json:"kibanaSavedObjectMeta"`
	} `json:"attributes"`
	References []struct {
		Name string `json:"name"`
		Type string `json:"type"`
		ID   string `json:"id"`
	} `json:"references"`
}

type visStateJSON struct {
	Title  string         `json:"title"`
	Type   string         `json:"type"`
	Aggs   []visAggJSON   `json:"aggs"`
	Params map[string]any `json:"params"`
}

type visAggJSON struct {
	ID      string         `json:"id"`
	Enabled *bool          `json:"enabled"`
	Type    string         `json:"type"`
	Schema  string         `json:"schema"`
	Params  map[string]any `json:"params"`
}

type searchSourceJSON struct {
	Query struct {
		Query    any    `json:"query"`
		Language string `json:"language"`
	} `json:"query"`
	Filter       []json.RawMessage `json:"filter"`
	IndexRefName string            `json:"indexRefName"`
}

func parseObjects(ndjson []byte) ([]rawObject, error) {
	var objs []rawObject
	err := eachObject(ndjson, func(line int, b []byte) error {
		var o rawObject
		if err := json.Unmarshal(b, &o); err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		if o.Type != "" || o.ID != "" {
			objs = append(objs, o)
		}
		return nil
	})
	return objs, err
}

type pattern struct{ title, timeField string }

// patternOf resolves the index pattern an object's search source points at.
func patternOf(o rawObject, patterns map[string]pattern) (string, pattern, searchSourceJSON, error) {
	var ss searchSourceJSON
	if s := o.Attributes.KibanaSavedObjectMeta.SearchSourceJSON; s != "" {
		if err := json.Unmarshal([]byte(s), &ss); err != nil {
			return "", pattern{}, ss, fmt.Errorf("%s/%s: searchSourceJSON: %w", o.Type, o.ID, err)
		}
	}
	if ss.IndexRefName == "" {
		return "", pattern{}, ss, fmt.Errorf("%s/%s: searchSourceJSON has no indexRefName", o.Type, o.ID)
	}
	for _, r := range o.References {
		if r.Name == ss.IndexRefName {
			if r.Type != "index-pattern" {
				return "", pattern{}, ss, fmt.Errorf("%s/%s: reference %s is a %s, not an index-pattern", o.Type, o.ID, r.Name, r.Type)
			}
			p, ok := patterns[r.ID]
			if !ok {
				return "", pattern{}, ss, fmt.Errorf("%s/%s: index-pattern %q is not in the bundle", o.Type, o.ID, r.ID)
			}
			return r.ID, p, ss, nil
		}
	}
	return "", pattern{}, ss, fmt.Errorf("%s/%s: no reference named %q", o.Type, o.ID, ss.IndexRefName)
}

func savedQuery(o rawObject, ss searchSourceJSON) ([]kqlClause, error) {
	if len(ss.Filter) > 0 {
		return nil, fmt.Errorf("%s/%s: saved filters are not supported by the rebuild", o.Type, o.ID)
	}
	var q string
	switch v := ss.Query.Query.(type) {
	case nil:
	case string:
		q = v
	default:
		return nil, fmt.Errorf("%s/%s: only KQL string queries are supported", o.Type, o.ID)
	}
	if q != "" && ss.Query.Language != "kuery" {
		return nil, fmt.Errorf("%s/%s: query language %q is not supported", o.Type, o.ID, ss.Query.Language)
	}
	cs, err := parseKQL(q)
	if err != nil {
		return nil, fmt.Errorf("%s/%s: %w", o.Type, o.ID, err)
	}
	return cs, nil
}

// Aggregations rebuilds the search of every visualization in an NDJSON bundle,
// in file order. It supports the agg types the bundle uses (count, terms,
// date_histogram, filters, max, min, avg, sum, cardinality) and errors on any
// other, so a new panel cannot silently escape the cluster tests.
//
// date_histogram with interval "auto" becomes fixed_interval "1h" (the
// dashboards pick the interval from the time range; any valid one exercises
// the same field and mapping).
func Aggregations(ndjson []byte) ([]VisAgg, error) {
	objs, err := parseObjects(ndjson)
	if err != nil {
		return nil, fmt.Errorf("dashboards: aggregations: %w", err)
	}
	patterns := patternsOf(objs)
	var out []VisAgg
	for _, o := range objs {
		if o.Type != "visualization" {
			continue
		}
		va, err := visAgg(o, patterns)
		if err != nil {
			return nil, fmt.Errorf("dashboards: aggregations: %w", err)
		}
		out = append(out, va)
	}
	return out, nil
}

func patternsOf(objs []rawObject) map[string]pattern {
	patterns := map[string]pattern{}
	for _, o := range objs {
		if o.Type == "index-pattern" {
			patterns[o.ID] = pattern{title: o.Attributes.Title, timeField: o.Attributes.TimeFieldName}
		}
	}
	return patterns
}

func visAgg(o rawObject, patterns map[string]pattern) (VisAgg, error) {
	pid, p, ss, err := patternOf(o, patterns)
	if err != nil {
		return VisAgg{}, err
	}
	var st visStateJSON
	if err := json.Unmarshal([]byte(o.Attributes.VisState), &st); err != nil {
		return VisAgg{}, fmt.Errorf("visualization/%s: visState: %w", o.ID, err)
	}
	cs, err := savedQuery(o, ss)
	if err != nil {
		return VisAgg{}, err
	}
	va := VisAgg{ID: o.ID, Title: o.Attributes.Title, VisType: st.Type, PatternID: pid, Index: p.title, TimeField: p.timeField}
	for _, c := range cs {
		va.Fields = append(va.Fields, FieldUse{Pattern: p.title, Field: c.Field, Use: "query", Object: o.ID})
	}
	q, _ := json.Marshal(kqlDSL(cs))
	va.Query = q

	var buckets, metrics []visAggJSON
	isCount := map[string]bool{}
	for _, a := range st.Aggs {
		if a.Enabled != nil && !*a.Enabled {
			continue
		}
		if a.ID == "" {
			return VisAgg{}, fmt.Errorf("visualization/%s: agg without id", o.ID)
		}
		switch a.Type {
		case "count":
			isCount[a.ID] = true
		case "max", "min", "avg", "sum", "cardinality":
			metrics = append(metrics, a)
		case "terms", "date_histogram", "filters":
			buckets = append(buckets, a)
		default:
			return VisAgg{}, fmt.Errorf("visualization/%s: agg %s: type %q is not supported by the rebuild", o.ID, a.ID, a.Type)
		}
	}
	metricDSL := map[string]any{}
	for _, m := range metrics {
		f, err := fieldParam(o.ID, m)
		if err != nil {
			return VisAgg{}, err
		}
		body := map[string]any{"field": f}
		if js, _ := m.Params["json"].(string); js != "" {
			// The "JSON input" of a legacy visualization's agg, merged into
			// the aggregation's body.
			var extra map[string]any
			if err := json.Unmarshal([]byte(js), &extra); err != nil {
				return VisAgg{}, fmt.Errorf("visualization/%s: agg %s: json input: %w", o.ID, m.ID, err)
			}
			for k, v := range extra {
				body[k] = v
			}
		}
		metricDSL[m.ID] = map[string]any{m.Type: body}
		va.Fields = append(va.Fields, FieldUse{Pattern: p.title, Field: f, Use: m.Type, Object: o.ID})
	}
	// Build from the deepest bucket outwards.
	inner := map[string]any{}
	for k, v := range metricDSL {
		inner[k] = v
	}
	for i := len(buckets) - 1; i >= 0; i-- {
		b := buckets[i]
		dsl, uses, err := bucketDSL(o.ID, b, isCount, metricDSL, i == len(buckets)-1)
		if err != nil {
			return VisAgg{}, err
		}
		for _, u := range uses {
			u.Pattern, u.Object = p.title, o.ID
			va.Fields = append(va.Fields, u)
		}
		if len(inner) > 0 {
			sub, _ := dsl["aggs"].(map[string]any)
			if sub == nil {
				sub = map[string]any{}
			}
			for k, v := range inner {
				sub[k] = v
			}
			dsl["aggs"] = sub
		}
		inner = map[string]any{b.ID: dsl}
	}
	aj, err := json.Marshal(inner)
	if err != nil {
		return VisAgg{}, fmt.Errorf("visualization/%s: %w", o.ID, err)
	}
	va.AggJSON = aj
	return va, nil
}

func fieldParam(objID string, a visAggJSON) (string, error) {
	f, _ := a.Params["field"].(string)
	if f == "" {
		return "", fmt.Errorf("visualization/%s: agg %s (%s) has no field", objID, a.ID, a.Type)
	}
	return f, nil
}

func intParam(v any, def int) int {
	switch n := v.(type) {
	case float64:
		return int(n)
	case int:
		return n
	}
	return def
}

var calendarUnits = map[string]string{"m": "1m", "h": "1h", "d": "1d", "w": "1w", "M": "1M", "y": "1y"}

func bucketDSL(objID string, b visAggJSON, isCount map[string]bool, metrics map[string]any, deepest bool) (map[string]any, []FieldUse, error) {
	switch b.Type {
	case "terms":
		f, err := fieldParam(objID, b)
		if err != nil {
			return nil, nil, err
		}
		order, _ := b.Params["order"].(string)
		if order != "asc" {
			order = "desc"
		}
		orderBy, _ := b.Params["orderBy"].(string)
		body := map[string]any{"field": f, "size": intParam(b.Params["size"], 5)}
		dsl := map[string]any{"terms": body}
		switch {
		case orderBy == "_key":
			body["order"] = map[string]any{"_key": order}
		case isCount[orderBy]:
			body["order"] = map[string]any{"_count": order}
		case metrics[orderBy] != nil:
			body["order"] = map[string]any{orderBy: order}
			if !deepest {
				// The ordering metric must be a direct sub-agg of this terms
				// agg; the dashboards add it there too.
				dsl["aggs"] = map[string]any{orderBy: metrics[orderBy]}
			}
		default:
			return nil, nil, fmt.Errorf("visualization/%s: terms agg %s orders by unknown agg %q", objID, b.ID, orderBy)
		}
		return dsl, []FieldUse{{Field: f, Use: "terms"}}, nil
	case "date_histogram":
		f, err := fieldParam(objID, b)
		if err != nil {
			return nil, nil, err
		}
		body := map[string]any{"field": f, "min_doc_count": intParam(b.Params["min_doc_count"], 1)}
		iv, _ := b.Params["interval"].(string)
		switch {
		case iv == "" || iv == "auto":
			body["fixed_interval"] = "1h"
		case calendarUnits[iv] != "":
			body["calendar_interval"] = calendarUnits[iv]
		default:
			body["fixed_interval"] = iv
		}
		return map[string]any{"date_histogram": body}, []FieldUse{{Field: f, Use: "date_histogram"}}, nil
	case "filters":
		list, _ := b.Params["filters"].([]any)
		if len(list) == 0 {
			return nil, nil, fmt.Errorf("visualization/%s: filters agg %s has no filters", objID, b.ID)
		}
		named := map[string]any{}
		var uses []FieldUse
		for _, item := range list {
			m, _ := item.(map[string]any)
			in, _ := m["input"].(map[string]any)
			q, _ := in["query"].(string)
			lang, _ := in["language"].(string)
			if lang != "kuery" {
				return nil, nil, fmt.Errorf("visualization/%s: filters agg %s: language %q not supported", objID, b.ID, lang)
			}
			cs, err := parseKQL(q)
			if err != nil {
				return nil, nil, fmt.Errorf("visualization/%s: filters agg %s: %w", objID, b.ID, err)
			}
			label, _ := m["label"].(string)
			if label == "" {
				label = q
			}
			named[label] = kqlDSL(cs)
			for _, c := range cs {
				uses = append(uses, FieldUse{Field: c.Field, Use: "query"})
			}
		}
		return map[string]any{"filters": map[string]any{"filters": named}}, uses, nil
	}
	return nil, nil, fmt.Errorf("visualization/%s: bucket type %q", objID, b.Type)
}

// FieldsUsed lists every field the bundle's objects use, with how: the
// visualizations' aggregations and queries, the saved searches' columns and
// sort, and each index pattern's time field. Sorted and de-duplicated.
func FieldsUsed(ndjson []byte) ([]FieldUse, error) {
	objs, err := parseObjects(ndjson)
	if err != nil {
		return nil, fmt.Errorf("dashboards: fields: %w", err)
	}
	patterns := patternsOf(objs)
	var uses []FieldUse
	for _, o := range objs {
		switch o.Type {
		case "index-pattern":
			if o.Attributes.TimeFieldName != "" {
				uses = append(uses, FieldUse{Pattern: o.Attributes.Title, Field: o.Attributes.TimeFieldName, Use: "time", Object: o.ID})
			}
		case "search":
			_, p, ss, err := patternOf(o, patterns)
			if err != nil {
				return nil, fmt.Errorf("dashboards: fields: %w", err)
			}
			cs, err := savedQuery(o, ss)
			if err != nil {
				return nil, fmt.Errorf("dashboards: fields: %w", err)
			}
			for _, c := range cs {
				uses = append(uses, FieldUse{Pattern: p.title, Field: c.Field, Use: "query", Object: o.ID})
			}
			for _, c := range o.Attributes.Columns {
				uses = append(uses, FieldUse{Pattern: p.title, Field: c, Use: "column", Object: o.ID})
			}
		case "visualization":
			va, err := visAgg(o, patterns)
			if err != nil {
				return nil, fmt.Errorf("dashboards: fields: %w", err)
			}
			uses = append(uses, va.Fields...)
		}
	}
	sort.Slice(uses, func(i, j int) bool {
		a, b := uses[i], uses[j]
		return strings.Join([]string{a.Pattern, a.Field, a.Use, a.Object}, "\x00") < strings.Join([]string{b.Pattern, b.Field, b.Use, b.Object}, "\x00")
	})
	return slices.Compact(uses), nil
}

var numericTypes = []string{"long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float", "unsigned_long"}

// allowedTypes is which mapping types each use needs.
var allowedTypes = map[string][]string{
	"terms":          append([]string{"keyword", "constant_keyword", "ip", "boolean"}, numericTypes...),
	"date_histogram": {"date", "date_nanos"},
	"time":           {"date", "date_nanos"},
	"max":            append([]string{"date", "date_nanos"}, numericTypes...),
	"min":            append([]string{"date", "date_nanos"}, numericTypes...),
	"avg":            numericTypes,
	"sum":            numericTypes,
	"cardinality":    append([]string{"keyword", "constant_keyword", "ip", "boolean", "date"}, numericTypes...),
	"query":          append([]string{"keyword", "constant_keyword", "text", "match_only_text", "ip", "boolean", "date"}, numericTypes...),
	// A Discover column only has to exist (and be mapped, so it is in the
	// index pattern's field list); the alert fields shown are keyword/ip/long.
	"column": append([]string{"keyword", "constant_keyword", "text", "match_only_text", "ip", "boolean", "date", "date_nanos"}, numericTypes...),
}

// CheckMapping checks uses against field types (a FlattenMapping result per
// index pattern title) and returns one error per field that is missing or of a
// type its use cannot aggregate on.
func CheckMapping(uses []FieldUse, types map[string]map[string]string) []error {
	var errs []error
	for _, u := range uses {
		m, ok := types[u.Pattern]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: %s uses %s (%s) but no mapping is known for the pattern", u.Object, u.Pattern, u.Field, u.Use))
			continue
		}
		t, ok := m[u.Field]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: field %s (%s) is not mapped in %s", u.Object, u.Field, u.Use, u.Pattern))
			continue
		}
		allowed, ok := allowedTypes[u.Use]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: unknown use %q of %s", u.Object, u.Use, u.Field))
			continue
		}
		if !slices.Contains(allowed, t) {
			errs = append(errs, fmt.Errorf("%s: field %s is mapped as %s in %s; %s needs one of %v", u.Object, u.Field, t, u.Pattern, u.Use, allowed))
		}
	}
	return errs
}

// FlattenMapping reads a mapping and returns dotted field name → type. It
// accepts a composable index template ({"template":{"mappings":…}}), a bare
// mappings object ({"properties":…}), and a GET <index>/_mapping answer
// ({"<index>":{"mappings":…}}, fields of all indices merged; a field mapped
// with different types in two indices is an error). Multi-fields appear as
// "<field>.<sub>".
func FlattenMapping(doc []byte) (map[string]string, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(doc, &top); err != nil {
		return nil, fmt.Errorf("dashboards: mapping: %w", err)
	}
	out := map[string]string{}
	switch {
	case top["properties"] != nil:
		return out, flattenProps("", top["properties"], out)
	case top["mappings"] != nil:
		return out, flattenMappings(top["mappings"], out)
	case top["template"] != nil:
		var t struct {
			Mappings json.RawMessage `json:"mappings"`
		}
		if err := json.Unmarshal(top["template"], &t); err != nil {
			return nil, fmt.Errorf("dashboards: mapping: template: %w", err)
		}
		if t.Mappings == nil {
			return out, nil
		}
		return out, flattenMappings(t.Mappings, out)
	case top["index_templates"] != nil:
		// GET _index_template/<name>
		var r struct {
			IndexTemplates []struct {
				IndexTemplate struct {
					Template struct {
						Mappings json.RawMessage `json:"mappings"`
					} `json:"template"`
				} `json:"index_template"`
			} `json:"index_templates"`
		}
		if err := json.Unmarshal(doc, &r); err != nil {
			return nil, fmt.Errorf("dashboards: mapping: %w", err)
		}
		for _, it := range r.IndexTemplates {
			if m := it.IndexTemplate.Template.Mappings; m != nil {
				if err := flattenMappings(m, out); err != nil {
					return nil, err
				}
			}
		}
		return out, nil
	}
	// GET _mapping answer: index name → {"mappings": …}
	for idx, raw := range top {
		var im struct {
			Mappings json.RawMessage `json:"mappings"`
		}
		if err := json.Unmarshal(raw, &im); err != nil || im.Mappings == nil {
			return nil, fmt.Errorf("dashboards: mapping: %q is not an index mapping", idx)
		}
		one := map[string]string{}
		if err := flattenMappings(im.Mappings, one); err != nil {
			return nil, fmt.Errorf("dashboards: mapping of %s: %w", idx, err)
		}
		for f, t := range one {
			if prev, ok := out[f]; ok && prev != t {
				return nil, fmt.Errorf("dashboards: mapping: field %s is %s in one index and %s in %s", f, prev, t, idx)
			}
			out[f] = t
		}
	}
	return out, nil
}

func flattenMappings(raw json.RawMessage, out map[string]string) error {
	var m struct {
		Properties json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("dashboards: mapping: %w", err)
	}
	if m.Properties == nil {
		return nil
	}
	return flattenProps("", m.Properties, out)
}

func flattenProps(prefix string, raw json.RawMessage, out map[string]string) error {
	var props map[string]struct {
		Type       string                     `json:"type"`
		Properties json.RawMessage            `json:"properties"`
		Fields     map[string]json.RawMessage `json:"fields"`
		Path       string                     `json:"path"`
	}
	if err := json.Unmarshal(raw, &props); err != nil {
		return fmt.Errorf("dashboards: mapping properties %q: %w", prefix, err)
	}
	for name, p := range props {
		full := prefix + name
		if p.Properties != nil {
			if err := flattenProps(full+".", p.Properties, out); err != nil {
				return err
			}
		}
		if p.Type != "" && p.Type != "object" && p.Type != "nested" {
			out[full] = p.Type
		}
		for sub, sraw := range p.Fields {
			var s struct {
				Type string `json:"type"`
			}
			if err := json.Unmarshal(sraw, &s); err != nil {
				return fmt.Errorf("dashboards: mapping field %s.%s: %w", full, sub, err)
			}
			out[full+"."+sub] = s.Type
		}
	}
	return nil
}
