package stack

import (
	"context"
	"encoding/json"
	"net/http"
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
	id, found, ok := findMonitor(ctx, c, st, dashboards.MonitorName(p.Detection))
	if !ok {
		return found
	}
	var req cluster.Request
	var resp *cluster.Response
	switch {
	case dryRun:
		st.Outcome, st.Detail = wire.StepWouldApply, "every "+intervalText(p.Interval)
		return st
	case id != "":
		req, resp, err = call(ctx, c, http.MethodPut, cluster.DocPath("_plugins", "_alerting", "monitors", id), nil, body)
		st.Outcome, st.Detail = wire.StepUpdated, "re-applied; every "+intervalText(p.Interval)
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
	if err := json.Unmarshal(resp.Body, &r); err != nil {
		st.Outcome, st.Detail = wire.StepFailed, "cannot read the monitor search: "+err.Error()
		return "", st, false
	}
	for _, h := range r.Hits.Hits {
		if h.Source.Name == name || h.Source.Monitor.Name == name {
			return h.ID, st, true
		}
	}
	return "", st, true
}
