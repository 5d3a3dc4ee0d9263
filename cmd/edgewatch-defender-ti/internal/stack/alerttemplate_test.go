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

// TestAlertTemplateFor: an alert index the bundled edgewatch-alerts-*
// template matches needs nothing; any other gets a template of its own with
// exactly the bundled mappings and settings, its name as the pattern and a
// priority above the bundled one.
func TestAlertTemplateFor(t *testing.T) {
	bundled, _ := dashboards.IndexTemplate(dashboards.AlertsTemplate)
	base := decodeTemplate(t, bundled.Body)
	cases := map[string]struct {
		index  string
		needed bool
	}{
		"default index":           {index: "edgewatch-alerts-default", needed: false},
		"other index the pattern": {index: "edgewatch-alerts-soc", needed: false},
		"outside the pattern":     {index: "ops-alerts", needed: true},
		"prefix without the dash": {index: "edgewatch-alertsx", needed: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tmpl, needed, err := stack.AlertTemplateFor(tc.index)
			if err != nil {
				t.Fatal(err)
			}
			if needed != tc.needed {
				t.Fatalf("needed = %v, want %v", needed, tc.needed)
			}
			if !needed {
				return
			}
			got := decodeTemplate(t, tmpl.Body)
			if tmpl.Name != "edgewatch-alert-index-"+tc.index {
				t.Errorf("name %q", tmpl.Name)
			}
			if !cmp.Equal(got.IndexPatterns, []string{tc.index}) || got.Priority <= base.Priority {
				t.Errorf("patterns %v priority %d (bundled %d)", got.IndexPatterns, got.Priority, base.Priority)
			}
			if d := cmp.Diff(base.Template, got.Template); d != "" {
				t.Errorf("settings/mappings differ from the bundled template (-bundled +derived):\n%s", d)
			}
			if got.Meta["derived_from"] != dashboards.AlertsTemplate || got.Meta["managed_by"] != "edgewatch" || got.Meta["alert_index"] != tc.index {
				t.Errorf("_meta %v", got.Meta)
			}
			again, _, _ := stack.AlertTemplateFor(tc.index)
			if string(again.Body) != string(tmpl.Body) {
				t.Error("the derived body is not deterministic: install would re-put it every time")
			}
		})
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
