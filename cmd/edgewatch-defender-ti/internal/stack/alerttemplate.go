package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/edgewatch/edgewatch/connectors/alertstore"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/dashboards"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// Alert index templates. The bundled edgewatch-alerts template
// (dashboards/templates/edgewatch-alerts.json) matches edgewatch-alerts-*,
// its findings twin edgewatch-findings (the same mapping with @timestamp as
// date_nanos) edgewatch-findings-*. Alerts and findings are written through
// write aliases whose backing indices are <alias>-000001, -000002, …; an
// alias whose backing indices the bundled template does not match (install
// --alert-index ops-alerts), or that needs the rollover settings of a
// lifecycle engine (index.lifecycle.rollover_alias and the like name one
// alias), gets a template of its own derived from the bundled one: the
// same settings and mappings under its own index_patterns and a higher
// priority. AlertTemplateSpec.Template is the one place that derivation
// happens (AliasTemplateFor for a write alias), and uninstall finds every
// derived template by its _meta.derived_from.

const (
	// AlertTemplatePriority is the base priority of a derived alert
	// template: above the bundled templates' 200, so a derived template
	// wins where both match.
	AlertTemplatePriority = 250
	// alertIndexTemplatePrefix names the template install derives for a
	// write alias (alerts or findings): edgewatch-alert-index-<alias>.
	alertIndexTemplatePrefix = "edgewatch-alert-index-"
	// metaDerivedFrom is the _meta key a derived template carries: the
	// name of the bundled template it was derived from.
	metaDerivedFrom = "derived_from"
	managedBy       = "edgewatch"
)

// AlertTemplateSpec describes a derived alert index template.
type AlertTemplateSpec struct {
	Name     string   // the template's name (PUT _index_template/<Name>)
	Patterns []string // its index_patterns
	// Priority: 0 means AlertTemplatePriority. Composable templates whose
	// patterns overlap must differ in priority (both stores refuse two
	// overlapping templates of equal priority).
	Priority int
	// Settings are added to template.settings, e.g.
	// {"index.lifecycle.rollover_alias": "edgewatch-alerts-x"}.
	Settings map[string]any
	// Meta is added to _meta (e.g. the alias or detection it serves).
	Meta map[string]any
	// Base is the bundled template derived from: dashboards.AlertsTemplate
	// ("", the default) or dashboards.FindingsTemplate (the per-event
	// findings a grouping detection keeps as evidence).
	Base string
}

// Template renders the derived template: the bundled template with
// index_patterns, priority, extra settings and _meta replaced. The body is
// deterministic, so installing it twice finds it already present.
func (s AlertTemplateSpec) Template() (dashboards.Template, error) {
	if s.Name == "" || len(s.Patterns) == 0 {
		return dashboards.Template{}, fmt.Errorf("alert template: name and index patterns are required")
	}
	baseName := s.Base
	if baseName == "" {
		baseName = dashboards.AlertsTemplate
	}
	if baseName != dashboards.AlertsTemplate && baseName != dashboards.FindingsTemplate {
		return dashboards.Template{}, fmt.Errorf("alert template: cannot derive from %q (want %s or %s)", baseName, dashboards.AlertsTemplate, dashboards.FindingsTemplate)
	}
	base, ok := dashboards.IndexTemplate(baseName)
	if !ok {
		return dashboards.Template{}, fmt.Errorf("alert template: bundled template %s missing", baseName)
	}
	var body map[string]any
	if err := json.Unmarshal(base.Body, &body); err != nil {
		return dashboards.Template{}, fmt.Errorf("alert template: bundled %s: %w", baseName, err)
	}
	body["index_patterns"] = s.Patterns
	body["priority"] = s.Priority
	if s.Priority == 0 {
		body["priority"] = AlertTemplatePriority
	}
	tmpl, _ := body["template"].(map[string]any)
	if tmpl == nil {
		return dashboards.Template{}, fmt.Errorf("alert template: bundled %s has no template object", baseName)
	}
	if len(s.Settings) > 0 {
		settings, _ := tmpl["settings"].(map[string]any)
		if settings == nil {
			settings = map[string]any{}
		}
		maps.Copy(settings, s.Settings)
		tmpl["settings"] = settings
	}
	meta, _ := body["_meta"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
	}
	maps.Copy(meta, s.Meta)
	meta[metaDerivedFrom] = baseName
	meta["managed_by"] = managedBy
	body["_meta"] = meta
	b, err := json.Marshal(body)
	if err != nil {
		return dashboards.Template{}, err
	}
	return dashboards.Template{Name: s.Name, Body: b}, nil
}

// templatePatterns are the index_patterns of bundled template name.
func templatePatterns(name string) ([]string, error) {
	t, ok := dashboards.IndexTemplate(name)
	if !ok {
		return nil, fmt.Errorf("bundled template %s missing", name)
	}
	var b struct {
		IndexPatterns []string `json:"index_patterns"`
	}
	if err := json.Unmarshal(t.Body, &b); err != nil {
		return nil, err
	}
	return b.IndexPatterns, nil
}

