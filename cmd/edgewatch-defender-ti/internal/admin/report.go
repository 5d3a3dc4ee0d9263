package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/engine"
	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/stack"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/internal/report"
	"github.com/edgewatch/edgewatch/plugin"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// reportPage is how many alerts one search of the report reads.
const reportPage = 5_000

// report reads what the HTML report shows from the cluster: it streams the
// newest alert documents to the host (which renders the page) and answers
// the run records, the live feed and the counts.
func (d Deps) report(ctx context.Context, a wire.ReportArgs, secrets map[string]string, s plugin.Stream) (wire.ReportData, error) {
	if a.MaxAlerts <= 0 {
		a.MaxAlerts = wire.DefaultReportAlerts
	}
	if a.Runs <= 0 {
		a.Runs = wire.DefaultReportRuns
	}
	c, err := d.connect(ctx, wire.OpReport.Name, a.Settings, secrets)
	if err != nil {
		return wire.ReportData{}, fmt.Errorf("%w (or give --alerts FILE to report on an alerts NDJSON file)", err)
	}
	index := a.Settings.AlertIndexOf()
	if index == "" {
		index = wire.AlertsPattern
	}
	res := wire.ReportData{Source: c.Info().String() + " index " + index}
	if res.TotalAlerts, err = streamAlerts(ctx, c, index, a.MaxAlerts, s); err != nil {
		return wire.ReportData{}, err
	}
	runs, err := stack.RunRecords(ctx, c, a.Runs)
	switch {
	case errors.Is(err, cluster.ErrNotFound):
		res.Notes = append(res.Notes, "no state index "+wire.StateIndex+": no run records")
	case err != nil:
		return wire.ReportData{}, err
	}
	res.Runs = runs
	if res.Feed, err = reportFeed(ctx, c, a); err != nil {
		return wire.ReportData{}, err
	}
	if res.Feed == nil {
		res.Notes = append(res.Notes, "no live indicator feed")
	}
	return res, nil
}

// streamAlerts sends up to max of the newest alerts of index to s, newest
// first, with search_after (sorted by @timestamp and event.id, descending)
// and returns how many the index holds.
func streamAlerts(ctx context.Context, c *cluster.Client, index string, max int, s plugin.Stream) (int64, error) {
	fields := report.AlertFields()
	var after []any
	var total int64
	read := 0
	for read < max {
		size := min(reportPage, max-read)
		body := map[string]any{
			"size":    size,
			"sort":    []any{map[string]any{"@timestamp": "desc"}, map[string]any{"event.id": "desc"}},
			"_source": fields,
		}
		if after == nil {
			body["track_total_hits"] = true
		} else {
			body["track_total_hits"] = false
			body["search_after"] = after
		}
		req := cluster.Request{Method: http.MethodPost, Path: "/" + index + "/_search", Body: cluster.JSON(body),
			Query: url.Values{"filter_path": {"hits.total,hits.hits._id,hits.hits._source,hits.hits.sort"}}}
		// Call refuses an answer with failed shards (cluster.ErrPartialResults).
		var r struct {
			Hits struct {
				Total struct {
					Value int64 `json:"value"`
				} `json:"total"`
				Hits []struct {
					ID     string          `json:"_id"`
					Source json.RawMessage `json:"_source"`
					Sort   []any           `json:"sort"`
				} `json:"hits"`
			} `json:"hits"`
		}
		if err := c.Call(ctx, "read alerts from "+index, req, &r); err != nil {
			if cluster.IsNotFound(err) {
				return 0, fmt.Errorf("%w: report: alert index %s does not exist (run `edgewatch install` and a detection first, or give --alerts FILE)", engine.ErrConfig, index)
			}
			return 0, err
		}
		if after == nil {
			total = r.Hits.Total.Value
		}
		batch := make([]plugin.Alert, len(r.Hits.Hits))
		for i, h := range r.Hits.Hits {
			batch[i] = plugin.Alert{Document: h.Source, Row: plugin.Row{ID: h.ID}}
		}
		if err := s.Alerts(ctx, plugin.NewAlertBatch(batch)); err != nil {
			return 0, err
		}
		read += len(r.Hits.Hits)
		_ = s.Progress(ctx, wire.Progress{Stage: "report", Done: int64(read), Total: min(total, int64(max)), Unit: "rows"})
		if len(r.Hits.Hits) < size {
			break
		}
		after = r.Hits.Hits[len(r.Hits.Hits)-1].Sort
	}
	return total, nil
}

// reportFeed is the feed panel: the chosen feed's live status, nil when
// no feed is live.
func reportFeed(ctx context.Context, c *cluster.Client, a wire.ReportArgs) (*wire.FeedPanel, error) {
	name := a.Feed
	if name == "" && a.Settings.Cluster != nil {
		name = a.Settings.Cluster.IndicatorFeed
	}
	if name == "" {
		feeds, err := stack.Feeds(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("report: list feeds: %w", err)
		}
		for _, f := range feeds {
			if f == wire.DefaultFeedName {
				name = f
			}
		}
		if name == "" && len(feeds) > 0 {
			name = feeds[0]
		}
	}
	if name == "" {
		return nil, nil
	}
	st, err := stack.FeedStatus(ctx, c, name)
	if err != nil {
		return nil, fmt.Errorf("report: feed %s: %w", name, err)
	}
	if !st.Live {
		return nil, nil
	}
	return &wire.FeedPanel{Feed: st.Feed, LoadedAt: st.LoadedAt, Total: st.Total, PerLevel: st.PerLevel}, nil
}
