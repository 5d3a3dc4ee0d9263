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
	alertsPattern = dashboards.AlertsPattern
)

func installRetention(ctx context.Context, c *cluster.Client, days int, dryRun bool) []wire.Step {
	if c.Flavor() == cluster.Elasticsearch {
		return installILM(ctx, c, days, dryRun)
	}
	return installISM(ctx, c, days, dryRun)
}

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
		ISMTemplate json.RawMessage `json:"ism_template"`
	} `json:"policy"`
}

// retentionAge is the delete age the policy carries ("90d").
func (p *ismPolicy) retentionAge() string {
	for _, s := range p.Policy.States {
		for _, t := range s.Transitions {
			if t.StateName == "delete" {
				return t.Conditions.MinIndexAge
			}
		}
	}
	return ""
}

func installISM(ctx context.Context, c *cluster.Client, days int, dryRun bool) []wire.Step {
	id := dashboards.RetentionPolicyID
	st := wire.Step{Step: stepRetention, Target: "ISM " + id}
	attach := wire.Step{Step: stepAttach, Target: alertsPattern}
	body, err := dashboards.RetentionPolicy(dashboards.FlavorOpenSearch, days)
	if err != nil {
		st.Outcome, st.Detail = wire.StepFailed, err.Error()
		return []wire.Step{st, skippedAttach(attach)}
	}
	var want ismPolicy
	_ = json.Unmarshal(body, &want)
	path, _ := dashboards.RetentionPolicyPath(dashboards.FlavorOpenSearch)

	req, resp, err := call(ctx, c, http.MethodGet, path, nil, nil)
	if err != nil {
		return []wire.Step{failStep(st, req, resp, err), skippedAttach(attach)}
	}
	if why, ok := dashboards.Unsupported(resp.Status, resp.Body); ok {
		st.Outcome, st.Detail = wire.StepSkipped, why
		attach.Outcome, attach.Detail = wire.StepSkipped, "no retention policy: the cluster has no ISM"
		return []wire.Step{st, attach}
	}
	changed := false
	switch {
	case resp.Status == http.StatusNotFound:
		if dryRun {
			st.Outcome, st.Detail = wire.StepWouldApply, fmt.Sprintf("delete alert indices after %dd", days)
			break
		}
		req, resp, err := call(ctx, c, http.MethodPut, path, nil, body)
		if err != nil || !ok2xx(resp) {
			if err == nil {
				if why, ok := dashboards.Unsupported(resp.Status, resp.Body); ok {
					st.Outcome, st.Detail = wire.StepSkipped, why
					return []wire.Step{st, skippedAttach(attach)}
				}
			}
			return []wire.Step{failStep(st, req, resp, err), skippedAttach(attach)}
		}
		st.Outcome, st.Detail = wire.StepOK, fmt.Sprintf("delete after %dd", days)
	case resp.Status == http.StatusOK:
		var cur ismPolicy
		if err := json.Unmarshal(resp.Body, &cur); err != nil {
			st.Outcome, st.Detail = wire.StepFailed, "cannot read the installed policy: "+err.Error()
			return []wire.Step{st, skippedAttach(attach)}
		}
		if cur.Policy.Description == want.Policy.Description && cur.retentionAge() == want.retentionAge() {
			st.Outcome, st.Detail = wire.StepAlreadyPresent, "delete after "+cur.retentionAge()
			break
		}
		detail := fmt.Sprintf("delete after %s -> %s", orNone(cur.retentionAge()), want.retentionAge())
		if dryRun {
			st.Outcome, st.Detail = wire.StepWouldApply, detail
			break
		}
		if cur.SeqNo == nil || cur.PrimaryTerm == nil {
			st.Outcome, st.Detail = wire.StepFailed, "the installed policy has no _seq_no/_primary_term to update it with"
			return []wire.Step{st, skippedAttach(attach)}
		}
		q := url.Values{"if_seq_no": {fmt.Sprint(*cur.SeqNo)}, "if_primary_term": {fmt.Sprint(*cur.PrimaryTerm)}}
		req, resp, err := call(ctx, c, http.MethodPut, path, q, body)
		if err != nil || !ok2xx(resp) {
			return []wire.Step{failStep(st, req, resp, err), skippedAttach(attach)}
		}
		st.Outcome, st.Detail = wire.StepUpdated, detail
		changed = true
	default:
		return []wire.Step{failStep(st, req, resp, nil), skippedAttach(attach)}
	}
	return []wire.Step{st, attachISM(ctx, c, id, changed, dryRun)}
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

// attachISM puts existing alert indices under the policy (its ism_template
// only catches indices created after it). After an update, indices already
// managed move to the new version with change_policy.
func attachISM(ctx context.Context, c *cluster.Client, id string, changed, dryRun bool) wire.Step {
	st := wire.Step{Step: stepAttach, Target: alertsPattern}
	if dryRun {
		st.Outcome, st.Detail = wire.StepWouldApply, "manage existing alert indices with "+id
		return st
	}
	var parts []string
	if changed {
		req, resp, err := call(ctx, c, http.MethodPost, "/_plugins/_ism/change_policy/"+alertsPattern, nil,
			map[string]any{"policy_id": id})
		if err != nil || !ok2xx(resp) {
			return failStep(st, req, resp, err)
		}
		var r ismAnswer
		_ = json.Unmarshal(resp.Body, &r)
		if r.Updated > 0 {
			parts = append(parts, fmt.Sprintf("%d managed indices moved to the new policy", r.Updated))
		}
	}
	req, resp, err := call(ctx, c, http.MethodPost, "/_plugins/_ism/add/"+alertsPattern, nil, map[string]any{"policy_id": id})
	if err != nil || !ok2xx(resp) {
		return failStep(st, req, resp, err)
	}
	var r ismAnswer
	if err := json.Unmarshal(resp.Body, &r); err != nil {
		st.Outcome, st.Detail = wire.StepFailed, "cannot read the ISM answer: "+err.Error()
		return st
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
		return st
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
	return st
}

type ismAnswer struct {
	Updated       int  `json:"updated_indices"`
	Failures      bool `json:"failures"`
	FailedIndices []struct {
		IndexName string `json:"index_name"`
		Reason    string `json:"reason"`
	} `json:"failed_indices"`
}

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

func installILM(ctx context.Context, c *cluster.Client, days int, dryRun bool) []wire.Step {
	id := dashboards.RetentionPolicyID
	st := wire.Step{Step: stepRetention, Target: "ILM " + id}
	attach := wire.Step{Step: stepAttach, Target: alertsPattern}
	body, err := dashboards.RetentionPolicy(dashboards.FlavorElasticsearch, days)
	if err != nil {
		st.Outcome, st.Detail = wire.StepFailed, err.Error()
		return []wire.Step{st, skippedAttach(attach)}
	}
	var want ilmPolicy
	_ = json.Unmarshal(body, &want)
	path, _ := dashboards.RetentionPolicyPath(dashboards.FlavorElasticsearch)

	req, resp, err := call(ctx, c, http.MethodGet, path, nil, nil)
	if err != nil {
		return []wire.Step{failStep(st, req, resp, err), skippedAttach(attach)}
	}
	if why, ok := dashboards.Unsupported(resp.Status, resp.Body); ok {
		st.Outcome, st.Detail = wire.StepSkipped, why
		attach.Outcome, attach.Detail = wire.StepSkipped, "no retention policy: the cluster has no ILM"
		return []wire.Step{st, attach}
	}
	put := func(outcome, detail string) []wire.Step {
		if dryRun {
			st.Outcome, st.Detail = wire.StepWouldApply, detail
			return nil
		}
		req, resp, err := call(ctx, c, http.MethodPut, path, nil, body)
		if err != nil || !ok2xx(resp) {
			if err == nil {
				if why, ok := dashboards.Unsupported(resp.Status, resp.Body); ok {
					st.Outcome, st.Detail = wire.StepSkipped, why
					return []wire.Step{st, skippedAttach(attach)}
				}
			}
			return []wire.Step{failStep(st, req, resp, err), skippedAttach(attach)}
		}
		st.Outcome, st.Detail = outcome, detail
		return nil
	}
	switch resp.Status {
	case http.StatusNotFound:
		if out := put(wire.StepOK, fmt.Sprintf("delete after %dd", days)); out != nil {
			return out
		}
	case http.StatusOK:
		var cur map[string]ilmPolicy
		if err := json.Unmarshal(resp.Body, &cur); err != nil {
			st.Outcome, st.Detail = wire.StepFailed, "cannot read the installed policy: "+err.Error()
			return []wire.Step{st, skippedAttach(attach)}
		}
		p := cur[id]
		if p.Policy.Meta.Description == want.Policy.Meta.Description && p.Policy.Phases.Delete.MinAge == want.Policy.Phases.Delete.MinAge {
			st.Outcome, st.Detail = wire.StepAlreadyPresent, "delete after "+p.Policy.Phases.Delete.MinAge
			break
		}
		detail := fmt.Sprintf("delete after %s -> %s", orNone(p.Policy.Phases.Delete.MinAge), want.Policy.Phases.Delete.MinAge)
		if out := put(wire.StepUpdated, detail); out != nil {
			return out
		}
	default:
		return []wire.Step{failStep(st, req, resp, nil), skippedAttach(attach)}
	}
	return []wire.Step{st, attachILMTemplate(ctx, c, id, dryRun), attachILMIndices(ctx, c, id, dryRun)}
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
