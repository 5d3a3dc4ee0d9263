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
