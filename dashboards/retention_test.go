package dashboards

import (
	"fmt"
	"strconv"
	"testing"
)

// TestRetentionPolicyISM: the policy rolls an index over by age or shard
// size in its first state, and deletes it a retention after its rollover:
// the transition uses min_rollover_age (ISM's min_index_age counts from
// creation, which would delete the write index with today's alerts).
func TestRetentionPolicyISM(t *testing.T) {
	for _, days := range []int{DefaultRetentionDays, 1, 400} {
		b, err := RetentionPolicy(FlavorOpenSearch, days)
		if err != nil {
			t.Fatal(err)
		}
		p := decode(t, b)
		// dashboards-formats.md §5.3 and the ISM policy reference: states,
		// actions (rollover: min_index_age, min_primary_shard_size),
		// transition conditions (min_rollover_age).
		subset(t, "policy", get(t, p, "policy"), "description", "default_state", "states", "ism_template", "error_notification")
		if got := get(t, p, "policy", "default_state"); got != "hot" {
			t.Errorf("default_state %v", got)
		}
		rollover := get(t, p, "policy", "states", 0, "actions", 0, "rollover")
		subset(t, "rollover", rollover, "min_size", "min_primary_shard_size", "min_doc_count", "min_index_age", "copy_alias")
		if got := get(t, p, "policy", "states", 0, "actions", 0, "rollover", "min_index_age"); got != RolloverAge(days) {
			t.Errorf("rollover min_index_age %v, want %s", got, RolloverAge(days))
		}
		if got := get(t, p, "policy", "states", 0, "actions", 0, "rollover", "min_primary_shard_size"); got != RolloverSize {
			t.Errorf("rollover min_primary_shard_size %v", got)
		}
		want := strconv.Itoa(days) + "d"
		cond := get(t, p, "policy", "states", 0, "transitions", 0, "conditions")
		subset(t, "conditions", cond, "min_rollover_age")
		if got := get(t, p, "policy", "states", 0, "transitions", 0, "conditions", "min_rollover_age"); got != want {
			t.Errorf("min_rollover_age %v, want %s", got, want)
		}
		if got := get(t, p, "policy", "states", 0, "transitions", 0, "state_name"); got != "delete" {
			t.Errorf("transition to %v", got)
		}
		if got := keys(get(t, p, "policy", "states", 1, "actions", 0)); len(got) != 1 || got[0] != "delete" {
			t.Errorf("delete state actions %v", got)
		}
		if got := get(t, p, "policy", "ism_template", "index_patterns"); fmt.Sprint(got) != "[edgewatch-alerts-* edgewatch-findings-*]" {
			t.Errorf("ism_template patterns %v", got)
		}
	}
}

// TestRetentionPolicyILM: the hot phase rolls over by age or primary shard
// size, the delete phase's min_age counts from that rollover.
func TestRetentionPolicyILM(t *testing.T) {
	b, err := RetentionPolicy(FlavorElasticsearch, 30)
	if err != nil {
		t.Fatal(err)
	}
	p := decode(t, b)
	// dashboards-formats.md §5.2 and the ILM rollover action reference.
	subset(t, "policy", get(t, p, "policy"), "phases", "_meta")
	subset(t, "phases", get(t, p, "policy", "phases"), "hot", "warm", "cold", "frozen", "delete")
	subset(t, "rollover", get(t, p, "policy", "phases", "hot", "actions", "rollover"),
		"max_age", "max_docs", "max_size", "max_primary_shard_size", "max_primary_shard_docs", "min_docs")
	if got := get(t, p, "policy", "phases", "hot", "actions", "rollover", "max_age"); got != "3d" {
		t.Errorf("rollover max_age %v, want 3d", got)
	}
	if got := get(t, p, "policy", "phases", "delete", "min_age"); got != "30d" {
		t.Errorf("delete min_age %v", got)
	}
	if got := keys(get(t, p, "policy", "phases", "delete", "actions")); len(got) != 1 || got[0] != "delete" {
		t.Errorf("delete actions %v", got)
	}
}

func TestRolloverSettings(t *testing.T) {
	tests := []struct {
		days int
		age  string
	}{{1, "1d"}, {7, "1d"}, {30, "3d"}, {90, "9d"}, {365, "30d"}, {36500, "30d"}}
	for _, tc := range tests {
		if got := RolloverAge(tc.days); got != tc.age {
			t.Errorf("RolloverAge(%d) = %s, want %s", tc.days, got, tc.age)
		}
	}
	es := RolloverIndexSettings(FlavorElasticsearch, "edgewatch-alerts-x")
	if es["index.lifecycle.name"] != RetentionPolicyID || es["index.lifecycle.rollover_alias"] != "edgewatch-alerts-x" {
		t.Errorf("Elasticsearch settings %v", es)
	}
	if os := RolloverIndexSettings(FlavorOpenSearch, "edgewatch-alerts-x"); len(os) != 1 || os["plugins.index_state_management.rollover_alias"] != "edgewatch-alerts-x" {
		t.Errorf("OpenSearch settings %v", os)
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
