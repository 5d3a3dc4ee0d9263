package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/engine"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/dashboards"
	"github.com/edgewatch/edgewatch/plugin/wire"
	"github.com/google/go-cmp/cmp"
)

// defaultAliases are the default detection's write aliases.
var defaultAliases = []string{wire.AlertAlias(""), wire.FindingsAlias(wire.AlertAlias(""))}

// fakeStack is what withTemplates routes: the templates stored, and the
// write aliases' first backing indices with their settings (nil: the alias
// does not exist yet).
type fakeStack struct {
	stored  map[string]map[string]any
	indices aliasIndices
	// mappingFor is the mappings object of the stored template of highest
	// priority that matches an index (as the servers map a new index).
	mappingFor func(idx string) (any, bool)
}

// aliasIndices are the settings of the write aliases' backing indices, by
// index (nil: the alias does not exist yet).
type aliasIndices map[string]map[string]any

// withTemplates routes the index template and index calls of
// stack.Install: templates (the bundled ones and those derived for the
// default detection's write aliases and for aliases, alert aliases besides
// the default one, and their findings aliases) missing, then stored; the
// state index missing, then created; the write aliases missing, then
// created on their first backing index, whose mapping is the stored
// template's that matches it (which the alert mapping step reads back).
func withTemplates(f *fakeCluster, aliases ...string) *fakeStack {
	st := &fakeStack{stored: map[string]map[string]any{}, indices: aliasIndices{}}
	stored := st.stored
	names := []string{}
	for _, t := range dashboards.IndexTemplates() {
		names = append(names, t.Name)
	}
	all := slices.Clone(defaultAliases)
	for _, a := range aliases {
		all = append(all, a, wire.FindingsAlias(a))
	}
	for _, a := range all {
		names = append(names, "edgewatch-alert-index-"+a)
	}
	for _, name := range names {
		path := "/_index_template/" + name
		f.onFunc(http.MethodGet, path, func(cluster.Request) (int, string) {
			if stored[name] == nil {
				return 404, `{"error":{"type":"resource_not_found_exception","reason":"index template matching [` + name + `] not found"},"status":404}`
			}
			b, _ := json.Marshal(map[string]any{"index_templates": []any{map[string]any{"name": name, "index_template": stored[name]}}})
			return 200, string(b)
		})
		f.onFunc(http.MethodPut, path, func(req cluster.Request) (int, string) {
			var m map[string]any
			if err := json.Unmarshal(req.Body, &m); err != nil {
				return 400, `{"error":{"type":"parse_exception","reason":"bad json"}}`
			}
			stored[name] = m
			return 200, `{"acknowledged":true}`
		})
		f.onFunc(http.MethodDelete, path, func(cluster.Request) (int, string) {
			delete(stored, name)
			return 200, `{"acknowledged":true}`
		})
	}
	f.onFunc(http.MethodGet, "/_index_template/edgewatch-*", func(cluster.Request) (int, string) {
		var list []any
		for name, t := range stored {
			list = append(list, map[string]any{"name": name, "index_template": t})
		}
		b, _ := json.Marshal(map[string]any{"index_templates": list})
		if len(list) == 0 {
			return 404, string(b)
		}
		return 200, string(b)
	})
	st.mappingFor = func(idx string) (any, bool) {
		best, prio := map[string]any(nil), -1
		for _, t := range stored {
			pats, _ := t["index_patterns"].([]any)
			p, _ := t["priority"].(float64)
			for _, pat := range pats {
				if ok, _ := path.Match(pat.(string), idx); ok && int(p) > prio {
					best, prio = t, int(p)
				}
			}
		}
		if best == nil {
			return nil, false
		}
		return best["template"].(map[string]any)["mappings"], true
	}
	indices := map[string]bool{}
	for _, idx := range []string{wire.StateIndex} {
		f.onFunc(http.MethodHead, "/"+idx, func(cluster.Request) (int, string) {
			if indices[idx] {
				return 200, ""
			}
			return 404, ""
		})
		f.onFunc(http.MethodPut, "/"+idx, func(cluster.Request) (int, string) {
			indices[idx] = true
			return 200, `{"acknowledged":true}`
		})
	}
	for _, a := range all {
		st.routeAlias(f, a)
	}
	return st
}

