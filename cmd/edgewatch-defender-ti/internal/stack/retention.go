package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/dashboards"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

const (
	stepRetention = "retention policy"
	stepAttach    = "retention attach"
	alertsPattern = wire.AlertsPattern
)

// The alert retention policy is one installer over two policy engines: ISM
// on OpenSearch and ILM on Elasticsearch differ in how a policy reads back,
// how an update is made safe, and how alert indices come under it; the
// steps (render, read, compare, put, attach) and their reporting are the
// same.

// policyEngine is what differs between ISM and ILM.
type policyEngine struct {
	name   string // "ISM", "ILM"
	flavor string // dashboards.FlavorOpenSearch / FlavorElasticsearch
	// versioned says an update must carry the installed policy's
	// concurrency token (ISM answers 409 without it).
	versioned bool
	// read decodes a policy (the rendered body when installed is false, a
	// GET answer when true).
	read func(body []byte, installed bool) (policyState, error)
	// attach puts the alert indices under the policy once it is in place;
	// changed says the policy was just updated.
	attach func(ctx context.Context, c *cluster.Client, id string, changed, dryRun bool) []wire.Step
}

// policyState is what the installer compares of a policy.
type policyState struct {
	description string
	deleteAge   string // "90d"
	// version is the concurrency token an update must carry (ISM's
	// if_seq_no/if_primary_term); nil when the engine needs none.
	version url.Values
}

func (p policyState) same(q policyState) bool {
	return p.description == q.description && p.deleteAge == q.deleteAge
}

func engineOf(c *cluster.Client) policyEngine {
	if c.Flavor() == cluster.Elasticsearch {
		return ilmEngine
	}
	return ismEngine
}

// installRetention installs the alert retention policy and attaches the
// alert indices to it: the policy step, then the attach step(s). A
// cluster without the policy engine (the integ-test distributions) skips
// both with the server's reason; any other error fails the step it
// happened in, and the attach steps are skipped.
func installRetention(ctx context.Context, c *cluster.Client, days int, dryRun bool) []wire.Step {
	e := engineOf(c)
	id := dashboards.RetentionPolicyID
	st := wire.Step{Step: stepRetention, Target: e.name + " " + id}
	failed := func(st wire.Step) []wire.Step {
		return []wire.Step{st, skippedAttach(wire.Step{Step: stepAttach, Target: alertsPattern})}
	}

	body, want, path, err := e.render(days)
	if err != nil {
		st.Outcome, st.Detail = wire.StepFailed, err.Error()
		return failed(st)
	}
	req, resp, err := call(ctx, c, http.MethodGet, path, nil, nil)
	if err != nil {
		return failed(failStep(st, req, resp, err))
	}
	if why, ok := dashboards.Unsupported(resp.Status, resp.Body); ok {
		st.Outcome, st.Detail = wire.StepSkipped, why
		attach := wire.Step{Step: stepAttach, Target: alertsPattern, Outcome: wire.StepSkipped,
			Detail: "no retention policy: the cluster has no " + e.name}
		return []wire.Step{st, attach}
	}

	var query url.Values
	outcome, detail := wire.StepOK, fmt.Sprintf("delete after %dd", days)
	switch resp.Status {
	case http.StatusNotFound:
	case http.StatusOK:
		cur, err := e.read(resp.Body, true)
		if err != nil {
			st.Outcome, st.Detail = wire.StepFailed, "cannot read the installed policy: "+err.Error()
			return failed(st)
		}
		if cur.same(want) {
			st.Outcome, st.Detail = wire.StepAlreadyPresent, "delete after "+cur.deleteAge
			return append([]wire.Step{st}, e.attach(ctx, c, id, false, dryRun)...)
		}
		outcome, detail = wire.StepUpdated, fmt.Sprintf("delete after %s -> %s", orNone(cur.deleteAge), want.deleteAge)
		query = cur.version
		if e.versioned && query == nil && !dryRun {
			st.Outcome, st.Detail = wire.StepFailed, "the installed policy has no _seq_no/_primary_term to update it with"
			return failed(st)
		}
	default:
		return failed(failStep(st, req, resp, nil))
	}

	if dryRun {
		st.Outcome, st.Detail = wire.StepWouldApply, detail
		return append([]wire.Step{st}, e.attach(ctx, c, id, false, dryRun)...)
	}
	req, resp, err = call(ctx, c, http.MethodPut, path, query, body)
	if err == nil && !ok2xx(resp) {
		if why, ok := dashboards.Unsupported(resp.Status, resp.Body); ok {
			st.Outcome, st.Detail = wire.StepSkipped, why
			return failed(st)
		}
	}
	if err != nil || !ok2xx(resp) {
		return failed(failStep(st, req, resp, err))
	}
	st.Outcome, st.Detail = outcome, detail
	return append([]wire.Step{st}, e.attach(ctx, c, id, outcome == wire.StepUpdated, dryRun)...)
}

