package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/dashboards"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

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
	exists, _, st, done := lookup(ctx, c, st, path)
	if done {
		return st
	}
	if dryRun {
		st.Outcome, st.Detail = wire.StepWouldApply, "every "+intervalText(p.Interval)
		return st
	}
	req, resp, err := call(ctx, c, http.MethodPut, path, nil, body)
	st.Outcome, st.Detail = wire.StepOK, "every "+intervalText(p.Interval)
	if exists {
		st.Outcome, st.Detail = wire.StepUpdated, "re-applied; every "+intervalText(p.Interval)
	}
	return putOutcome(st, req, resp, err)
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

// installAlerting installs OpenSearch Alerting's trigger: the
// notifications channel that calls edgewatch serve, then the monitor that
// fires it (skipped when the channel is not in place).
func installAlerting(ctx context.Context, c *cluster.Client, p dashboards.TriggerParams, dryRun bool) []wire.Step {
	ch := installChannel(ctx, c, p, dryRun)
	mon := wire.Step{Step: "trigger", Target: "alerting monitor " + dashboards.MonitorName(p.Detection)}
	switch ch.Outcome {
	case wire.StepOK, wire.StepUpdated, wire.StepWouldApply:
		return []wire.Step{ch, installMonitor(ctx, c, mon, p, dryRun)}
	}
	return []wire.Step{ch, skippedMonitor(mon)}
}

// installChannel creates the notifications channel, or re-applies its
// config when it exists.
func installChannel(ctx context.Context, c *cluster.Client, p dashboards.TriggerParams, dryRun bool) wire.Step {
	cid := channelID(p)
	st := wire.Step{Step: "trigger", Target: "notifications channel " + cid}
	body, err := dashboards.NotificationChannel(p)
	if err != nil {
		st.Outcome, st.Detail = wire.StepFailed, err.Error()
		return st
	}
	path := cluster.DocPath("_plugins", "_notifications", "configs", cid)
	exists, _, st, done := lookup(ctx, c, st, path)
	var req cluster.Request
	var resp *cluster.Response
	switch {
	case done:
		return st
	case dryRun:
		st.Outcome = wire.StepWouldApply
		return st
	case exists:
		var full struct {
			Config json.RawMessage `json:"config"`
		}
		if err := json.Unmarshal(body, &full); err != nil {
			st.Outcome, st.Detail = wire.StepFailed, "bundled notifications channel: "+err.Error()
			return st
		}
		req, resp, err = call(ctx, c, http.MethodPut, path, nil, map[string]any{"config": full.Config})
		st.Outcome, st.Detail = wire.StepUpdated, "re-applied"
	default:
		req, resp, err = call(ctx, c, http.MethodPost, "/_plugins/_notifications/configs", nil, body)
		st.Outcome = wire.StepOK
	}
	return putOutcome(st, req, resp, err)
}

// installMonitor creates the Alerting monitor, or re-applies it when one of
// its name exists.
func installMonitor(ctx context.Context, c *cluster.Client, st wire.Step, p dashboards.TriggerParams, dryRun bool) wire.Step {
	body, err := dashboards.AlertingMonitor(p)
	if err != nil {
		st.Outcome, st.Detail = wire.StepFailed, err.Error()
		return st
	}
	ids, found, ok := findMonitor(ctx, c, st, dashboards.MonitorName(p.Detection))
	if !ok {
		return found
	}
	dups := ""
	if len(ids) > 1 {
		dups = fmt.Sprintf("; %d monitors have this name (%s): the others are duplicates, uninstall removes them all", len(ids), strings.Join(ids, ", "))
	}
	var req cluster.Request
	var resp *cluster.Response
	switch {
	case dryRun:
		st.Outcome, st.Detail = wire.StepWouldApply, "every "+intervalText(p.Interval)+dups
		return st
	case len(ids) > 0:
		req, resp, err = call(ctx, c, http.MethodPut, cluster.DocPath("_plugins", "_alerting", "monitors", ids[0]), nil, body)
		st.Outcome, st.Detail = wire.StepUpdated, "re-applied to "+ids[0]+"; every "+intervalText(p.Interval)+dups
	default:
		req, resp, err = call(ctx, c, http.MethodPost, "/_plugins/_alerting/monitors", nil, body)
		st.Outcome, st.Detail = wire.StepOK, "every "+intervalText(p.Interval)
	}
	return putOutcome(st, req, resp, err)
}