// routeAlias routes write alias a: missing until its first backing index
// is created with it (or exists), mapped by the template that matched it;
// the backing index's settings are recorded.
func (st *fakeStack) routeAlias(f *fakeCluster, a string) {
	settings := st.indices
	first := a + "-000001"
	f.onFunc(http.MethodGet, "/"+a+"/_alias", func(cluster.Request) (int, string) {
		if settings[first] == nil {
			return 404, `{"error":"alias [` + a + `] missing","status":404}`
		}
		return 200, `{"` + first + `":{"aliases":{"` + a + `":{"is_write_index":true}}}}`
	})
	f.onFunc(http.MethodPut, "/"+first, func(req cluster.Request) (int, string) {
		if settings[first] != nil {
			return 400, `{"error":{"type":"resource_already_exists_exception","reason":"exists"},"status":400}`
		}
		settings[first] = map[string]any{}
		return 200, `{"acknowledged":true,"index":"` + first + `"}`
	})
	f.on(http.MethodPut, "/"+a+"/_mapping", 200, `{"acknowledged":true}`)
	f.onFunc(http.MethodGet, "/"+a+"/_mapping", func(cluster.Request) (int, string) {
		if settings[first] == nil {
			return 404, `{"error":{"type":"index_not_found_exception","reason":"no such index [` + a + `]"},"status":404}`
		}
		m, ok := st.mappingFor(first)
		if !ok {
			m = map[string]any{}
		}
		b, _ := json.Marshal(map[string]any{first: map[string]any{"mappings": m}})
		return 200, string(b)
	})
	read := func(cluster.Request) (int, string) {
		b, _ := json.Marshal(map[string]any{first: map[string]any{"settings": settings[first]}})
		return 200, string(b)
	}
	f.onFunc(http.MethodGet, cluster.DocPath(first, "_settings", "index.lifecycle.name,index.lifecycle.rollover_alias"), read)
	f.onFunc(http.MethodGet, cluster.DocPath(first, "_settings", "plugins.index_state_management.rollover_alias"), read)
	f.onFunc(http.MethodPut, "/"+first+"/_settings", func(req cluster.Request) (int, string) {
		var m map[string]any
		_ = json.Unmarshal(req.Body, &m)
		for k, v := range m {
			if !strings.HasPrefix(k, "index.") {
				k = "index." + k
			}
			settings[first][k] = v
		}
		return 200, `{"acknowledged":true}`
	})
}

// exists makes write aliases exist from the start (a run created them
// before install).
func (st *fakeStack) exists(aliases ...string) {
	for _, a := range aliases {
		st.indices[a+"-000001"] = map[string]any{}
	}
}

// concrete makes name a single index (not an alias) with mapping.
func concrete(f *fakeCluster, name, mapping string) {
	f.on(http.MethodHead, "/"+name, 200, "")
	f.on(http.MethodGet, "/"+name+"/_alias", 200, `{"`+name+`":{"aliases":{}}}`)
	f.on(http.MethodGet, "/"+name+"/_mapping", 200, `{"`+name+`":{"mappings":`+mapping+`}}`)
}

// withILM routes a cluster that has ILM: the policy.
func withILM(f *fakeCluster) {
	var policy json.RawMessage
	f.onFunc(http.MethodGet, "/_ilm/policy/"+dashboards.RetentionPolicyID, func(cluster.Request) (int, string) {
		if policy == nil {
			return 404, `{"error":{"type":"resource_not_found_exception","reason":"Lifecycle policy not found"},"status":404}`
		}
		var p struct {
			Policy json.RawMessage `json:"policy"`
		}
		_ = json.Unmarshal(policy, &p)
		return 200, fmt.Sprintf(`{%q:{"version":1,"modified_date":"2026-01-01","policy":%s}}`, dashboards.RetentionPolicyID, p.Policy)
	})
	f.onFunc(http.MethodPut, "/_ilm/policy/"+dashboards.RetentionPolicyID, func(req cluster.Request) (int, string) {
		policy = req.Body
		return 200, `{"acknowledged":true}`
	})
}

func runInstall(t *testing.T, f *fakeCluster, args wire.InstallArgs, secrets map[string]string) wire.StepsResult {
	t.Helper()
	return runSteps(t, f, wire.OpInstall, &args, &args.StackArgs, secrets)
}

// reinstallChangesNothing runs install again with args: every step must
// find its part already present (or be skipped).
func reinstallChangesNothing(t *testing.T, f *fakeCluster, args wire.InstallArgs) {
	t.Helper()
	for _, s := range runInstall(t, f, args, nil).Steps {
		if s.Outcome != wire.StepAlreadyPresent && s.Outcome != wire.StepSkipped {
			t.Errorf("second install: %s", s)
		}
	}
}

// runSteps runs install or uninstall on f (the fake's cluster when args
// name none) and fails the test when the operation could not run.
func runSteps[A any](t *testing.T, f *fakeCluster, op wire.Op[A, wire.StepsResult], args *A, stack *wire.StackArgs, secrets map[string]string) wire.StepsResult {
	t.Helper()
	if stack.Settings.Source == "" {
		stack.Settings = stackSettings(f.flavor)
	}
	r, err := callOp(f.deps(), op, *args, secrets, nil)
	if err != nil {
		t.Fatalf("%s: %v", op.Name, err)
	}
	return r
}

func outcomes(r wire.StepsResult) []string {
	var out []string
	for _, s := range r.Steps {
		out = append(out, s.Step+" "+s.Target+": "+s.Outcome)
	}
	return out
}

