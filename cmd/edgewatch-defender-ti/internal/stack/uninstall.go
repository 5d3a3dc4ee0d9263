package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/dashboards"
	"github.com/edgewatch/edgewatch/dashboards/importer"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

func uninstallTriggers(ctx context.Context, c *cluster.Client, detection string, dry bool) []wire.Step {
	if c.Flavor() == cluster.Elasticsearch {
		id := dashboards.WatchID(detection)
		st := wire.Step{Step: "trigger", Target: "watcher watch " + id}
		return []wire.Step{deleteThing(ctx, c, st, cluster.DocPath("_watcher", "watch", id), dry)}
	}
	name := dashboards.MonitorName(detection)
	mon := wire.Step{Step: "trigger", Target: "alerting monitor " + name}
	var out []wire.Step
	if ids, step, ok := findMonitor(ctx, c, mon, name); !ok {
		out = append(out, step)
	} else if len(ids) == 0 {
		mon.Outcome = wire.StepAbsent
		out = append(out, mon)
	} else {
		// Every monitor of the exact name: duplicates an older install
		// created go too.
		for _, id := range ids {
			st := mon
			if len(ids) > 1 {
				st.Target += " (" + id + ")"
			}
			out = append(out, deleteThing(ctx, c, st, cluster.DocPath("_plugins", "_alerting", "monitors", id), dry))
		}
	}
	cid := channelID(dashboards.TriggerParams{Detection: detection})
	ch := wire.Step{Step: "trigger", Target: "notifications channel " + cid}
	return append(out, deleteThing(ctx, c, ch, cluster.DocPath("_plugins", "_notifications", "configs", cid), dry))
}

// deleteThing GETs path and DELETEs it when present: removed, absent,
// skipped (the API is not served) or failed.
func deleteThing(ctx context.Context, c *cluster.Client, st wire.Step, path string, dry bool) wire.Step {
	_, st, ok := present(ctx, c, st, path)
	switch {
	case !ok:
		return st
	case dry:
		st.Outcome = wire.StepWouldRemove
		return st
	}
	return remove(ctx, c, st, path)
}

func removeSavedObjects(ctx context.Context, t *importer.Target, dry bool) wire.Step {
	st, bundle, objects, ok := savedObjectsStep(t)
	if !ok {
		return st
	}
	if dry {
		st.Outcome, st.Detail = wire.StepWouldRemove, fmt.Sprintf("%d objects by id", objects)
		return st
	}
	outs, err := importer.Uninstall(ctx, *t, bundle)
	deleted, absent := 0, 0
	for _, o := range outs {
		switch {
		case o.Deleted:
			deleted++
		case o.Absent:
			absent++
		}
	}
	switch {
	case err != nil:
		st.Outcome, st.Detail = wire.StepFailed, fmt.Sprintf("%d deleted, %d absent: %v", deleted, absent, err)
	case deleted == 0:
		st.Outcome, st.Detail = wire.StepAbsent, fmt.Sprintf("none of the %d objects was there", objects)
	default:
		st.Outcome, st.Detail = wire.StepRemoved, fmt.Sprintf("%d deleted, %d absent", deleted, absent)
	}
	return st
}

// uninstallRetention detaches the policy from the alert indices, then
// deletes it (ILM refuses to delete a policy still in use).
func uninstallRetention(ctx context.Context, c *cluster.Client, dry bool) []wire.Step {
	es := c.Flavor() == cluster.Elasticsearch
	flavor, kind := dashboards.FlavorOpenSearch, "ISM "
	if es {
		flavor, kind = dashboards.FlavorElasticsearch, "ILM "
	}
	st := wire.Step{Step: stepRetention, Target: kind + dashboards.RetentionPolicyID}
	det := wire.Step{Step: "retention detach", Target: managedPatterns}
	path, err := dashboards.RetentionPolicyPath(flavor)
	if err != nil {
		st.Outcome, st.Detail = wire.StepFailed, err.Error()
		return []wire.Step{st}
	}

	_, st, ok := present(ctx, c, st, path)
	switch {
	case !ok:
		return []wire.Step{st}
	case dry:
		st.Outcome, det.Outcome = wire.StepWouldRemove, wire.StepWouldRemove
		return []wire.Step{det, st}
	}
	// Detach.
	var req cluster.Request
	var resp *cluster.Response
	if es {
		req, resp, err = call(ctx, c, http.MethodPost, "/"+managedPatterns+"/_ilm/remove", nil, nil)
	} else {
		req, resp, err = call(ctx, c, http.MethodPost, "/_plugins/_ism/remove/"+managedPatterns, nil, nil)
	}
	switch {
	case err != nil || (!ok2xx(resp) && resp.Status != http.StatusNotFound):
		det = failStep(det, req, resp, err)
	case resp.Status == http.StatusNotFound: // no alert index to detach
		det.Outcome = wire.StepRemoved
	default:
		det = detached(det, resp.Body)
	}
	return []wire.Step{det, remove(ctx, c, st, path)}
}

