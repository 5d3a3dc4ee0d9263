package stack_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/stack"
	"github.com/edgewatch/edgewatch/dashboards"
	"github.com/google/go-cmp/cmp"
)

type templateBody struct {
	IndexPatterns []string `json:"index_patterns"`
	Priority      int      `json:"priority"`
	Template      struct {
		Settings map[string]any `json:"settings"`
		Mappings any            `json:"mappings"`
	} `json:"template"`
	Meta map[string]any `json:"_meta"`
}

func decodeTemplate(t *testing.T, b []byte) templateBody {
	t.Helper()
	var tb templateBody
	if err := json.Unmarshal(b, &tb); err != nil {
		t.Fatal(err)
	}
	return tb
}

// TestAliasTemplateFor: a write alias whose backing indices the bundled
// edgewatch-alerts-* template matches needs nothing (unless it needs
// rollover settings); any other gets a template of its own with exactly
// the bundled mappings and settings, its backing indices as the pattern and
// a priority above the bundled one.
func TestAliasTemplateFor(t *testing.T) {
	bundled, _ := dashboards.IndexTemplate(dashboards.AlertsTemplate)
	base := decodeTemplate(t, bundled.Body)
	cases := map[string]struct {
		alias  string
		needed bool
	}{
		"default alias":           {alias: "edgewatch-alerts-default", needed: false},
		"other alias the pattern": {alias: "edgewatch-alerts-soc", needed: false},
		"outside the pattern":     {alias: "ops-alerts", needed: true},
		"prefix without the dash": {alias: "edgewatch-alertsx", needed: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tmpl, needed, err := stack.AliasTemplateFor(dashboards.AlertsTemplate, tc.alias, nil)
			if err != nil {
				t.Fatal(err)
			}
			if needed != tc.needed {
				t.Fatalf("needed = %v, want %v", needed, tc.needed)
			}
			if !needed {
				if tmpl.Name != dashboards.AlertsTemplate {
					t.Errorf("an alias the bundled template maps is mapped by %q", tmpl.Name)
				}
				return
			}
			got := decodeTemplate(t, tmpl.Body)
			if tmpl.Name != "edgewatch-alert-index-"+tc.alias {
				t.Errorf("name %q", tmpl.Name)
			}
			if !cmp.Equal(got.IndexPatterns, []string{tc.alias + "-*"}) || got.Priority <= base.Priority {
				t.Errorf("patterns %v priority %d (bundled %d)", got.IndexPatterns, got.Priority, base.Priority)
			}
			if d := cmp.Diff(base.Template, got.Template); d != "" {
				t.Errorf("settings/mappings differ from the bundled template (-bundled +derived):\n%s", d)
			}
			if got.Meta["derived_from"] != dashboards.AlertsTemplate || got.Meta["managed_by"] != "edgewatch" || got.Meta["alias"] != tc.alias {
				t.Errorf("_meta %v", got.Meta)
			}
			again, _, _ := stack.AliasTemplateFor(dashboards.AlertsTemplate, tc.alias, nil)
			if string(again.Body) != string(tmpl.Body) {
				t.Error("the derived body is not deterministic: install would re-put it every time")
			}
		})
	}
}