// TestInstallILMAccepted: on an Elasticsearch with ILM the policy is put,
// then (and only then) the default detection's aliases get templates of
// their own with the rollover settings (index.lifecycle.name and its own
// rollover alias), the alias a run created before install gets them on its
// backing index (its alert mapping checked), and the missing findings alias
// is created; a second install finds everything already present.
func TestInstallILMAccepted(t *testing.T) {
	f := newFake(t, cluster.Elasticsearch)
	st := withTemplates(f)
	st.exists(wire.DefaultAlertIndex)
	indices := st.indices
	withILM(f)
	r := runInstall(t, f, wire.InstallArgs{RetentionDays: 30}, nil)
	want := []string{
		"index template edgewatch-alerts: ok",
		"index template edgewatch-findings: ok",
		"index template edgewatch-indicators: ok",
		"index template edgewatch-state: ok",
		"index edgewatch-state: ok",
		"retention policy ILM edgewatch-alerts-retention: ok",
		"index template edgewatch-alert-index-edgewatch-alerts-default: ok",
		"write alias edgewatch-alerts-default: updated",
		"alert mapping edgewatch-alerts-default: already-present",
		"index template edgewatch-alert-index-edgewatch-findings-default: ok",
		"write alias edgewatch-findings-default: ok",
		"saved objects dashboards: skipped",
		"trigger schedule: skipped",
	}
	if diff := cmp.Diff(want, outcomes(r)); diff != "" {
		t.Fatalf("first install (-want +got):\n%s", diff)
	}
	pb := f.sent(http.MethodPut, "/_ilm/policy/"+dashboards.RetentionPolicyID)
	if !strings.Contains(pb, `"rollover":{"max_age":"3d","max_primary_shard_size":"10gb"}`) || !strings.Contains(pb, `"delete":{"min_age":"30d","actions":{"delete":{}}}`) {
		t.Errorf("policy body: %s", pb)
	}
	// The policy went in before the alias templates got the settings.
	reqs := f.requests()
	iPolicy := slices.Index(reqs, "PUT /_ilm/policy/"+dashboards.RetentionPolicyID)
	iTmpl := slices.Index(reqs, "PUT /_index_template/edgewatch-alert-index-edgewatch-alerts-default")
	if iPolicy < 0 || iTmpl < iPolicy {
		t.Errorf("want the policy PUT before the alias template, requests: %v", reqs)
	}
	for _, a := range defaultAliases {
		tb := f.sent(http.MethodPut, "/_index_template/edgewatch-alert-index-"+a)
		if !strings.Contains(tb, `"index.lifecycle.name":"edgewatch-alerts-retention"`) || !strings.Contains(tb, `"index.lifecycle.rollover_alias":"`+a+`"`) ||
			!strings.Contains(tb, `"index_patterns":["`+a+`-*"]`) || !strings.Contains(tb, `"content_sha256"`) {
			t.Errorf("alias template %s: %s", a, tb)
		}
	}
	if tb := f.sent(http.MethodPut, "/_index_template/edgewatch-alerts"); strings.Contains(tb, "lifecycle") {
		t.Errorf("the shared alerts template got lifecycle settings: %s", tb)
	}
	for _, a := range defaultAliases {
		if got := indices[a+"-000001"]; got["index.lifecycle.rollover_alias"] != a && a == wire.DefaultAlertIndex {
			t.Errorf("backing index of %s: settings %v", a, got)
		}
	}

	reinstallChangesNothing(t, f, wire.InstallArgs{RetentionDays: 30})
	// A different retention updates the policy.
	r = runInstall(t, f, wire.InstallArgs{RetentionDays: 7}, nil)
	if s := stepOf(r, "retention policy", "ILM"); s.Outcome != wire.StepUpdated || s.Detail != "roll over at 3d/10gb, delete 30d after -> roll over at 1d/10gb, delete 7d after" {
		t.Errorf("retention change: %s", s)
	}
}

// withISM routes an OpenSearch with ISM.
func withISM(f *fakeCluster, managed *[]string) {
	var policy json.RawMessage
	seq := -1
	path := "/_plugins/_ism/policies/" + dashboards.RetentionPolicyID
	f.onFunc(http.MethodGet, path, func(cluster.Request) (int, string) {
		if policy == nil {
			return 404, `{"error":{"root_cause":[{"type":"status_exception","reason":"Policy not found"}],"type":"status_exception","reason":"Policy not found"},"status":404}`
		}
		var p struct {
			Policy map[string]any `json:"policy"`
		}
		_ = json.Unmarshal(policy, &p)
		p.Policy["policy_id"] = dashboards.RetentionPolicyID
		p.Policy["schema_version"] = 21
		b, _ := json.Marshal(map[string]any{"_id": dashboards.RetentionPolicyID, "_seq_no": seq, "_primary_term": 1, "policy": p.Policy})
		return 200, string(b)
	})
	f.onFunc(http.MethodPut, path, func(req cluster.Request) (int, string) {
		if policy != nil && (req.Query.Get("if_seq_no") != fmt.Sprint(seq) || req.Query.Get("if_primary_term") != "1") {
			return 409, `{"error":{"type":"version_conflict_engine_exception","reason":"conflict"},"status":409}`
		}
		policy = req.Body
		seq++
		return 201, `{"_id":"x"}`
	})
	f.onFunc(http.MethodPost, "/_plugins/_ism/add/edgewatch-alerts-*,edgewatch-findings-*", func(cluster.Request) (int, string) {
		if slices.Contains(*managed, wire.DefaultAlertIndex) {
			return 200, `{"updated_indices":0,"failures":true,"failed_indices":[{"index_name":"edgewatch-alerts-default","index_uuid":"u","reason":"This index already has a policy, use the update policy API to update index policies"}]}`
		}
		*managed = append(*managed, wire.DefaultAlertIndex)
		return 200, `{"updated_indices":1,"failures":false,"failed_indices":[]}`
	})
	f.on(http.MethodPost, "/_plugins/_ism/change_policy/edgewatch-alerts-*,edgewatch-findings-*", 200, `{"updated_indices":1,"failures":false,"failed_indices":[]}`)
}