// detached reads the answer of ISM's remove or ILM's _ilm/remove into the
// detach step: removed, or failed with the indices that kept the policy
// (an index without the policy is not a failure).
func detached(st wire.Step, body []byte) wire.Step {
	var r struct {
		ismAnswer
		HasFailures   bool     `json:"has_failures"`   // ILM
		FailedIndexes []string `json:"failed_indexes"` // ILM
	}
	if err := json.Unmarshal(body, &r); err != nil {
		st.Outcome, st.Detail = wire.StepFailed, "cannot read the answer: "+err.Error()
		return st
	}
	st.Outcome = wire.StepRemoved
	switch {
	case r.HasFailures:
		st.Outcome, st.Detail = wire.StepFailed, "could not detach from "+strings.Join(r.FailedIndexes, ", ")
	case r.Failures:
		var fails []string
		for _, f := range r.FailedIndices {
			if !strings.Contains(strings.ToLower(f.Reason), "does not have a policy") {
				fails = append(fails, f.IndexName+": "+f.Reason)
			}
		}
		if len(fails) > 0 {
			st.Outcome, st.Detail = wire.StepFailed, strings.Join(fails, "; ")
		}
	case r.Updated > 0:
		st.Detail = fmt.Sprintf("%d indices", r.Updated)
	}
	return st
}

// removeTemplate deletes an index template install put, and leaves one
// that edgewatch does not manage.
func removeTemplate(ctx context.Context, c *cluster.Client, name string, dry bool) wire.Step {
	st := wire.Step{Step: "index template", Target: name}
	path := cluster.DocPath("_index_template", name)
	resp, st, ok := present(ctx, c, st, path)
	if !ok {
		return st
	}
	var got struct {
		IndexTemplates []struct {
			IndexTemplate struct {
				Meta struct {
					ManagedBy string `json:"managed_by"`
				} `json:"_meta"`
			} `json:"index_template"`
		} `json:"index_templates"`
	}
	if err := json.Unmarshal(resp.Body, &got); err != nil {
		st.Outcome, st.Detail = wire.StepFailed, "cannot read the installed template: "+err.Error()
		return st
	}
	if len(got.IndexTemplates) == 0 {
		st.Outcome = wire.StepAbsent
		return st
	}
	if m := got.IndexTemplates[0].IndexTemplate.Meta.ManagedBy; m != "edgewatch" {
		st.Outcome, st.Detail = wire.StepSkipped, fmt.Sprintf("not managed by edgewatch (_meta.managed_by %q): left alone", m)
		return st
	}
	if dry {
		st.Outcome = wire.StepWouldRemove
		return st
	}
	return remove(ctx, c, st, path)
}

// removeDerivedTemplates removes every alert template derived from the
// bundled alerts or findings template (AlertTemplateSpec:
// _meta.derived_from), e.g. the templates install put for the write alias
// --alert-index ops-alerts and its findings alias.
func removeDerivedTemplates(ctx context.Context, c *cluster.Client, dry bool) []wire.Step {
	req := cluster.Request{Method: http.MethodGet, Path: "/_index_template/edgewatch-*"}
	var got struct {
		IndexTemplates []struct {
			Name          string `json:"name"`
			IndexTemplate struct {
				Meta map[string]any `json:"_meta"`
			} `json:"index_template"`
		} `json:"index_templates"`
	}
	if err := c.Call(ctx, "list index templates", req, &got); err != nil && !cluster.IsNotFound(err) {
		return []wire.Step{{Step: "index template", Target: "edgewatch-* (derived alert templates)", Outcome: wire.StepFailed, Detail: reasonOf(err)}}
	}
	var out []wire.Step
	for _, t := range got.IndexTemplates {
		m := t.IndexTemplate.Meta
		if from := m[metaDerivedFrom]; (from == dashboards.AlertsTemplate || from == dashboards.FindingsTemplate) && m["managed_by"] == managedBy {
			out = append(out, removeTemplate(ctx, c, t.Name, dry))
		}
	}
	return out
}

