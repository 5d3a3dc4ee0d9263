package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/dashboards"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

const (
	stepRetention = "retention policy"
	stepAttach    = "retention attach"
	alertsPattern = wire.AlertsPattern
	// managedPatterns are the indices the policy manages: the backing
	// indices of the alert and findings aliases.
	managedPatterns = wire.AlertsPattern + "," + wire.FindingsPattern
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
	// attach puts the existing alert and findings indices under the
	// policy once it is in place and the aliases carry their rollover
	// settings; changed says the policy was just updated. nil: the
	// engine attaches through index settings alone (installAliases).
	attach func(ctx context.Context, c *cluster.Client, id string, changed, dryRun bool) []wire.Step
}

// policyState is what the installer compares of a policy.
type policyState struct {
	description string
	deleteAge   string // "90d"
	rollover    string // "9d/10gb": the rollover conditions, "" without rollover
	// version is the concurrency token an update must carry (ISM's
	// if_seq_no/if_primary_term); nil when the engine needs none.
	version url.Values
}

func (p policyState) same(q policyState) bool {
	return p.description == q.description && p.deleteAge == q.deleteAge && p.rollover == q.rollover
}

// String is what a step says of the policy: "roll over at 9d/10gb, delete
// 90d after", or "delete after 90d" for a policy without rollover.
func (p policyState) String() string {
	if p.rollover == "" {
		return "delete after " + orNone(p.deleteAge)
	}
	return "roll over at " + p.rollover + ", delete " + p.deleteAge + " after"
}

func engineOf(c *cluster.Client) policyEngine {
	if c.Flavor() == cluster.Elasticsearch {
		return ilmEngine
	}
	return ismEngine
}

// retention is what installRetention did: the policy step, whether the
// policy is in place (or, in a dry run, would be), so that the aliases get
// its rollover settings, and the attach steps to run once they have them.
type retention struct {
	steps     []wire.Step
	lifecycle bool
	changed   bool
	engine    policyEngine
}

// attach puts the existing alert and findings indices under the policy: the
// attach steps, or one skipped step saying why there is nothing to attach.
func (r retention) attach(ctx context.Context, c *cluster.Client, dryRun bool) []wire.Step {
	if !r.lifecycle {
		why := "the retention policy is not installed"
		if len(r.steps) > 0 && r.steps[0].Outcome == wire.StepSkipped {
			why = "no retention policy: the cluster has no " + r.engine.name
		}
		return []wire.Step{{Step: stepAttach, Target: managedPatterns, Outcome: wire.StepSkipped, Detail: why}}
	}
	if r.engine.attach == nil {
		return nil
	}
	return r.engine.attach(ctx, c, dashboards.RetentionPolicyID, r.changed, dryRun)
}