// TestRetentionAnswersThatDoNotReadFailTheStep: an answer the installer
// cannot read is a failed step with the reason, on both engines, never an
// outcome guessed from a half-decoded body.
func TestRetentionAnswersThatDoNotReadFailTheStep(t *testing.T) {
	t.Run("ISM change_policy", func(t *testing.T) {
		f := newFake(t, cluster.OpenSearch)
		withTemplates(f)
		var managed []string
		withISM(f, &managed)
		runInstall(t, f, wire.InstallArgs{}, nil)
		f.on(http.MethodPost, "/_plugins/_ism/change_policy/edgewatch-alerts-*,edgewatch-findings-*", 200, `<html>proxy error</html>`)
		r := runInstall(t, f, wire.InstallArgs{RetentionDays: 14}, nil)
		if s := stepOf(r, "retention attach", wire.AlertsPattern); s.Outcome != wire.StepFailed || !strings.Contains(s.Detail, "cannot read the ISM change_policy answer") {
			t.Errorf("attach: %s", s)
		}
		if r.Failed != 1 {
			t.Errorf("failed steps: %v", outcomes(r))
		}
	})
	t.Run("ILM policy", func(t *testing.T) {
		f := newFake(t, cluster.Elasticsearch)
		withTemplates(f)
		f.on(http.MethodGet, "/_ilm/policy/"+dashboards.RetentionPolicyID, 200, `not json`)
		r := runInstall(t, f, wire.InstallArgs{}, nil)
		if s := stepOf(r, "retention policy", "ILM"); s.Outcome != wire.StepFailed || !strings.Contains(s.Detail, "cannot read the installed policy") {
			t.Errorf("policy: %s", s)
		}
		if s := stepOf(r, "retention attach", wire.AlertsPattern); s.Outcome != wire.StepSkipped {
			t.Errorf("attach: %s", s)
		}
	})
}

func TestInstallISMAccepted(t *testing.T) {
	f := newFake(t, cluster.OpenSearch)
	withTemplates(f)
	var managed []string
	withISM(f, &managed)
	r := runInstall(t, f, wire.InstallArgs{}, nil)
	if s := stepOf(r, "retention policy", "ISM"); s.Outcome != wire.StepOK || s.Detail != "roll over at 9d/10gb, delete 90d after" {
		t.Errorf("policy: %s", s)
	}
	for _, a := range defaultAliases {
		if tb := f.sent(http.MethodPut, "/_index_template/edgewatch-alert-index-"+a); !strings.Contains(tb, `"plugins.index_state_management.rollover_alias":"`+a+`"`) {
			t.Errorf("alias template %s: %s", a, tb)
		}
	}
	if s := stepOf(r, "retention attach", wire.AlertsPattern); s.Outcome != wire.StepOK || !strings.Contains(s.Detail, "1 alert indices now managed") {
		t.Errorf("attach: %s", s)
	}
	if body := f.sent(http.MethodPut, "/_plugins/_ism/policies/"+dashboards.RetentionPolicyID); !strings.Contains(body, `"min_rollover_age":"90d"`) {
		t.Errorf("policy body %s", body)
	}

	reinstallChangesNothing(t, f, wire.InstallArgs{})

	// A new retention updates with the concurrency token and moves the
	// managed indices to the new policy.
	r = runInstall(t, f, wire.InstallArgs{RetentionDays: 14}, nil)
	if s := stepOf(r, "retention policy", "ISM"); s.Outcome != wire.StepUpdated || s.Detail != "roll over at 9d/10gb, delete 90d after -> roll over at 2d/10gb, delete 14d after" {
		t.Errorf("policy update: %s", s)
	}
	if s := stepOf(r, "retention attach", wire.AlertsPattern); s.Outcome != wire.StepUpdated || !strings.Contains(s.Detail, "moved to the new policy") {
		t.Errorf("attach after update: %s", s)
	}
	if r.Failed != 0 {
		t.Errorf("failed steps: %v", outcomes(r))
	}
}

