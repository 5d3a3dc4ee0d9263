package dashboards

import (
	"embed"
	"encoding/json"
	"path"
	"sort"
	"strings"
)

// The composable index templates (PUT _index_template/<name>) edgewatch
// installs. The same JSON is accepted by OpenSearch 2.x/3.x and
// Elasticsearch 8.x/9.x: core field types only (keyword, ip, ip_range, date,
// long, integer, boolean, text, object), no data streams, no ES-only mapping
// parameters such as subobjects.
//
//go:embed templates/*.json
var templateFS embed.FS

// Template is one index template: its name (the file name without .json)
// and its body as PUT to _index_template/<Name>.
type Template struct {
	Name string
	Body []byte
}

// Template names.
const (
	AlertsTemplate     = "edgewatch-alerts"     // edgewatch-alerts-*
	FindingsTemplate   = "edgewatch-findings"   // edgewatch-findings-* (derived from the alerts template)
	IndicatorsTemplate = "edgewatch-indicators" // edgewatch-indicators-*
	StateTemplate      = "edgewatch-state"      // edgewatch-state
)

// IndexTemplates returns every bundled template, sorted by name.
func IndexTemplates() []Template {
	entries, err := templateFS.ReadDir("templates")
	if err != nil {
		panic("dashboards: embedded templates missing: " + err.Error())
	}
	out := make([]Template, 0, len(entries))
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		b, err := templateFS.ReadFile(path.Join("templates", e.Name()))
		if err != nil {
			panic("dashboards: read embedded template: " + err.Error())
		}
		out = append(out, Template{Name: strings.TrimSuffix(e.Name(), ".json"), Body: b})
		if e.Name() == AlertsTemplate+".json" {
			out = append(out, findingsTemplate(b))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// IndexTemplate returns the named template.
func IndexTemplate(name string) (Template, bool) {
	for _, t := range IndexTemplates() {
		if t.Name == name {
			return t, true
		}
	}
	return Template{}, false
}

// TemplateVersion reads _meta.version from a template body (0 when absent).
func TemplateVersion(body []byte) int {
	var t struct {
		Meta struct {
			Version int `json:"version"`
		} `json:"_meta"`
	}
	if json.Unmarshal(body, &t) != nil {
		return 0
	}
	return t.Meta.Version
}

// findingsTemplate derives the findings template from the alerts template:
// the same settings and mapping for edgewatch-findings-*, where a grouping
// detection keeps its per-event findings, except that @timestamp is
// date_nanos, so that a group's first and last events are told apart to the
// nanosecond (a date field sorts at millisecond resolution). One mapping, two
// templates: the findings can never drift from the alerts.
func findingsTemplate(alerts []byte) Template {
	var m map[string]any
	if err := json.Unmarshal(alerts, &m); err != nil {
		panic("dashboards: embedded alerts template: " + err.Error())
	}
	m["index_patterns"] = []string{"edgewatch-findings-*"}
	meta, _ := m["_meta"].(map[string]any)
	meta["description"] = "Per-event findings of a grouping detection (correlation.Alert with edgewatch.group_id), the evidence its grouped alerts in edgewatch-alerts-* are counted from. Derived from the edgewatch-alerts template; @timestamp is date_nanos."
	tmpl, _ := m["template"].(map[string]any)
	mappings, _ := tmpl["mappings"].(map[string]any)
	props, _ := mappings["properties"].(map[string]any)
	props["@timestamp"] = map[string]any{"type": "date_nanos"}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		panic("dashboards: findings template: " + err.Error())
	}
	return Template{Name: FindingsTemplate, Body: b}
}