// TestAliasTemplatesWithRollover: an alias template keeps the bundled
// mapping (alerts or findings) for <alias>-*, outranks the bundled
// templates and carries the lifecycle engine's rollover settings; a longer
// alias outranks a shorter one whose backing indices its pattern overlaps,
// and a findings alias its alert alias.
func TestAliasTemplatesWithRollover(t *testing.T) {
	findings, _ := dashboards.IndexTemplate(dashboards.FindingsTemplate)
	tests := []struct {
		name, base, alias string
		settings          map[string]any
		wantSetting       string
	}{
		{"alerts with ILM", dashboards.AlertsTemplate, "edgewatch-alerts-prod", dashboards.RolloverIndexSettings(dashboards.FlavorElasticsearch, "edgewatch-alerts-prod"), "index.lifecycle.rollover_alias"},
		{"findings with ISM", dashboards.FindingsTemplate, "edgewatch-findings-prod", dashboards.RolloverIndexSettings(dashboards.FlavorOpenSearch, "edgewatch-findings-prod"), "plugins.index_state_management.rollover_alias"},
		{"custom alias without lifecycle", dashboards.AlertsTemplate, "soc-alerts", nil, ""},
		{"custom alias's findings without lifecycle", dashboards.FindingsTemplate, "soc-alerts-findings", nil, ""},
	}
	prio := map[string]int{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tpl, needed, err := stack.AliasTemplateFor(tc.base, tc.alias, tc.settings)
			if err != nil || !needed {
				t.Fatalf("needed %v, err %v", needed, err)
			}
			b := decodeTemplate(t, tpl.Body)
			prio[tc.alias] = b.Priority
			if tpl.Name != "edgewatch-alert-index-"+tc.alias || len(b.IndexPatterns) != 1 || b.IndexPatterns[0] != tc.alias+"-*" ||
				b.Priority != stack.AlertTemplatePriority+len(tc.alias) {
				t.Errorf("template %s %v priority %d", tpl.Name, b.IndexPatterns, b.Priority)
			}
			if tc.wantSetting != "" && b.Template.Settings[tc.wantSetting] != tc.alias {
				t.Errorf("settings %v lack %s", b.Template.Settings, tc.wantSetting)
			}
			if tc.wantSetting == "" && strings.Contains(string(tpl.Body), "rollover_alias") {
				t.Errorf("rollover settings without a lifecycle engine: %s", tpl.Body)
			}
			if dashboards.TemplateVersion(tpl.Body) != dashboards.TemplateVersion(findings.Body) {
				t.Error("alias template lost _meta.version")
			}
			props, _ := b.Template.Mappings.(map[string]any)["properties"].(map[string]any)
			ts, _ := props["@timestamp"].(map[string]any)
			if want := map[string]string{dashboards.AlertsTemplate: "date", dashboards.FindingsTemplate: "date_nanos"}[tc.base]; ts["type"] != want {
				t.Errorf("@timestamp %v, want %s (from %s)", ts, want, tc.base)
			}
			if b.Meta["derived_from"] != tc.base {
				t.Errorf("_meta %v", b.Meta)
			}
		})
	}
	if prio["soc-alerts-findings"] <= prio["soc-alerts"] {
		t.Errorf("the findings alias's template (priority %d) does not outrank the alert alias's (%d), whose pattern soc-alerts-* its indices match",
			prio["soc-alerts-findings"], prio["soc-alerts"])
	}
	short, _, _ := stack.AliasTemplateFor(dashboards.AlertsTemplate, "edgewatch-alerts-prod", map[string]any{"x": 1})
	long, _, _ := stack.AliasTemplateFor(dashboards.AlertsTemplate, "edgewatch-alerts-prod-eu", map[string]any{"x": 1})
	if decodeTemplate(t, long.Body).Priority <= decodeTemplate(t, short.Body).Priority {
		t.Error("edgewatch-alerts-prod-eu-000001 is matched by both aliases' templates: the longer must outrank the shorter")
	}
	if _, _, err := stack.AliasTemplateFor(dashboards.StateTemplate, "x", nil); err == nil {
		t.Error("alias template from the state template: want error")
	}
}

// TestAlertTemplateSpecForRolloverAliases: the derivation serves other
// layouts too, e.g. a per-detection rollover alias whose backing indices
// need a rollover_alias setting.
func TestAlertTemplateSpecForRolloverAliases(t *testing.T) {
	tmpl, err := stack.AlertTemplateSpec{
		Name:     "edgewatch-alerts-prod",
		Patterns: []string{"edgewatch-alerts-prod-*"},
		Priority: 300,
		Settings: map[string]any{"index.lifecycle.rollover_alias": "edgewatch-alerts-prod"},
		Meta:     map[string]any{"detection": "prod"},
	}.Template()
	if err != nil {
		t.Fatal(err)
	}
	got := decodeTemplate(t, tmpl.Body)
	if got.Priority != 300 || got.Template.Settings["index.lifecycle.rollover_alias"] != "edgewatch-alerts-prod" ||
		got.Template.Settings["index"] == nil || got.Meta["detection"] != "prod" || got.Meta["derived_from"] != dashboards.AlertsTemplate {
		t.Errorf("template %s", tmpl.Body)
	}
	if _, err := (stack.AlertTemplateSpec{Name: "x"}).Template(); err == nil {
		t.Error("a spec without patterns must be refused")
	}
	if _, err := (stack.AlertTemplateSpec{Name: "x", Patterns: []string{"x-*"}, Base: dashboards.IndicatorsTemplate}).Template(); err == nil {
		t.Error("a spec derived from a template that is not an alert template must be refused")
	}
}

func TestCheckAlertIndexName(t *testing.T) {
	cases := map[string]struct {
		name string
		want string // "" = valid
	}{
		"plain":          {name: "ops-alerts"},
		"default":        {name: "edgewatch-alerts-default"},
		"pattern":        {name: "ops-*", want: "not a pattern or list"},
		"list":           {name: "a,b", want: "not a pattern or list"},
		"upper case":     {name: "Ops", want: "lower case"},
		"space":          {name: "ops alerts", want: "lower case"},
		"leading dash":   {name: "-ops", want: "nor start with"},
		"leading under":  {name: "_ops", want: "nor start with"},
		"dot":            {name: ".", want: "cannot be"},
		"too long":       {name: strings.Repeat("a", 256), want: "longer than 255"},
		"colon (remote)": {name: "remote:ops", want: "lower case"},
		"empty":          {name: "", want: "empty"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := stack.CheckAlertIndexName(tc.name)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
