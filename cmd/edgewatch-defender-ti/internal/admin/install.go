package admin

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/engine"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/dashboards"
	"github.com/edgewatch/edgewatch/dashboards/importer"
	"github.com/edgewatch/edgewatch/plugin"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

func detectionOf(a *wire.StackArgs) string {
	if a.Detection == "" {
		return "default"
	}
	return a.Detection
}

// alertIndex is the configured alert index, or "" for the default.
func alertIndex(s wire.Settings) string {
	if s.Cluster != nil {
		return s.Cluster.AlertIndex
	}
	return ""
}

// dashboardsTarget returns the saved-objects target, nil when no URL was
// given. It checks the product matches the cluster.
func dashboardsTarget(a *wire.StackArgs, secrets map[string]string) (*importer.Target, error) {
	if a.DashboardsURL != "" && a.KibanaURL != "" {
		return nil, fmt.Errorf("%w: give --dashboards (OpenSearch Dashboards) or --kibana, not both", engine.ErrConfig)
	}
	if a.DashboardsURL == "" && a.KibanaURL == "" {
		if a.Space != "" || a.Tenant != "" {
			return nil, fmt.Errorf("%w: --space and --tenant need --kibana or --dashboards", engine.ErrConfig)
		}
		return nil, nil
	}
	t := &importer.Target{Space: a.Space, Tenant: a.Tenant}
	switch {
	case a.DashboardsURL != "":
		if a.Settings.Source != string(cluster.OpenSearch) {
			return nil, fmt.Errorf("%w: --dashboards is OpenSearch Dashboards: use it with --opensearch (Kibana goes with --elasticsearch: --kibana)", engine.ErrConfig)
		}
		t.Kind, t.URL = importer.OpenSearchDashboards, a.DashboardsURL
	default:
		if a.Settings.Source != string(cluster.Elasticsearch) {
			return nil, fmt.Errorf("%w: --kibana goes with --elasticsearch (OpenSearch Dashboards: --dashboards)", engine.ErrConfig)
		}
		t.Kind, t.URL = importer.Kibana, a.KibanaURL
	}
	var cl wire.ClusterSettings
	if a.Settings.Cluster != nil {
		cl = *a.Settings.Cluster
	}
	switch {
	case a.DashboardsUsername != "":
		t.Username, t.Password = a.DashboardsUsername, secrets[wire.SecretDashboardsPassword]
	case cl.Username != "":
		t.Username, t.Password = cl.Username, secrets[wire.SecretPassword]
	case t.Kind == importer.Kibana:
		t.APIKey = secrets[wire.SecretAPIKey]
	}
	hc, err := httpClient(cl)
	if err != nil {
		return nil, err
	}
	t.Client = hc
	return t, nil
}

// httpClient is the client for Dashboards / Kibana: the cluster's CA file
// and skip-verify setting, a two-minute timeout.
func httpClient(cl wire.ClusterSettings) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if cl.CAFile != "" || cl.InsecureSkipVerify {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cl.InsecureSkipVerify} //nolint:gosec // opt-in, testing only
		if cl.CAFile != "" {
			pem, err := os.ReadFile(cl.CAFile)
			if err != nil {
				return nil, fmt.Errorf("%w: CA file: %w", engine.ErrConfig, err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("%w: CA file %s holds no PEM certificate", engine.ErrConfig, cl.CAFile)
			}
			cfg.RootCAs = pool
		}
		tr.TLSClientConfig = cfg
	}
	return &http.Client{Transport: tr, Timeout: 2 * time.Minute}, nil
}

func triggerParams(a *wire.InstallArgs, secrets map[string]string) (dashboards.TriggerParams, error) {
	p := dashboards.TriggerParams{URL: a.EdgewatchURL, Token: secrets[wire.SecretWebhookToken],
		Detection: detectionOf(&a.StackArgs), Interval: time.Duration(a.TriggerInterval)}
	if a.EdgewatchURL == "" {
		return p, fmt.Errorf("%w: --triggers needs --edgewatch-url (edgewatch serve's URL as the cluster reaches it)", engine.ErrConfig)
	}
	if p.Token == "" {
		return p, fmt.Errorf("%w: --triggers needs the webhook token (--edgewatch-token-file or $EDGEWATCH_WEBHOOK_TOKEN)", engine.ErrConfig)
	}
	// Render once to validate before anything changes.
	if _, err := dashboards.WatcherDefinition(p); err != nil {
		return p, fmt.Errorf("%w: %w", engine.ErrConfig, err)
	}
	return p, nil
}