// removeData deletes (deleteData) or reports as kept the alert indices,
// the indicator feeds and the state index.
func removeData(ctx context.Context, c *cluster.Client, o UninstallOptions, dry bool) []wire.Step {
	cl, deleteData := o, o.DeleteData
	scoped := cl.AlertIndex != "" || cl.IndicatorFeed != ""
	type group struct {
		step, target, pattern string
		filter                func(string) bool
		del                   bool
		why                   string
	}
	groups := []group{
		{step: "alert indices", target: alertsPattern, pattern: alertsPattern, del: deleteData},
		{step: "indicator indices", target: wire.IndicatorIndexPrefix + "*", pattern: wire.IndicatorIndexPrefix + "*", del: deleteData},
		{step: "state index", target: wire.StateIndex, pattern: wire.StateIndex, del: deleteData && !scoped},
	}
	// The findings of grouping detections go with their alerts.
	groups = append(groups[:1], append([]group{{step: "finding indices", target: wire.FindingsPattern, pattern: wire.FindingsPattern, del: deleteData}}, groups[1:]...)...)
	if cl.AlertIndex != "" {
		groups[0].target, groups[0].pattern = cl.AlertIndex, cl.AlertIndex
		groups[1].target, groups[1].pattern = wire.FindingsAlias(cl.AlertIndex), wire.FindingsAlias(cl.AlertIndex)
	} else if cl.IndicatorFeed != "" {
		groups[0].del, groups[0].why = false, "scoped to --indicator-feed; give --alert-index to delete an alert index"
		groups[1].del, groups[1].why = false, groups[0].why
	}
	if cl.IndicatorFeed != "" {
		feed := cl.IndicatorFeed
		groups[2].target = wire.FeedAlias(feed)
		groups[2].pattern = wire.FeedAlias(feed) + "-*"
		groups[2].filter = func(idx string) bool {
			// edgewatch-indicators-<feed>-<stamp>, not a feed whose name
			// merely starts with <feed>-.
			rest := strings.TrimPrefix(idx, wire.FeedAlias(feed)+"-")
			return len(rest) == 19 && strings.HasSuffix(rest, "z") && rest[8] == 't'
		}
	} else if cl.AlertIndex != "" {
		groups[2].del, groups[2].why = false, "scoped to --alert-index; give --indicator-feed to delete a feed"
	}
	if deleteData && scoped {
		groups[3].why = "scoped uninstall (--alert-index/--indicator-feed): the state index is shared"
	}
	var out []wire.Step
	for _, g := range groups {
		st := wire.Step{Step: g.step, Target: g.target}
		names, err := listIndices(ctx, c, g.pattern)
		if err != nil {
			st.Outcome, st.Detail = wire.StepFailed, err.Error()
			out = append(out, st)
			continue
		}
		if g.filter != nil {
			kept := names[:0]
			for _, n := range names {
				if g.filter(n) {
					kept = append(kept, n)
				}
			}
			names = kept
		}
		switch {
		case len(names) == 0:
			st.Outcome = wire.StepAbsent
		case !g.del:
			st.Outcome = wire.StepKept
			st.Detail = fmt.Sprintf("%d indices kept", len(names))
			switch {
			case g.why != "":
				st.Detail += ": " + g.why
			case !deleteData:
				st.Detail += " (--delete-data deletes them)"
			}
		case dry:
			st.Outcome, st.Detail = wire.StepWouldRemove, strings.Join(names, ", ")
		default:
			req, resp, err := call(ctx, c, http.MethodDelete, "/"+strings.Join(names, ","), nil, nil)
			if err != nil || !ok2xx(resp) {
				st = failStep(st, req, resp, err)
			} else {
				st.Outcome, st.Detail = wire.StepRemoved, fmt.Sprintf("%d indices: %s", len(names), strings.Join(names, ", "))
			}
		}
		out = append(out, st)
	}
	return out
}