// TestInstallWithoutPolicyEngine: the integ-test distributions answer "no
// handler found": retention and triggers are skipped with that reason, no
// template is given a lifecycle setting (the default detection's aliases,
// which the bundled templates map, get no template of their own), and
// install goes on.
func TestInstallWithoutPolicyEngine(t *testing.T) {
	for _, flavor := range []cluster.Flavor{cluster.OpenSearch, cluster.Elasticsearch} {
		t.Run(string(flavor), func(t *testing.T) {
			f := newFake(t, flavor)
			withTemplates(f)
			r := runInstall(t, f, wire.InstallArgs{Triggers: true, EdgewatchURL: "https://edgewatch.example:8443"},
				map[string]string{wire.SecretWebhookToken: "s3cr3t-token-value"})
			if r.Failed != 0 {
				t.Errorf("failed: %v", outcomes(r))
			}
			pol := stepOf(r, "retention policy", "")
			if pol.Outcome != wire.StepSkipped || !strings.Contains(pol.Detail, "no handler found") {
				t.Errorf("retention: %s", pol)
			}
			if s := stepOf(r, "retention attach", wire.AlertsPattern); s.Outcome != wire.StepSkipped {
				t.Errorf("attach: %s", s)
			}
			for _, s := range r.Steps {
				if s.Step == "trigger" && (s.Outcome != wire.StepSkipped || !strings.Contains(s.Detail, "no handler found") && s.Detail != "needs the notifications channel") {
					t.Errorf("trigger: %s", s)
				}
			}
			for _, m := range f.mutations() {
				if strings.Contains(m, "_ilm") || strings.Contains(m, "_ism") || strings.Contains(m, "_settings") || strings.Contains(m, "_watcher") {
					t.Errorf("sent %s to a cluster without the feature", m)
				}
			}
			for _, name := range []string{dashboards.AlertsTemplate, dashboards.FindingsTemplate} {
				tb := f.sent(http.MethodPut, "/_index_template/"+name)
				if tb == "" || strings.Contains(tb, "lifecycle") || strings.Contains(tb, "index_state_management") {
					t.Errorf("template %s without a policy engine: %s", name, tb)
				}
			}
			for _, a := range defaultAliases {
				if tb := f.sent(http.MethodPut, "/_index_template/edgewatch-alert-index-"+a); tb != "" {
					t.Errorf("a template was derived for %s, which the bundled ones map, without a policy engine: %s", a, tb)
				}
				if s := stepOf(r, "write alias", a); s.Outcome != wire.StepOK {
					t.Errorf("write alias %s: %s", a, s)
				}
			}
			if s := stepOf(r, "alert mapping", wire.DefaultAlertIndex); s.Outcome != wire.StepOK {
				t.Errorf("alert mapping: %s", s)
			}
			if strings.Contains(string(mustJSON(t, r)), "s3cr3t") {
				t.Error("the webhook token leaked into the answer")
			}
		})
	}
}

// TestInstallPolicyRefused: a policy the server refuses fails the step with
// the server's reason, and the attach is skipped.
func TestInstallPolicyRefused(t *testing.T) {
	f := newFake(t, cluster.Elasticsearch)
	withTemplates(f)
	f.on(http.MethodGet, "/_ilm/policy/"+dashboards.RetentionPolicyID, 404, `{"error":{"type":"resource_not_found_exception","reason":"not found"},"status":404}`)
	f.on(http.MethodPut, "/_ilm/policy/"+dashboards.RetentionPolicyID, 400,
		`{"error":{"root_cause":[{"type":"x_content_parse_exception","reason":"unknown field [bogus]"}],"type":"x_content_parse_exception","reason":"unknown field [bogus]"},"status":400}`)
	r := runInstall(t, f, wire.InstallArgs{}, nil)
	if r.Failed != 1 {
		t.Errorf("failed = %d, want 1: %v", r.Failed, outcomes(r))
	}
	if s := stepOf(r, "retention policy", "ILM"); s.Outcome != wire.StepFailed || s.Detail != "400 x_content_parse_exception: unknown field [bogus]" {
		t.Errorf("policy: %s", s)
	}
	if s := stepOf(r, "retention attach", wire.AlertsPattern); s.Outcome != wire.StepSkipped {
		t.Errorf("attach: %s", s)
	}
}

// TestInstallDryRunChangesNothing: only reads are sent.
func TestInstallDryRunChangesNothing(t *testing.T) {
	for _, flavor := range []cluster.Flavor{cluster.OpenSearch, cluster.Elasticsearch} {
		t.Run(string(flavor), func(t *testing.T) {
			f := newFake(t, flavor)
			withTemplates(f)
			var managed []string
			if flavor == cluster.OpenSearch {
				withISM(f, &managed)
			} else {
				withILM(f)
			}
			r := runInstall(t, f, wire.InstallArgs{StackArgs: wire.StackArgs{DryRun: true}}, nil)
			if m := f.mutations(); len(m) != 0 {
				t.Errorf("dry run sent %v", m)
			}
			if !r.DryRun || r.Outcomes[wire.StepWouldApply] < 6 {
				t.Errorf("dry run outcomes %v", outcomes(r))
			}
		})
	}
}

