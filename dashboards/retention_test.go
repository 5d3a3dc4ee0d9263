package dashboards

import (
	"strconv"
	"testing"
)

func TestRetentionPolicyISM(t *testing.T) {
	for _, days := range []int{DefaultRetentionDays, 1, 400} {
		b, err := RetentionPolicy(FlavorOpenSearch, days)
		if err != nil {
			t.Fatal(err)
		}
		p := decode(t, b)
		// dashboards-formats.md §5.3.
		subset(t, "policy", get(t, p, "policy"), "description", "default_state", "states", "ism_template", "error_notification")
		if got := get(t, p, "policy", "default_state"); got != "hot" {
			t.Errorf("default_state %v", got)
		}
		want := strconv.Itoa(days) + "d"
		if got := get(t, p, "policy", "states", 0, "transitions", 0, "conditions", "min_index_age"); got != want {
			t.Errorf("min_index_age %v, want %s", got, want)
		}
		if got := get(t, p, "policy", "states", 0, "transitions", 0, "state_name"); got != "delete" {
			t.Errorf("transition to %v", got)
		}
		if got := keys(get(t, p, "policy", "states", 1, "actions", 0)); len(got) != 1 || got[0] != "delete" {
			t.Errorf("delete state actions %v", got)
		}
		if got := get(t, p, "policy", "ism_template", "index_patterns", 0); got != AlertsPattern {
			t.Errorf("ism_template pattern %v", got)
		}
	}
}

func TestRetentionPolicyILM(t *testing.T) {
	b, err := RetentionPolicy(FlavorElasticsearch, 30)
	if err != nil {
		t.Fatal(err)
	}
	p := decode(t, b)
	// dashboards-formats.md §5.2.
	subset(t, "policy", get(t, p, "policy"), "phases", "_meta")
	subset(t, "phases", get(t, p, "policy", "phases"), "hot", "warm", "cold", "frozen", "delete")
	if got := get(t, p, "policy", "phases", "delete", "min_age"); got != "30d" {
		t.Errorf("delete min_age %v", got)
	}
	if got := keys(get(t, p, "policy", "phases", "delete", "actions")); len(got) != 1 || got[0] != "delete" {
		t.Errorf("delete actions %v", got)
	}
	if s := RetentionIndexSettings(FlavorElasticsearch); s["index.lifecycle.name"] != RetentionPolicyID {
		t.Errorf("index settings %v", s)
	}
	if s := RetentionIndexSettings(FlavorOpenSearch); s != nil {
		t.Errorf("OpenSearch index settings %v, want none", s)
	}
}

func TestRetentionPolicyErrors(t *testing.T) {
	tests := []struct {
		flavor string
		days   int
	}{
		{FlavorOpenSearch, 0},
		{FlavorElasticsearch, -5},
		{FlavorOpenSearch, 36501},
		{"solr", 90},
	}
	for _, tc := range tests {
		if _, err := RetentionPolicy(tc.flavor, tc.days); err == nil {
			t.Errorf("RetentionPolicy(%q, %d): want error", tc.flavor, tc.days)
		}
	}
	for flavor, want := range map[string]string{
		FlavorOpenSearch:    "/_plugins/_ism/policies/edgewatch-alerts-retention",
		FlavorElasticsearch: "/_ilm/policy/edgewatch-alerts-retention",
	} {
		if got, err := RetentionPolicyPath(flavor); got != want || err != nil {
			t.Errorf("RetentionPolicyPath(%s) = %q, %v", flavor, got, err)
		}
	}
	if _, err := RetentionPolicyPath("x"); err == nil {
		t.Error("unknown flavor path: want error")
	}
}