func (d Deps) install(ctx context.Context, a wire.InstallArgs, secrets map[string]string, s plugin.Stream) (wire.StepsResult, error) {
	if err := wire.ValidateDetectionName(detectionOf(&a.StackArgs)); err != nil {
		return wire.StepsResult{}, fmt.Errorf("%w: --detection: %w", engine.ErrConfig, err)
	}
	progress := progressTo(ctx, s)
	days := a.RetentionDays
	if days == 0 {
		days = dashboards.DefaultRetentionDays
	}
	if _, err := dashboards.RetentionPolicy(dashboards.FlavorOpenSearch, days); err != nil {
		return wire.StepsResult{}, fmt.Errorf("%w: --retention-days: %w", engine.ErrConfig, err)
	}
	target, err := dashboardsTarget(&a.StackArgs, secrets)
	if err != nil {
		return wire.StepsResult{}, err
	}
	var tp dashboards.TriggerParams
	if a.Triggers {
		if tp, err = triggerParams(&a, secrets); err != nil {
			return wire.StepsResult{}, err
		}
	}
	c, err := d.connect(ctx, wire.OpInstall.Name, a.Settings, secrets)
	if err != nil {
		return wire.StepsResult{}, err
	}
	res := &wire.StepsResult{Operation: wire.OpInstall.Name, Cluster: c.Info().String(), DryRun: a.DryRun}

	progress(wire.Progress{Stage: "install", Message: "index templates and indices"})
	idx := alertIndex(a.Settings)
	steps, _ := c.Install(ctx, cluster.InstallOptions{DryRun: a.DryRun, AlertIndex: idx})
	for _, s := range steps {
		res.Add(wire.Step{Step: s.Step, Target: s.Target, Outcome: s.Outcome, Detail: s.Detail})
	}

	progress(wire.Progress{Stage: "install", Message: "retention policy"})
	for _, s := range installRetention(ctx, c, days, a.DryRun) {
		res.Add(s)
	}

	progress(wire.Progress{Stage: "install", Message: "saved objects"})
	res.Add(importSavedObjects(ctx, target, a.DryRun))

	if a.Triggers {
		progress(wire.Progress{Stage: "install", Message: "triggers"})
		for _, s := range installTriggers(ctx, c, tp, a.DryRun) {
			res.Add(s)
		}
	} else {
		res.Add(wire.Step{Step: "trigger", Target: "schedule", Outcome: wire.StepSkipped, Detail: "not asked (--triggers --edgewatch-url URL)"})
	}
	return *res, nil
}

// call sends one request; only a transport failure is an error.
func call(ctx context.Context, c *cluster.Client, method, path string, q url.Values, body any) (cluster.Request, *cluster.Response, error) {
	req := cluster.Request{Method: method, Path: path, Query: q}
	switch b := body.(type) {
	case nil:
	case []byte:
		req.Body = b
	default:
		req.Body = cluster.JSON(b)
	}
	resp, err := c.Do(ctx, req)
	return req, resp, err
}

// serverReason renders an error answer as "400 type: reason".
func serverReason(req cluster.Request, resp *cluster.Response) string {
	e := cluster.StatusError("", req, resp.Status, resp.Body)
	if e.Type != "" {
		return fmt.Sprintf("%d %s: %s", e.Status, e.Type, e.Reason)
	}
	return fmt.Sprintf("%d: %s", e.Status, e.Reason)
}

func ok2xx(resp *cluster.Response) bool { return resp.Status >= 200 && resp.Status <= 299 }

// failStep fills a failed step from a transport error or an error answer.
func failStep(s wire.Step, req cluster.Request, resp *cluster.Response, err error) wire.Step {
	s.Outcome = wire.StepFailed
	if err != nil {
		s.Detail = err.Error()
	} else {
		s.Detail = serverReason(req, resp)
	}
	return s
}

// ---- retention ----

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

// ---- saved objects ----

func bundleKind(t *importer.Target) string {
	if t.Kind == importer.Kibana {
		return dashboards.KindKibana
	}
	return dashboards.KindOpenSearchDashboards
}

func targetName(t *importer.Target) string {
	u, err := url.Parse(t.URL)
	name := string(t.Kind) + " "
	if err == nil {
		name += u.Redacted()
	} else {
		name += "(unparsable URL)"
	}
	if t.Space != "" {
		name += " space " + t.Space
	}
	if t.Tenant != "" {
		name += " tenant " + t.Tenant
	}
	return name
}