// render is the policy body for days, what it says, and where it goes.
func (e policyEngine) render(days int) (body []byte, want policyState, path string, err error) {
	if body, err = dashboards.RetentionPolicy(e.flavor, days); err != nil {
		return nil, policyState{}, "", err
	}
	if want, err = e.read(body, false); err != nil {
		return nil, policyState{}, "", fmt.Errorf("bundled %s policy: %w", e.name, err)
	}
	if path, err = dashboards.RetentionPolicyPath(e.flavor); err != nil {
		return nil, policyState{}, "", err
	}
	return body, want, path, nil
}

func skippedAttach(s wire.Step) wire.Step {
	s.Outcome, s.Detail = wire.StepSkipped, "the retention policy is not installed"
	return s
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// ---- ISM (OpenSearch) ----

var ismEngine = policyEngine{name: "ISM", flavor: dashboards.FlavorOpenSearch, versioned: true, read: readISM, attach: attachISM}

// ismPolicy is the part of an ISM policy install compares.
type ismPolicy struct {
	SeqNo       *int64 `json:"_seq_no"`
	PrimaryTerm *int64 `json:"_primary_term"`
	Policy      struct {
		Description string `json:"description"`
		States      []struct {
			Name        string `json:"name"`
			Transitions []struct {
				StateName  string `json:"state_name"`
				Conditions struct {
					MinIndexAge string `json:"min_index_age"`
				} `json:"conditions"`
			} `json:"transitions"`
		} `json:"states"`
	} `json:"policy"`
}

// readISM reads an ISM policy (the body and the GET answer have the same
// shape; the answer adds the concurrency token).
func readISM(body []byte, _ bool) (policyState, error) {
	var p ismPolicy
	if err := json.Unmarshal(body, &p); err != nil {
		return policyState{}, err
	}
	st := policyState{description: p.Policy.Description}
	for _, s := range p.Policy.States {
		for _, t := range s.Transitions {
			if t.StateName == "delete" && st.deleteAge == "" {
				st.deleteAge = t.Conditions.MinIndexAge
			}
		}
	}
	if p.SeqNo != nil && p.PrimaryTerm != nil {
		st.version = url.Values{"if_seq_no": {fmt.Sprint(*p.SeqNo)}, "if_primary_term": {fmt.Sprint(*p.PrimaryTerm)}}
	}
	return st, nil
}

// ismAnswer is the answer of ISM's add, change_policy and remove.
type ismAnswer struct {
	Updated       int  `json:"updated_indices"`
	Failures      bool `json:"failures"`
	FailedIndices []struct {
		IndexName string `json:"index_name"`
		Reason    string `json:"reason"`
	} `json:"failed_indices"`
}

// ismCall posts body to an ISM endpoint over the alert indices and reads
// its answer; a failure fills st.
func ismCall(ctx context.Context, c *cluster.Client, st *wire.Step, endpoint, id string) (ismAnswer, bool) {
	req, resp, err := call(ctx, c, http.MethodPost, "/_plugins/_ism/"+endpoint+"/"+alertsPattern, nil, map[string]any{"policy_id": id})
	if err != nil || !ok2xx(resp) {
		*st = failStep(*st, req, resp, err)
		return ismAnswer{}, false
	}
	var r ismAnswer
	if err := json.Unmarshal(resp.Body, &r); err != nil {
		st.Outcome, st.Detail = wire.StepFailed, "cannot read the ISM "+endpoint+" answer: "+err.Error()
		return ismAnswer{}, false
	}
	return r, true
}

// attachISM puts existing alert indices under the policy (its ism_template
// only catches indices created after it). After an update, indices already
// managed move to the new version with change_policy.
func attachISM(ctx context.Context, c *cluster.Client, id string, changed, dryRun bool) []wire.Step {
	st := wire.Step{Step: stepAttach, Target: alertsPattern}
	if dryRun {
		st.Outcome, st.Detail = wire.StepWouldApply, "manage existing alert indices with "+id
		return []wire.Step{st}
	}
	var parts []string
	if changed {
		r, ok := ismCall(ctx, c, &st, "change_policy", id)
		if !ok {
			return []wire.Step{st}
		}
		if r.Updated > 0 {
			parts = append(parts, fmt.Sprintf("%d managed indices moved to the new policy", r.Updated))
		}
	}
	r, ok := ismCall(ctx, c, &st, "add", id)
	if !ok {
		return []wire.Step{st}
	}
	managed := 0
	var fails []string
	for _, f := range r.FailedIndices {
		if strings.Contains(strings.ToLower(f.Reason), "already has a policy") {
			managed++
			continue
		}
		fails = append(fails, f.IndexName+": "+f.Reason)
	}
	switch {
	case len(fails) > 0:
		st.Outcome, st.Detail = wire.StepFailed, strings.Join(fails, "; ")
		return []wire.Step{st}
	case r.Updated > 0:
		st.Outcome = wire.StepOK
		parts = append(parts, fmt.Sprintf("%d alert indices now managed", r.Updated))
		if managed > 0 {
			parts = append(parts, fmt.Sprintf("%d already were", managed))
		}
	case changed:
		st.Outcome = wire.StepUpdated
	default:
		st.Outcome = wire.StepAlreadyPresent
		parts = append(parts, fmt.Sprintf("%d alert indices already managed; the policy's ism_template catches new ones", managed))
	}
	st.Detail = strings.Join(parts, "; ")
	return []wire.Step{st}
}

// ---- ILM (Elasticsearch) ----

var ilmEngine = policyEngine{name: "ILM", flavor: dashboards.FlavorElasticsearch, read: readILM, attach: attachILM}

// ilmPolicy is the part of an ILM policy install compares.
type ilmPolicy struct {
	Policy struct {
		Meta struct {
			Description string `json:"description"`
		} `json:"_meta"`
		Phases struct {
			Delete struct {
				MinAge string `json:"min_age"`
			} `json:"delete"`
		} `json:"phases"`
	} `json:"policy"`
}

// readILM reads an ILM policy: the body, or a GET answer, which keys the
// policy by its id.
func readILM(body []byte, installed bool) (policyState, error) {
	var p ilmPolicy
	if installed {
		var byID map[string]ilmPolicy
		if err := json.Unmarshal(body, &byID); err != nil {
			return policyState{}, err
		}
		p = byID[dashboards.RetentionPolicyID]
	} else if err := json.Unmarshal(body, &p); err != nil {
		return policyState{}, err
	}
	return policyState{description: p.Policy.Meta.Description, deleteAge: p.Policy.Phases.Delete.MinAge}, nil
}

// attachILM sets index.lifecycle.name in the alerts template and on the
// alert indices that exist.
func attachILM(ctx context.Context, c *cluster.Client, id string, _, dryRun bool) []wire.Step {
	return []wire.Step{attachILMTemplate(ctx, c, id, dryRun), attachILMIndices(ctx, c, id, dryRun)}
}

// attachILMTemplate sets index.lifecycle.name in the alerts index template,
// keeping everything else (its _meta too, so a later install still finds it
// current). Only called once the policy was accepted: a cluster without ILM
// refuses the setting and would then refuse every alert index.
func attachILMTemplate(ctx context.Context, c *cluster.Client, id string, dryRun bool) wire.Step {
	st := wire.Step{Step: stepAttach, Target: "index template " + dashboards.AlertsTemplate}
	path := cluster.DocPath("_index_template", dashboards.AlertsTemplate)
	req, resp, err := call(ctx, c, http.MethodGet, path, nil, nil)
	if err != nil || resp.Status != http.StatusOK {
		return failStep(st, req, resp, err)
	}
	var got struct {
		IndexTemplates []struct {
			IndexTemplate map[string]any `json:"index_template"`
		} `json:"index_templates"`
	}
	if err := json.Unmarshal(resp.Body, &got); err != nil || len(got.IndexTemplates) == 0 {
		st.Outcome, st.Detail = wire.StepFailed, "cannot read the installed alerts template"
		return st
	}
	tmpl := got.IndexTemplates[0].IndexTemplate
	inner := mapAt(tmpl, "template")
	settings := mapAt(inner, "settings")
	index := mapAt(settings, "index")
	lifecycle := mapAt(index, "lifecycle")
	if lifecycle["name"] == id || settings["index.lifecycle.name"] == id {
		st.Outcome, st.Detail = wire.StepAlreadyPresent, "index.lifecycle.name: "+id
		return st
	}
	if dryRun {
		st.Outcome, st.Detail = wire.StepWouldApply, "set index.lifecycle.name: "+id
		return st
	}
	lifecycle["name"] = id
	req, resp, err = call(ctx, c, http.MethodPut, path, nil, tmpl)
	if err != nil || !ok2xx(resp) {
		return failStep(st, req, resp, err)
	}
	st.Outcome, st.Detail = wire.StepUpdated, "index.lifecycle.name: "+id
	return st
}

// mapAt returns m[key] as a map, creating it when missing.
func mapAt(m map[string]any, key string) map[string]any {
	if v, ok := m[key].(map[string]any); ok {
		return v
	}
	v := map[string]any{}
	m[key] = v
	return v
}

// attachILMIndices sets index.lifecycle.name on existing alert indices that
// lack it.
func attachILMIndices(ctx context.Context, c *cluster.Client, id string, dryRun bool) wire.Step {
	st := wire.Step{Step: stepAttach, Target: alertsPattern}
	q := url.Values{"flat_settings": {"true"}, "expand_wildcards": {"open"}, "allow_no_indices": {"true"}}
	req, resp, err := call(ctx, c, http.MethodGet, "/"+alertsPattern+"/_settings/index.lifecycle.name", q, nil)
	if err != nil || resp.Status != http.StatusOK {
		return failStep(st, req, resp, err)
	}
	var got map[string]struct {
		Settings map[string]string `json:"settings"`
	}
	if err := json.Unmarshal(resp.Body, &got); err != nil {
		st.Outcome, st.Detail = wire.StepFailed, "cannot read alert index settings: "+err.Error()
		return st
	}
	var todo []string
	for idx, s := range got {
		if s.Settings["index.lifecycle.name"] != id {
			todo = append(todo, idx)
		}
	}
	if len(todo) == 0 {
		st.Outcome, st.Detail = wire.StepAlreadyPresent, fmt.Sprintf("%d alert indices use %s", len(got), id)
		return st
	}
	sort.Strings(todo)
	if dryRun {
		st.Outcome, st.Detail = wire.StepWouldApply, fmt.Sprintf("set index.lifecycle.name on %d indices", len(todo))
		return st
	}
	req, resp, err = call(ctx, c, http.MethodPut, "/"+strings.Join(todo, ",")+"/_settings", nil,
		map[string]any{"index.lifecycle.name": id})
	if err != nil || !ok2xx(resp) {
		return failStep(st, req, resp, err)
	}
	st.Outcome, st.Detail = wire.StepOK, fmt.Sprintf("%d alert indices now use %s", len(todo), id)
	return st
}