// TestInstallTriggers: the watch and the Alerting channel + monitor are put
// when the cluster has them, and re-applied on a second install.
func TestInstallTriggers(t *testing.T) {
	secrets := map[string]string{wire.SecretWebhookToken: "tok-0123456789abcdef"}
	args := wire.InstallArgs{Triggers: true, EdgewatchURL: "https://edgewatch.example:8443", StackArgs: wire.StackArgs{Detection: "prod"}}

	t.Run("watcher", func(t *testing.T) {
		f := newFake(t, cluster.Elasticsearch)
		withTemplates(f)
		exists := false
		f.onFunc(http.MethodGet, "/_watcher/watch/edgewatch-prod", func(cluster.Request) (int, string) {
			if exists {
				return 200, `{"found":true,"_id":"edgewatch-prod"}`
			}
			return 404, `{"found":false,"_id":"edgewatch-prod"}`
		})
		f.onFunc(http.MethodPut, "/_watcher/watch/edgewatch-prod", func(cluster.Request) (int, string) {
			exists = true
			return 201, `{"_id":"edgewatch-prod","created":true}`
		})
		r := runInstall(t, f, args, secrets)
		if s := stepOf(r, "trigger", "watcher watch edgewatch-prod"); s.Outcome != wire.StepOK {
			t.Errorf("watch: %s", s)
		}
		if b := f.sent(http.MethodPut, "/_watcher/watch/edgewatch-prod"); !strings.Contains(b, "/v1/detections/prod/run") {
			t.Errorf("watch body %s", b)
		}
		r = runInstall(t, f, args, secrets)
		if s := stepOf(r, "trigger", "watcher watch"); s.Outcome != wire.StepUpdated {
			t.Errorf("second watch: %s", s)
		}
	})

	t.Run("alerting", func(t *testing.T) {
		f := newFake(t, cluster.OpenSearch)
		withTemplates(f)
		(&fakeAlerting{names: map[string]string{}}).route(f)
		r := runInstall(t, f, args, secrets)
		if s := stepOf(r, "trigger", "notifications channel edgewatch-prod"); s.Outcome != wire.StepOK {
			t.Errorf("channel: %s", s)
		}
		if s := stepOf(r, "trigger", "alerting monitor edgewatch-prod"); s.Outcome != wire.StepOK {
			t.Errorf("monitor: %s", s)
		}
		if b := f.sent(http.MethodPost, "/_plugins/_alerting/monitors"); !strings.Contains(b, `"destination_id":"edgewatch-prod"`) {
			t.Errorf("monitor body %s", b)
		}
		r = runInstall(t, f, args, secrets)
		if s := stepOf(r, "trigger", "alerting monitor"); s.Outcome != wire.StepUpdated {
			t.Errorf("second monitor: %s", s)
		}
		if s := stepOf(r, "trigger", "notifications channel"); s.Outcome != wire.StepUpdated {
			t.Errorf("second channel: %s", s)
		}
	})
}

// TestInstallBadArgs: arguments that cannot work fail before anything is
// sent, as configuration errors.
func TestInstallBadArgs(t *testing.T) {
	cases := map[string]struct {
		args    wire.InstallArgs
		secrets map[string]string
		want    string
	}{
		"kibana with opensearch": {args: wire.InstallArgs{StackArgs: wire.StackArgs{KibanaURL: "http://k:5601"}}, want: "--kibana goes with --elasticsearch"},
		"both dashboards":        {args: wire.InstallArgs{StackArgs: wire.StackArgs{KibanaURL: "http://k", DashboardsURL: "http://d"}}, want: "not both"},
		"tenant without target":  {args: wire.InstallArgs{StackArgs: wire.StackArgs{Tenant: "global"}}, want: "need --kibana or --dashboards"},
		"triggers without url":   {args: wire.InstallArgs{Triggers: true}, secrets: map[string]string{wire.SecretWebhookToken: "t"}, want: "--edgewatch-url"},
		"triggers without token": {args: wire.InstallArgs{Triggers: true, EdgewatchURL: "https://e:8443"}, want: "webhook token"},
		"retention out of range": {args: wire.InstallArgs{RetentionDays: -3}, want: "--retention-days"},
		"no cluster":             {args: wire.InstallArgs{StackArgs: wire.StackArgs{Settings: wire.Settings{Source: "file"}}}, want: "install needs a cluster"},
		"triggers bad url":       {args: wire.InstallArgs{Triggers: true, EdgewatchURL: "ftp://x"}, secrets: map[string]string{wire.SecretWebhookToken: "tok"}, want: "scheme must be http or https"},
		// A '.' made the Notifications channel id invalid: a 400 from the
		// cluster after the templates were already installed.
		"dotted detection with triggers": {args: wire.InstallArgs{Triggers: true, EdgewatchURL: "https://e:8443", StackArgs: wire.StackArgs{Detection: "prod.eu"}},
			secrets: map[string]string{wire.SecretWebhookToken: "tok"}, want: `detection name "prod.eu"`},
		"dotted detection":       {args: wire.InstallArgs{StackArgs: wire.StackArgs{Detection: "prod.eu"}}, want: `detection name "prod.eu"`},
		"alert index pattern":    {args: wire.InstallArgs{StackArgs: wire.StackArgs{Settings: alertIndexSettings("ops-*")}}, want: "--alert-index: alert index \"ops-*\": alerts are written to one index"},
		"alert index upper case": {args: wire.InstallArgs{StackArgs: wire.StackArgs{Settings: alertIndexSettings("Ops")}}, want: "--alert-index"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFake(t, cluster.OpenSearch)
			if tc.args.Settings.Source == "" {
				tc.args.Settings = stackSettings(cluster.OpenSearch)
			}
			_, err := callOp(f.deps(), wire.OpInstall, tc.args, tc.secrets, nil)
			if err == nil || !errors.Is(err, engine.ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want a config error containing %q", err, tc.want)
			}
			if len(f.requests()) != 0 {
				t.Errorf("requests sent: %v", f.requests())
			}
		})
	}
}