// installRetention installs the alert retention policy. A cluster without
// the policy engine (the integ-test distributions) skips it with the
// server's reason; any other error fails the step. Attaching the indices is
// left to the returned retention, once the aliases exist.
func installRetention(ctx context.Context, c *cluster.Client, days int, dryRun bool) retention {
	e := engineOf(c)
	id := dashboards.RetentionPolicyID
	st := wire.Step{Step: stepRetention, Target: e.name + " " + id}
	r := retention{engine: e}
	done := func(st wire.Step) retention {
		r.steps = []wire.Step{st}
		return r
	}

	body, want, path, err := e.render(days)
	if err != nil {
		st.Outcome, st.Detail = wire.StepFailed, err.Error()
		return done(st)
	}
	req, resp, err := call(ctx, c, http.MethodGet, path, nil, nil)
	if err != nil {
		return done(failStep(st, req, resp, err))
	}
	if why, ok := dashboards.Unsupported(resp.Status, resp.Body); ok {
		st.Outcome, st.Detail = wire.StepSkipped, why
		return done(st)
	}

	var query url.Values
	outcome, detail := wire.StepOK, want.String()
	switch resp.Status {
	case http.StatusNotFound:
	case http.StatusOK:
		cur, err := e.read(resp.Body, true)
		if err != nil {
			st.Outcome, st.Detail = wire.StepFailed, "cannot read the installed policy: "+err.Error()
			return done(st)
		}
		if cur.same(want) {
			st.Outcome, st.Detail = wire.StepAlreadyPresent, cur.String()
			r.lifecycle = true
			return done(st)
		}
		outcome, detail = wire.StepUpdated, cur.String()+" -> "+want.String()
		query = cur.version
		if e.versioned && query == nil && !dryRun {
			st.Outcome, st.Detail = wire.StepFailed, "the installed policy has no _seq_no/_primary_term to update it with"
			return done(st)
		}
	default:
		return done(failStep(st, req, resp, nil))
	}

	if dryRun {
		st.Outcome, st.Detail = wire.StepWouldApply, detail
		r.lifecycle = true
		return done(st)
	}
	req, resp, err = call(ctx, c, http.MethodPut, path, query, body)
	if err == nil && !ok2xx(resp) {
		if why, ok := dashboards.Unsupported(resp.Status, resp.Body); ok {
			st.Outcome, st.Detail = wire.StepSkipped, why
			return done(st)
		}
	}
	if err != nil || !ok2xx(resp) {
		return done(failStep(st, req, resp, err))
	}
	st.Outcome, st.Detail = outcome, detail
	r.lifecycle, r.changed = true, outcome == wire.StepUpdated
	return done(st)
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
			Name    string `json:"name"`
			Actions []struct {
				Rollover *struct {
					MinIndexAge         string `json:"min_index_age"`
					MinPrimaryShardSize string `json:"min_primary_shard_size"`
				} `json:"rollover"`
			} `json:"actions"`
			Transitions []struct {
				StateName  string `json:"state_name"`
				Conditions struct {
					MinIndexAge    string `json:"min_index_age"`
					MinRolloverAge string `json:"min_rollover_age"`
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
		for _, a := range s.Actions {
			if r := a.Rollover; r != nil && st.rollover == "" {
				st.rollover = r.MinIndexAge + "/" + r.MinPrimaryShardSize
			}
		}
		for _, t := range s.Transitions {
			if t.StateName == "delete" && st.deleteAge == "" {
				st.deleteAge = t.Conditions.MinRolloverAge
				if st.deleteAge == "" { // a policy from before rollover
					st.deleteAge = t.Conditions.MinIndexAge
				}
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

// ismCall posts body to an ISM endpoint over the alert and findings indices and reads
// its answer; a failure fills st.
func ismCall(ctx context.Context, c *cluster.Client, st *wire.Step, endpoint, id string) (ismAnswer, bool) {
	req, resp, err := call(ctx, c, http.MethodPost, "/_plugins/_ism/"+endpoint+"/"+managedPatterns, nil, map[string]any{"policy_id": id})
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

// attachISM puts existing alert and findings indices under the policy (its
// ism_template only catches indices created after it). After an update,
// indices already managed move to the new version with change_policy.
func attachISM(ctx context.Context, c *cluster.Client, id string, changed, dryRun bool) []wire.Step {
	st := wire.Step{Step: stepAttach, Target: managedPatterns}
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

// ilmEngine attaches through index settings alone: index.lifecycle.name
// and index.lifecycle.rollover_alias, which name one alias, so they go into
// each alias's own template and onto its backing indices (installAliases),
// never into the shared alerts template, where an index of another alias
// would get a rollover alias that is not its own.
var ilmEngine = policyEngine{name: "ILM", flavor: dashboards.FlavorElasticsearch, read: readILM}

// ilmPolicy is the part of an ILM policy install compares.
type ilmPolicy struct {
	Policy struct {
		Meta struct {
			Description string `json:"description"`
		} `json:"_meta"`
		Phases struct {
			Hot struct {
				Actions struct {
					Rollover *struct {
						MaxAge              string `json:"max_age"`
						MaxPrimaryShardSize string `json:"max_primary_shard_size"`
					} `json:"rollover"`
				} `json:"actions"`
			} `json:"hot"`
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
	st := policyState{description: p.Policy.Meta.Description, deleteAge: p.Policy.Phases.Delete.MinAge}
	if r := p.Policy.Phases.Hot.Actions.Rollover; r != nil {
		st.rollover = r.MaxAge + "/" + r.MaxPrimaryShardSize
	}
	return st, nil
}