// savedObjectsStep starts the saved-objects step of install and uninstall:
// it names the target and loads the bundle for it with its object count. ok
// is false when st is already final (skipped: no target; failed: bad bundle).
func savedObjectsStep(t *importer.Target) (st wire.Step, bundle []byte, objects int, ok bool) {
	st = wire.Step{Step: "saved objects", Target: "dashboards"}
	if t == nil {
		st.Outcome, st.Detail = wire.StepSkipped, "no --dashboards or --kibana URL given"
		return st, nil, 0, false
	}
	st.Target = targetName(t)
	bundle, err := dashboards.SavedObjects(bundleKind(t))
	if err == nil {
		var refs []importer.ObjectRef
		refs, err = importer.RefsOf(bundle)
		objects = len(refs)
	}
	if err != nil {
		st.Outcome, st.Detail = wire.StepFailed, err.Error()
		return st, nil, 0, false
	}
	return st, bundle, objects, true
}

func importSavedObjects(ctx context.Context, t *importer.Target, dryRun bool) wire.Step {
	st, bundle, objects, ok := savedObjectsStep(t)
	if !ok {
		return st
	}
	if dryRun {
		st.Outcome, st.Detail = wire.StepWouldApply, fmt.Sprintf("import %d objects with overwrite (fixed ids)", objects)
		return st
	}
	res, err := importer.Import(ctx, *t, bundle, true)
	if err != nil {
		st.Outcome, st.Detail = wire.StepFailed, err.Error()
		return st
	}
	st.Outcome = wire.StepOK
	st.Detail = fmt.Sprintf("%d of %d objects imported with overwrite (fixed ids: a re-import replaces them); dashboard id %s",
		res.SuccessCount, objects, dashboards.DashboardID)
	return st
}

// ---- triggers ----

func installTriggers(ctx context.Context, c *cluster.Client, p dashboards.TriggerParams, dryRun bool) []wire.Step {
	if c.Flavor() == cluster.Elasticsearch {
		return []wire.Step{installWatch(ctx, c, p, dryRun)}
	}
	return installAlerting(ctx, c, p, dryRun)
}

func installWatch(ctx context.Context, c *cluster.Client, p dashboards.TriggerParams, dryRun bool) wire.Step {
	id := dashboards.WatchID(p.Detection)
	st := wire.Step{Step: "trigger", Target: "watcher watch " + id}
	body, err := dashboards.WatcherDefinition(p)
	if err != nil {
		st.Outcome, st.Detail = wire.StepFailed, err.Error()
		return st
	}
	path := cluster.DocPath("_watcher", "watch", id)
	req, resp, err := call(ctx, c, http.MethodGet, path, nil, nil)
	if err != nil {
		return failStep(st, req, resp, err)
	}
	if why, ok := dashboards.Unsupported(resp.Status, resp.Body); ok {
		st.Outcome, st.Detail = wire.StepSkipped, why
		return st
	}
	exists := resp.Status == http.StatusOK
	if !exists && resp.Status != http.StatusNotFound {
		return failStep(st, req, resp, nil)
	}
	if dryRun {
		st.Outcome, st.Detail = wire.StepWouldApply, "every "+intervalText(p.Interval)
		return st
	}
	req, resp, err = call(ctx, c, http.MethodPut, path, nil, body)
	if err != nil {
		return failStep(st, req, resp, err)
	}
	if why, ok := dashboards.Unsupported(resp.Status, resp.Body); ok {
		st.Outcome, st.Detail = wire.StepSkipped, why
		return st
	}
	if !ok2xx(resp) {
		return failStep(st, req, resp, nil)
	}
	st.Outcome, st.Detail = wire.StepOK, "every "+intervalText(p.Interval)
	if exists {
		st.Outcome, st.Detail = wire.StepUpdated, "re-applied; every "+intervalText(p.Interval)
	}
	return st
}

func intervalText(d time.Duration) string {
	if d == 0 {
		d = dashboards.DefaultTriggerInterval
	}
	return d.String()
}

func channelID(p dashboards.TriggerParams) string {
	if p.ChannelID != "" {
		return p.ChannelID
	}
	return "edgewatch-" + p.Detection
}