// TestInstallSavedObjects: the bundle goes to the import API of the
// product matching the cluster; per-object errors in a 200 answer fail the
// step with each object's reason.
func TestInstallSavedObjects(t *testing.T) {
	var gotPath, gotTenant, gotXSRF, gotUser, gotFile string
	failIDs := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotTenant, gotXSRF = r.URL.RequestURI(), r.Header.Get("securitytenant"), r.Header.Get("osd-xsrf")
		gotUser, _, _ = r.BasicAuth()
		mr, err := r.MultipartReader()
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		for {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			if p.FormName() == "file" {
				gotFile = p.FileName()
				_, _ = io.Copy(io.Discard, p)
			}
		}
		if failIDs {
			fmt.Fprint(w, `{"success":false,"successCount":13,"errors":[{"id":"edgewatch-vis-top-ips","type":"visualization","error":{"type":"missing_references","references":[{"type":"index-pattern","id":"edgewatch-alerts"}]}}]}`)
			return
		}
		fmt.Fprint(w, `{"success":true,"successCount":14}`)
	}))
	defer srv.Close()

	f := newFake(t, cluster.OpenSearch)
	withTemplates(f)
	s := stackSettings(cluster.OpenSearch)
	s.Cluster.Username = "admin"
	args := wire.InstallArgs{StackArgs: wire.StackArgs{Settings: s, DashboardsURL: srv.URL + "/_dashboards", Tenant: "global"}}
	r := runInstall(t, f, args, map[string]string{wire.SecretPassword: "s3cr3t-pass"})
	so := stepOf(r, "saved objects", "opensearch-dashboards")
	if so.Outcome != wire.StepOK || !strings.Contains(so.Detail, "14 of") {
		t.Errorf("saved objects: %s", so)
	}
	if gotPath != "/_dashboards/api/saved_objects/_import?overwrite=true" || gotTenant != "global" || gotXSRF != "true" || gotUser != "admin" || !strings.HasSuffix(gotFile, ".ndjson") {
		t.Errorf("request: path %q tenant %q xsrf %q user %q file %q", gotPath, gotTenant, gotXSRF, gotUser, gotFile)
	}

	failIDs = true
	r = runInstall(t, f, args, map[string]string{wire.SecretPassword: "s3cr3t-pass"})
	so = stepOf(r, "saved objects", "opensearch-dashboards")
	if so.Outcome != wire.StepFailed || !strings.Contains(so.Detail, "visualization/edgewatch-vis-top-ips: missing_references (index-pattern/edgewatch-alerts)") || r.Failed != 1 {
		t.Errorf("per-object error: %s (failed %d)", so, r.Failed)
	}
	if strings.Contains(string(mustJSON(t, r)), "s3cr3t-pass") {
		t.Error("the password leaked into the answer")
	}
}

func alertIndexSettings(index string) wire.Settings {
	s := stackSettings(cluster.OpenSearch)
	s.Cluster.AlertIndex = index
	return s
}

// TestInstallAlertIndex: install --alert-index names a write alias: for an
// alias whose backing indices edgewatch-alerts-* does not match, templates
// derived from the alert (and findings) template for it and its findings
// alias; the aliases are created and the alert mapping checked; an alias
// the bundled template matches needs no template of its own; a single
// index of that name that already exists with dynamic mapping is not
// migrated, and the alert mapping step fails with what to do. Uninstall
// removes the derived templates.
func TestInstallAlertIndex(t *testing.T) {
	cases := map[string]struct {
		index       string
		preexisting string // the single index's mapping before install ("" = absent)
		wantSteps   []string
		wantDetail  string
	}{
		"outside the alerts pattern": {
			index: "ops-alerts",
			wantSteps: []string{"index template edgewatch-alert-index-ops-alerts: ok", "write alias ops-alerts: ok",
				"alert mapping ops-alerts: ok", "index template edgewatch-alert-index-ops-alerts-findings: ok", "write alias ops-alerts-findings: ok"},
		},
		"inside the alerts pattern": {
			index: "edgewatch-alerts-soc",
			wantSteps: []string{"write alias edgewatch-alerts-soc: ok", "alert mapping edgewatch-alerts-soc: ok",
				"write alias edgewatch-findings-soc: ok"},
		},
		"existing index mapped dynamically": {
			index:       "ops-alerts",
			preexisting: `{"properties":{"source":{"properties":{"ip":{"type":"text","fields":{"keyword":{"type":"keyword"}}}}},"defender":{"properties":{"network_event":{"properties":{"RemoteIP":{"type":"text"}}}}}}}`,
			wantSteps: []string{"index template edgewatch-alert-index-ops-alerts: ok", "write alias ops-alerts: failed",
				"alert mapping ops-alerts: failed"},
			wantDetail: "source.ip is text (want ip); destination.port is not mapped (want long); defender.network_event is indexed",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFake(t, cluster.OpenSearch)
			withTemplates(f, tc.index)
			if tc.preexisting != "" {
				concrete(f, tc.index, tc.preexisting)
			}
			r := runInstall(t, f, wire.InstallArgs{StackArgs: wire.StackArgs{Settings: alertIndexSettings(tc.index)}}, nil)
			got := outcomes(r)
			for _, w := range tc.wantSteps {
				if !slices.Contains(got, w) {
					t.Errorf("missing step %q in %v", w, got)
				}
			}
			if s := stepOf(r, "alert mapping", tc.index); !strings.Contains(s.Detail, tc.wantDetail) {
				t.Errorf("alert mapping step %s, want %q", s, tc.wantDetail)
			}
			derived := "/_index_template/edgewatch-alert-index-" + tc.index
			body := f.sent(http.MethodPut, derived)
			if !strings.HasPrefix(tc.index, "edgewatch-alerts-") {
				var tb struct {
					IndexPatterns []string `json:"index_patterns"`
					Priority      int      `json:"priority"`
				}
				if err := json.Unmarshal([]byte(body), &tb); err != nil || !slices.Equal(tb.IndexPatterns, []string{tc.index + "-*"}) || tb.Priority <= 200 {
					t.Errorf("derived template %s (%v)", body, err)
				}
			} else if body != "" || slices.Contains(f.requests(), "PUT "+derived) {
				t.Errorf("a template was derived for %s, which the bundled one matches", tc.index)
			}
			if tc.preexisting != "" {
				for _, m := range f.mutations() {
					if m == "PUT /"+tc.index || strings.HasPrefix(m, "PUT /"+tc.index+"-000001") || strings.Contains(m, "_clone") {
						t.Errorf("install changed the existing index: %s", m)
					}
				}
				return
			}
			reinstallChangesNothing(t, f, wire.InstallArgs{StackArgs: wire.StackArgs{Settings: alertIndexSettings(tc.index)}})
			u := runUninstall(t, f, wire.UninstallArgs{StackArgs: wire.StackArgs{Settings: alertIndexSettings(tc.index)}})
			if !strings.HasPrefix(tc.index, "edgewatch-alerts-") {
				removed := map[string]string{}
				for _, s := range u.Steps {
					if s.Step == "index template" {
						removed[s.Target] = s.Outcome
					}
				}
				for _, n := range []string{tc.index, wire.FindingsAlias(tc.index)} {
					if o := removed["edgewatch-alert-index-"+n]; o != wire.StepRemoved {
						t.Errorf("uninstall: template of %s %q (%v)", n, o, removed)
					}
				}
			}
		})
	}
}

