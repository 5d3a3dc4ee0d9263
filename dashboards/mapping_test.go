package dashboards

import (
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// templateTypes reads dashboards/templates/*.json (the index templates
// install puts) and returns, for each index pattern title of the bundle, the
// flattened field types of the template that covers it.
func templateTypes(t *testing.T, titles []string) map[string]map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("templates", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no index templates in dashboards/templates/: the saved objects cannot be checked against the mapping")
	}
	type tmpl struct {
		file     string
		patterns []string
		priority int
		types    map[string]string
	}
	var ts []tmpl
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var head struct {
			IndexPatterns []string `json:"index_patterns"`
			Priority      int      `json:"priority"`
		}
		if err := json.Unmarshal(b, &head); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		types, err := FlattenMapping(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		ts = append(ts, tmpl{f, head.IndexPatterns, head.Priority, types})
	}
	out := map[string]map[string]string{}
	for _, title := range titles {
		// A concrete index name the title matches: the template that would
		// apply to it is the one whose types count.
		concrete := strings.ReplaceAll(title, "*", "x")
		best := -1
		for i, tp := range ts {
			for _, p := range tp.patterns {
				if ok, _ := path.Match(p, concrete); ok && (best < 0 || tp.priority > ts[best].priority) {
					best = i
				}
			}
		}
		if best < 0 {
			t.Errorf("no template in dashboards/templates covers index pattern %q", title)
			continue
		}
		out[title] = ts[best].types
	}
	return out
}

// TestFieldsMatchTemplates: every field a saved object uses exists in the
// index template mapping with a type its use can aggregate on (keyword/ip/
// numeric for terms, date for histograms and time fields, numeric for avg…),
// so filter-on-click and every panel work on a fresh install.
func TestFieldsMatchTemplates(t *testing.T) {
	for kind := range kindFiles {
		t.Run(kind, func(t *testing.T) {
			uses := fromBundle(t, kind, FieldsUsed)
			titles := map[string]bool{}
			for _, u := range uses {
				titles[u.Pattern] = true
			}
			var list []string
			for k := range titles {
				list = append(list, k)
			}
			types := templateTypes(t, list)
			for _, err := range CheckMapping(uses, types) {
				t.Error(err)
			}
		})
	}
}

// TestDrillDownFieldsAggregatable: the filter-on-click of a terms bucket
// needs an aggregatable field; text fields are not (without fielddata).
func TestDrillDownFieldsAggregatable(t *testing.T) {
	uses := fromBundle(t, KindKibana, FieldsUsed)
	types := templateTypes(t, []string{AlertsPattern})
	terms := 0
	for _, u := range uses {
		if u.Use != "terms" || u.Pattern != AlertsPattern {
			continue
		}
		terms++
		switch typ := types[AlertsPattern][u.Field]; typ {
		case "keyword", "ip", "long", "integer":
		default:
			t.Errorf("%s: drill-down field %s is %q", u.Object, u.Field, typ)
		}
	}
	if terms < 6 {
		t.Errorf("only %d terms panels on the alerts, want at least 6", terms)
	}
}