func installAlerting(ctx context.Context, c *cluster.Client, p dashboards.TriggerParams, dryRun bool) []wire.Step {
	cid := channelID(p)
	ch := wire.Step{Step: "trigger", Target: "notifications channel " + cid}
	mon := wire.Step{Step: "trigger", Target: "alerting monitor " + dashboards.MonitorName(p.Detection)}
	chBody, err := dashboards.NotificationChannel(p)
	if err != nil {
		ch.Outcome, ch.Detail = wire.StepFailed, err.Error()
		return []wire.Step{ch, skippedMonitor(mon)}
	}
	monBody, err := dashboards.AlertingMonitor(p)
	if err != nil {
		mon.Outcome, mon.Detail = wire.StepFailed, err.Error()
		return []wire.Step{ch, mon}
	}

	// Channel.
	chPath := cluster.DocPath("_plugins", "_notifications", "configs", cid)
	req, resp, err := call(ctx, c, http.MethodGet, chPath, nil, nil)
	if err != nil {
		return []wire.Step{failStep(ch, req, resp, err), skippedMonitor(mon)}
	}
	if why, ok := dashboards.Unsupported(resp.Status, resp.Body); ok {
		ch.Outcome, ch.Detail = wire.StepSkipped, why
		return []wire.Step{ch, skippedMonitor(mon)}
	}
	chExists := resp.Status == http.StatusOK
	if !chExists && resp.Status != http.StatusNotFound {
		return []wire.Step{failStep(ch, req, resp, nil), skippedMonitor(mon)}
	}
	switch {
	case dryRun:
		ch.Outcome = wire.StepWouldApply
	case chExists:
		var full map[string]any
		_ = json.Unmarshal(chBody, &full)
		req, resp, err = call(ctx, c, http.MethodPut, chPath, nil, map[string]any{"config": full["config"]})
		if err != nil || !ok2xx(resp) {
			return []wire.Step{failStep(ch, req, resp, err), skippedMonitor(mon)}
		}
		ch.Outcome, ch.Detail = wire.StepUpdated, "re-applied"
	default:
		req, resp, err = call(ctx, c, http.MethodPost, "/_plugins/_notifications/configs", nil, chBody)
		if err != nil || !ok2xx(resp) {
			if err == nil {
				if why, ok := dashboards.Unsupported(resp.Status, resp.Body); ok {
					ch.Outcome, ch.Detail = wire.StepSkipped, why
					return []wire.Step{ch, skippedMonitor(mon)}
				}
			}
			return []wire.Step{failStep(ch, req, resp, err), skippedMonitor(mon)}
		}
		ch.Outcome = wire.StepOK
	}

	// Monitor.
	monID, step, ok := findMonitor(ctx, c, mon, dashboards.MonitorName(p.Detection))
	if !ok {
		return []wire.Step{ch, step}
	}
	switch {
	case dryRun:
		mon.Outcome, mon.Detail = wire.StepWouldApply, "every "+intervalText(p.Interval)
	case monID != "":
		req, resp, err = call(ctx, c, http.MethodPut, cluster.DocPath("_plugins", "_alerting", "monitors", monID), nil, monBody)
		if err != nil || !ok2xx(resp) {
			return []wire.Step{ch, failStep(mon, req, resp, err)}
		}
		mon.Outcome, mon.Detail = wire.StepUpdated, "re-applied; every "+intervalText(p.Interval)
	default:
		req, resp, err = call(ctx, c, http.MethodPost, "/_plugins/_alerting/monitors", nil, monBody)
		if err != nil {
			return []wire.Step{ch, failStep(mon, req, resp, err)}
		}
		if why, ok := dashboards.Unsupported(resp.Status, resp.Body); ok {
			mon.Outcome, mon.Detail = wire.StepSkipped, why
			return []wire.Step{ch, mon}
		}
		if !ok2xx(resp) {
			return []wire.Step{ch, failStep(mon, req, resp, nil)}
		}
		mon.Outcome, mon.Detail = wire.StepOK, "every "+intervalText(p.Interval)
	}
	return []wire.Step{ch, mon}
}

func skippedMonitor(s wire.Step) wire.Step {
	s.Outcome, s.Detail = wire.StepSkipped, "needs the notifications channel"
	return s
}

// findMonitor looks an Alerting monitor up by name. ok is false when the
// step ended (skipped or failed, in step).
func findMonitor(ctx context.Context, c *cluster.Client, st wire.Step, name string) (id string, step wire.Step, ok bool) {
	q := map[string]any{"size": 1, "query": map[string]any{"match_phrase": map[string]any{"monitor.name": name}}}
	req, resp, err := call(ctx, c, http.MethodPost, "/_plugins/_alerting/monitors/_search", nil, q)
	if err != nil {
		return "", failStep(st, req, resp, err), false
	}
	if why, unsup := dashboards.Unsupported(resp.Status, resp.Body); unsup {
		st.Outcome, st.Detail = wire.StepSkipped, why
		return "", st, false
	}
	if resp.Status == http.StatusNotFound {
		return "", st, true // no monitor index yet
	}
	if !ok2xx(resp) {
		return "", failStep(st, req, resp, nil), false
	}
	var r struct {
		Hits struct {
			Hits []struct {
				ID     string `json:"_id"`
				Source struct {
					Name    string `json:"name"`
					Monitor struct {
						Name string `json:"name"`
					} `json:"monitor"`
				} `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	_ = json.Unmarshal(resp.Body, &r)
	for _, h := range r.Hits.Hits {
		if h.Source.Name == name || h.Source.Monitor.Name == name {
			return h.ID, st, true
		}
	}
	return "", st, true
}