// TestInstallKibanaImportsKibana8Bundle: install --kibana sends Kibana the
// Kibana 8.x bundle (every object with coreMigrationVersion and
// typeMigrationVersion), with kbn-xsrf, into the space given; --dashboards
// sends OSD the 7.x-format bundle.
func TestInstallKibanaImportsKibana8Bundle(t *testing.T) {
	cases := map[string]struct {
		flavor   cluster.Flavor
		kibana   bool
		wantKind string
		wantPath string
		wantHdr  string
	}{
		"kibana": {flavor: cluster.Elasticsearch, kibana: true, wantKind: dashboards.KindKibana,
			wantPath: "/s/soc/api/saved_objects/_import?overwrite=true", wantHdr: "kbn-xsrf"},
		"opensearch dashboards": {flavor: cluster.OpenSearch, wantKind: dashboards.KindOpenSearchDashboards,
			wantPath: "/api/saved_objects/_import?overwrite=true", wantHdr: "osd-xsrf"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var gotPath, gotHdr string
			var file []byte
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				gotPath = r.URL.RequestURI()
				if r.Header.Get(tc.wantHdr) != "" {
					gotHdr = tc.wantHdr
				}
				mr, err := r.MultipartReader()
				if err != nil {
					http.Error(w, err.Error(), 400)
					return
				}
				if p, err := mr.NextPart(); err == nil {
					file, _ = io.ReadAll(p)
				}
				fmt.Fprint(w, `{"success":true,"successCount":16}`)
			}))
			defer srv.Close()
			f := newFake(t, tc.flavor)
			withTemplates(f)
			sa := wire.StackArgs{Settings: stackSettings(tc.flavor)}
			if tc.kibana {
				sa.KibanaURL, sa.Space = srv.URL, "soc"
			} else {
				sa.DashboardsURL = srv.URL
			}
			r := runInstall(t, f, wire.InstallArgs{StackArgs: sa}, nil)
			if s := stepOf(r, "saved objects", ""); s.Outcome != wire.StepOK {
				t.Fatalf("saved objects: %s", s)
			}
			want, _ := dashboards.SavedObjects(tc.wantKind)
			if gotPath != tc.wantPath || gotHdr != tc.wantHdr || string(file) != string(want) {
				t.Errorf("import %s (header %q), file is the %s bundle: %v", gotPath, gotHdr, tc.wantKind, string(file) == string(want))
			}
			for i, line := range strings.Split(strings.TrimSpace(string(file)), "\n") {
				var o map[string]any
				if err := json.Unmarshal([]byte(line), &o); err != nil {
					t.Fatal(err)
				}
				_, tmv := o["typeMigrationVersion"]
				_, mv := o["migrationVersion"]
				if tmv != tc.kibana || mv == tc.kibana {
					t.Errorf("line %d (%v/%v): typeMigrationVersion %v, migrationVersion %v", i+1, o["type"], o["id"], tmv, mv)
				}
			}
		})
	}
}