// putOutcome is st, with its outcome when the write succeeded, skipped when
// the API is not served, and failed with the reason otherwise.
func putOutcome(st wire.Step, req cluster.Request, resp *cluster.Response, err error) wire.Step {
	switch {
	case err != nil:
		return failStep(st, req, resp, err)
	case ok2xx(resp):
		return st
	}
	if why, ok := dashboards.Unsupported(resp.Status, resp.Body); ok {
		st.Outcome, st.Detail = wire.StepSkipped, why
		return st
	}
	return failStep(st, req, resp, nil)
}

func skippedMonitor(s wire.Step) wire.Step {
	s.Outcome, s.Detail = wire.StepSkipped, "needs the notifications channel"
	return s
}

// monitorSearchSize bounds the exact-name lookup; more monitors of one
// name than this would be a fault of their own.
const monitorSearchSize = 100

// alertingNameIgnoreAbove is the ignore_above of monitor.name.keyword in
// Alerting's config index mapping (alerting core
// resources/mappings/scheduled-jobs.json): a longer name is not indexed
// there and cannot be found exactly.
const alertingNameIgnoreAbove = 256

// monitorQuery finds the monitors named exactly name: a term query on the
// keyword sub-field of monitor.name (a match_phrase on the analysed text
// also matches "edgewatch-default-x" for "edgewatch-default").
func monitorQuery(name string) map[string]any {
	return map[string]any{
		"size": monitorSearchSize,
		"query": map[string]any{"bool": map[string]any{"filter": []any{
			map[string]any{"term": map[string]any{"monitor.name.keyword": name}},
		}}},
	}
}

// findMonitor looks the Alerting monitors named exactly name up. ids are in
// the order the search returned them (several when an older install
// created duplicates). ok is false when the step ended (skipped or failed,
// in step).
func findMonitor(ctx context.Context, c *cluster.Client, st wire.Step, name string) (ids []string, step wire.Step, ok bool) {
	if len(name) > alertingNameIgnoreAbove {
		st.Outcome, st.Detail = wire.StepFailed, fmt.Sprintf("monitor name %q is longer than %d bytes: Alerting does not index it for an exact lookup", name, alertingNameIgnoreAbove)
		return nil, st, false
	}
	req, resp, err := call(ctx, c, http.MethodPost, "/_plugins/_alerting/monitors/_search", nil, monitorQuery(name))
	if err != nil {
		return nil, failStep(st, req, resp, err), false
	}
	if why, unsup := dashboards.Unsupported(resp.Status, resp.Body); unsup {
		st.Outcome, st.Detail = wire.StepSkipped, why
		return nil, st, false
	}
	if resp.Status == http.StatusNotFound {
		return nil, st, true // no monitor index yet
	}
	if !ok2xx(resp) {
		return nil, failStep(st, req, resp, nil), false
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
	if err := json.Unmarshal(resp.Body, &r); err != nil {
		st.Outcome, st.Detail = wire.StepFailed, "cannot read the monitor search: "+err.Error()
		return nil, st, false
	}
	// The term query is exact already; the names are compared again so an
	// answer that is not what was asked for never picks another monitor.
	for _, h := range r.Hits.Hits {
		if h.Source.Name == name || h.Source.Monitor.Name == name {
			ids = append(ids, h.ID)
		}
	}
	return ids, st, true
}