// AliasTemplateFor is the template install puts for the backing indices
// of write alias alias (<alias>-000001, …), derived from the bundled
// template base (dashboards.AlertsTemplate or FindingsTemplate) with
// settings added (the rollover settings of a lifecycle engine,
// dashboards.RolloverIndexSettings): named edgewatch-alert-index-<alias>,
// for <alias>-*. needed is false when the bundled template already maps the
// backing indices and there are no settings to add; the template returned
// is then the bundled one (its mapping is the alias's).
//
// Its priority is AlertTemplatePriority plus the alias's length: the
// backing indices of an alias whose name starts with another's and a dash
// (edgewatch-alerts-prod-eu, edgewatch-alerts-prod) match both aliases'
// patterns, and overlapping templates must differ in priority; the longer,
// more specific one wins. Two aliases of the same length never overlap. A
// findings alias A-findings outranks its alert alias A the same way.
func AliasTemplateFor(base, alias string, settings map[string]any) (t dashboards.Template, needed bool, err error) {
	patterns, err := templatePatterns(base)
	if err != nil {
		return dashboards.Template{}, false, err
	}
	if len(settings) == 0 && matchesAny(patterns, alertstore.FirstBackingIndex(alias)) {
		t, _ := dashboards.IndexTemplate(base)
		return t, false, nil
	}
	t, err = AlertTemplateSpec{
		Name:     alertIndexTemplatePrefix + alias,
		Patterns: []string{alias + "-*"},
		Priority: AlertTemplatePriority + len(alias),
		Settings: settings,
		Base:     base,
		Meta: map[string]any{"alias": alias, "description": fmt.Sprintf("Backing indices of the write alias %s (%s-000001, -000002, …), derived from the %s template.",
			alias, alias, base)},
	}.Template()
	return t, err == nil, err
}

// matchesAny applies the index templates' pattern rule ('*' matches any
// run of characters, nothing else is special) to name.
func matchesAny(patterns []string, name string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool { return simpleMatch(p, name) })
}

func simpleMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, last)
}

// CheckAlertIndexName refuses a name that cannot be an alert index: a
// pattern or list, or a name both stores reject (upper case, the
// characters \ / * ? " < > | , # and space, a leading - _ +, . or ..,
// more than 255 bytes).
func CheckAlertIndexName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("alert index: empty name")
	case strings.ContainsAny(name, `*,`):
		return fmt.Errorf("alert index %q: alerts are written to one index or alias, not a pattern or list", name)
	case strings.ContainsAny(name, `\/?"<>| #:`) || name != strings.ToLower(name):
		return fmt.Errorf("alert index %q: index names are lower case without \\ / ? \" < > | # : or spaces", name)
	case strings.IndexAny(name[:1], "-_+") == 0 || name == "." || name == "..":
		return fmt.Errorf("alert index %q: an index name cannot be \".\" or \"..\" nor start with - _ +", name)
	case len(name) > 255:
		return fmt.Errorf("alert index %q: longer than 255 bytes", name)
	}
	return nil
}

// checkAlertMapping is install's last word on the alert index: it holds
// the alert mapping (cluster.CheckAlertIndex), or the step fails naming
// what is wrong and what to do. created is the outcome of the index step
// before it: an index install created (or would create, in a dry run, with
// its template not put yet) is ok / would-apply, an index that was there
// already is already-present when its mapping is right.
func checkAlertMapping(ctx context.Context, c *cluster.Client, index, created string) (wire.Step, error) {
	st := wire.Step{Step: "alert mapping", Target: index}
	if created == wire.StepWouldApply {
		st.Outcome, st.Detail = wire.StepWouldApply, "created from the alert template"
		return st, nil
	}
	m, err := cluster.CheckAlertIndex(ctx, c, index)
	switch {
	case err != nil:
		st.Outcome, st.Detail = wire.StepFailed, "cannot read the mapping: "+reasonOf(err)
		return st, err
	case m.OK() && created == wire.StepOK:
		st.Outcome, st.Detail = wire.StepOK, "source.ip is ip, the raw Defender row is not indexed"
		return st, nil
	case m.OK():
		st.Outcome = wire.StepAlreadyPresent
		return st, nil
	}
	st.Outcome = wire.StepFailed
	if m.Exists {
		st.Detail = fmt.Sprintf("index %s exists without the alert mapping (%s): its fields were mapped dynamically; "+
			"delete it (or reindex its alerts into a new index) and install again", index, strings.Join(m.Problems, "; "))
	} else {
		st.Detail = fmt.Sprintf("index %s would not get the alert mapping (%s)", index, strings.Join(m.Problems, "; "))
	}
	return st, fmt.Errorf("alert index %s: %s", index, strings.Join(m.Problems, "; "))
}
