package cli

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/internal/engine"
	"github.com/google/go-cmp/cmp"
)

// fill sets every field of v (recursively) to a non-zero value so that no
// key hides behind omitempty.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		fill(v.Elem())
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(s.Index(0))
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k := reflect.New(v.Type().Key()).Elem()
		fill(k)
		e := reflect.New(v.Type().Elem()).Elem()
		fill(e)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1)
	}
}

// keyPaths marshals a filled value and lists its JSON key paths
// ("cluster.urls"); map keys are skipped (they are data).
func keyPaths(t *testing.T, v any) []string {
	t.Helper()
	rv := reflect.New(reflect.TypeOf(v)).Elem()
	fill(rv)
	b, err := json.Marshal(rv.Interface())
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(prefix string, x any, isMap bool)
	walk = func(prefix string, x any, isMap bool) {
		switch x := x.(type) {
		case map[string]any:
			for k, e := range x {
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				out = append(out, p)
				walk(p, e, false)
			}
		case []any:
			for _, e := range x {
				walk(prefix+"[]", e, false)
			}
		}
	}
	walk("", doc, false)
	sort.Strings(out)
	return out
}

// TestSettingsKeysMatchEngine: the host's settings document has exactly the
// engine's JSON keys, so that neither side can drift.
func TestSettingsKeysMatchEngine(t *testing.T) {
	t.Parallel()
	host := keyPaths(t, Settings{})
	eng := keyPaths(t, engine.Settings{})
	// profile_fields is a map: its single filled key "x" is data, not schema.
	drop := func(ks []string) []string {
		var out []string
		for _, k := range ks {
			if !strings.HasPrefix(k, "cluster.profile_fields.") {
				out = append(out, k)
			}
		}
		return out
	}
	if diff := cmp.Diff(drop(eng), drop(host)); diff != "" {
		t.Errorf("internal/cli.Settings JSON keys differ from internal/engine.Settings (-engine +host):\n%s", diff)
	}
}

// TestSettingsValuesDecodeInEngine: a fully set host document decodes
// strictly into engine.Settings with the same values.
func TestSettingsValuesDecodeInEngine(t *testing.T) {
	t.Parallel()
	s := Settings{
		Source: "opensearch", DeviceInfo: []string{"d"}, NetworkEvents: []string{"e"}, Feeds: []string{"f"},
		FeedName: "ipsum", MinLevel: 3, KeepNonGlobal: true,
		From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC),
		FacingLookback: Duration(30 * 24 * time.Hour), ExcludePorts: []int{25}, Allow: []string{"10.0.0.0/8"},
		RuleID: "r", RuleName: "n",
		Cluster: &ClusterSettings{URLs: []string{"https://127.0.0.1:9200"}, Username: "u", CAFile: "ca.pem",
			InsecureSkipVerify: true, Timeout: Duration(time.Minute), DeviceInfoIndex: "di", NetworkEventsIndex: "ne",
			Profile: "sentinel", ProfileFields: map[string]string{"a": "b"}, IndicatorFeed: "ipsum", AlertIndex: "al"},
	}
	b, _ := json.Marshal(s)
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	var e engine.Settings
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("engine cannot decode %s: %v", b, err)
	}
	eb, _ := json.Marshal(e)
	var x, y any
	_ = json.Unmarshal(b, &x)
	_ = json.Unmarshal(eb, &y)
	if diff := cmp.Diff(x, y); diff != "" {
		t.Errorf("round trip through engine.Settings (-host +engine):\n%s", diff)
	}
}

// TestSummaryKeysSubsetOfEngine: every summary key the host renders exists
// in the engine's summary.
func TestSummaryKeysSubsetOfEngine(t *testing.T) {
	t.Parallel()
	eng := map[string]bool{}
	for _, k := range keyPaths(t, engine.Summary{}) {
		eng[k] = true
	}
	for _, k := range keyPaths(t, Summary{}) {
		if strings.Contains(k, "skipped.x") || strings.Contains(k, "dropped.x") || strings.Contains(k, "examples.x") {
			k = strings.NewReplacer(".x.", ".KEY.", ".x", ".KEY").Replace(k)
		}
		if strings.Contains(k, ".KEY") {
			continue // map keys are data
		}
		if !eng[k] {
			t.Errorf("host summary key %q is not in engine.Summary", k)
		}
	}
}
