package ops

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/internal/engine"
	"github.com/edgewatch/edgewatch/internal/report"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// Report defaults.
const (
	// DefaultMaxAlerts caps how many alerts (the newest) a cluster report
	// reads; the answer says when the index held more.
	DefaultMaxAlerts = 100_000
	// DefaultReportRuns is how many recent run records the run-health
	// panel reads.
	DefaultReportRuns = 500
	reportPage        = 5_000
)

// ReportArgs are the args of report.
type ReportArgs struct {
	Settings wire.Settings `json:"settings"`
	// Alerts is an alerts NDJSON file (plain or gzip), e.g. the --out of
	// `edgewatch run`: the report needs no cluster then.
	Alerts string `json:"alerts,omitempty"`
	// MaxAlerts caps the alerts read from the index (newest first).
	MaxAlerts int `json:"max_alerts,omitempty"`
	// Latest is how many of the newest alerts the table lists.
	Latest int `json:"latest,omitempty"`
	// Runs is how many recent run records are read.
	Runs int `json:"runs,omitempty"`
	// Feed names the feed of the feed panel (default: the settings'
	// indicator feed, else "ipsum" when live, else the first live feed).
	Feed  string `json:"feed,omitempty"`
	Title string `json:"title,omitempty"`
}

// ReportResult is the answer of report. The host writes HTML to --out.
type ReportResult struct {
	HTML   string `json:"html"`
	Source string `json:"source"`
	// Alerts counts the alerts in the report; TotalAlerts those in the
	// index (Truncated when the report holds only the newest MaxAlerts).
	Alerts      int      `json:"alerts"`
	TotalAlerts int64    `json:"total_alerts"`
	Truncated   bool     `json:"truncated,omitempty"`
	Bad         int      `json:"bad_lines,omitempty"`
	BadLines    []string `json:"bad_line_examples,omitempty"`
	Runs        int      `json:"runs"`
	Feed        string   `json:"feed,omitempty"`
	Notes       []string `json:"notes,omitempty"`
	DurationMS  int64    `json:"duration_ms"`
}

func (d Deps) report(ctx context.Context, raw json.RawMessage, secrets map[string]string, progress func(wire.Progress)) (json.RawMessage, error) {
	start := time.Now()
	var a ReportArgs
	if err := decode(wire.OpReport.Name, raw, &a); err != nil {
		return nil, err
	}
	if a.MaxAlerts <= 0 {
		a.MaxAlerts = DefaultMaxAlerts
	}
	if a.Runs <= 0 {
		a.Runs = DefaultReportRuns
	}
	sum := report.NewSummary(a.Latest)
	var res ReportResult
	if a.Alerts != "" {
		if err := reportFromFile(ctx, sum, a.Alerts, progress); err != nil {
			return nil, err
		}
		res.Source = "alerts file " + a.Alerts
		res.TotalAlerts = int64(sum.Total)
	} else {
		c, err := d.connect(ctx, wire.OpReport.Name, a.Settings, secrets)
		if err != nil {
			return nil, fmt.Errorf("%w (or give --alerts FILE to report on an alerts NDJSON file)", err)
		}
		if err := d.reportFromCluster(ctx, c, a, sum, &res, progress); err != nil {
			return nil, err
		}
	}
	res.Alerts, res.Bad, res.BadLines, res.Runs = sum.Total, sum.Bad, sum.BadLines, len(sum.Runs)
	source := res.Source
	if res.Truncated {
		source += fmt.Sprintf(" (the newest %d of %d alerts)", sum.Total, res.TotalAlerts)
	}
	var buf bytes.Buffer
	if err := report.Render(&buf, sum, report.Options{Title: a.Title, Source: source, Now: d.Now()}); err != nil {
		return nil, err
	}
	res.HTML = buf.String()
	res.DurationMS = time.Since(start).Milliseconds()
	return json.Marshal(res)
}

func reportFromFile(ctx context.Context, sum *report.Summary, path string, progress func(wire.Progress)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%w: report: alerts file: %w", engine.ErrConfig, err)
	}
	defer f.Close()
	progress(wire.Progress{Stage: "report", Message: "reading " + path})
	return sum.ReadNDJSON(f, path)
}

// alertFields are the alert fields the report reads (report.DecodeAlert).
var alertFields = []string{
	"@timestamp", "event.id", "event.severity", "rule.name", "host.id", "host.name",
	"source.ip", "source.port", "destination.ip", "destination.port", "process.name",
	"edgewatch.severity", "edgewatch.retro_hunt", "edgewatch.internet_facing.reason",
	"edgewatch.indicator.count", "edgewatch.indicator.level",
}

func (d Deps) reportFromCluster(ctx context.Context, c *cluster.Client, a ReportArgs, sum *report.Summary, res *ReportResult, progress func(wire.Progress)) error {
	index := alertIndex(a.Settings)
	if index == "" {
		index = alertsPattern
	}
	res.Source = c.Info().String() + " index " + index
	total, err := streamAlerts(ctx, c, index, a.MaxAlerts, sum, progress)
	if err != nil {
		return err
	}
	res.TotalAlerts = total
	res.Truncated = total > int64(sum.Total)+int64(sum.Bad)

	runs, err := readRuns(ctx, c, a.Runs)
	switch {
	case errors.Is(err, cluster.ErrNotFound):
		res.Notes = append(res.Notes, "no state index "+wire.StateIndex+": no run records")
	case err != nil:
		return err
	}
	for _, r := range runs {
		sum.AddRun(r)
	}

	feed, err := reportFeed(ctx, c, a)
	if err != nil {
		return err
	}
	if feed != nil {
		sum.SetIndicators(*feed)
		res.Feed = feed.Feed
	} else {
		res.Notes = append(res.Notes, "no live indicator feed")
	}
	return nil
}

// streamAlerts reads up to max of the newest alerts of index with
// search_after (sorted by @timestamp and event.id, descending) and returns
// how many the index holds.
func streamAlerts(ctx context.Context, c *cluster.Client, index string, max int, sum *report.Summary, progress func(wire.Progress)) (int64, error) {
	var after []any
	var total int64
	read := 0
	for read < max {
		size := min(reportPage, max-read)
		body := map[string]any{
			"size":    size,
			"sort":    []any{map[string]any{"@timestamp": "desc"}, map[string]any{"event.id": "desc"}},
			"_source": alertFields,
		}
		if after == nil {
			body["track_total_hits"] = true
		} else {
			body["track_total_hits"] = false
			body["search_after"] = after
		}
		req := cluster.Request{Method: http.MethodPost, Path: "/" + index + "/_search", Body: cluster.JSON(body),
			Query: url.Values{"filter_path": {"hits.total,hits.hits._source,hits.hits.sort,_shards.failed"}}}
		var r struct {
			Shards struct {
				Failed int `json:"failed"`
			} `json:"_shards"`
			Hits struct {
				Total struct {
					Value int64 `json:"value"`
				} `json:"total"`
				Hits []struct {
					Source json.RawMessage `json:"_source"`
					Sort   []any           `json:"sort"`
				} `json:"hits"`
			} `json:"hits"`
		}
		if err := c.Call(ctx, "read alerts from "+index, req, &r); err != nil {
			if isNotFound(err) {
				return 0, fmt.Errorf("%w: report: alert index %s does not exist (run `edgewatch install` and a detection first, or give --alerts FILE)", engine.ErrConfig, index)
			}
			return 0, err
		}
		if r.Shards.Failed > 0 {
			return 0, fmt.Errorf("report: read alerts from %s: %d shard(s) failed", index, r.Shards.Failed)
		}
		if after == nil {
			total = r.Hits.Total.Value
		}
		for i, h := range r.Hits.Hits {
			if a, err := report.DecodeAlert(h.Source); err != nil {
				sum.Bad++
				if len(sum.BadLines) < 20 {
					sum.BadLines = append(sum.BadLines, fmt.Sprintf("%s hit %d: %v", index, read+i+1, err))
				}
			} else {
				sum.Add(a)
			}
		}
		read += len(r.Hits.Hits)
		progress(wire.Progress{Stage: "report", Done: int64(read), Total: min(total, int64(max)), Unit: "rows"})
		if len(r.Hits.Hits) < size {
			break
		}
		after = r.Hits.Hits[len(r.Hits.Hits)-1].Sort
	}
	return total, nil
}

// readRuns reads the newest run records of the state index.
func readRuns(ctx context.Context, c *cluster.Client, n int) ([]wire.RunRecord, error) {
	body := map[string]any{
		"size":  min(n, 10_000),
		"query": map[string]any{"term": map[string]any{"type": wire.StateTypeRun}},
		"sort":  []any{map[string]any{"started_at": map[string]any{"order": "desc", "unmapped_type": "date"}}},
	}
	req := cluster.Request{Method: http.MethodPost, Path: cluster.DocPath(wire.StateIndex, "_search"), Body: cluster.JSON(body),
		Query: url.Values{"filter_path": {"hits.hits._source"}}}
	var r struct {
		Hits struct {
			Hits []struct {
				Source wire.RunRecord `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if err := c.Call(ctx, "read run records", req, &r); err != nil {
		return nil, err
	}
	out := make([]wire.RunRecord, 0, len(r.Hits.Hits))
	for i := len(r.Hits.Hits) - 1; i >= 0; i-- { // oldest first
		out = append(out, r.Hits.Hits[i].Source)
	}
	return out, nil
}

// reportFeed is the feed panel: the chosen feed's live status, nil when
// no feed is live.
func reportFeed(ctx context.Context, c *cluster.Client, a ReportArgs) (*report.IndicatorSummary, error) {
	name := a.Feed
	if name == "" && a.Settings.Cluster != nil {
		name = a.Settings.Cluster.IndicatorFeed
	}
	if name == "" {
		feeds, err := c.Feeds(ctx)
		if err != nil {
			return nil, fmt.Errorf("report: list feeds: %w", err)
		}
		for _, f := range feeds {
			if f == "ipsum" {
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
	st, err := c.FeedStatus(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("report: feed %s: %w", name, err)
	}
	if !st.Live {
		return nil, nil
	}
	is := &report.IndicatorSummary{Feed: st.Feed, LoadedAt: st.LoadedAt, Total: int(st.Total), PerLevel: map[int]int{}}
	for l, n := range st.PerLevel {
		is.PerLevel[l] = int(n)
	}
	return is, nil
}

func isNotFound(err error) bool {
	if errors.Is(err, cluster.ErrNotFound) {
		return true
	}
	var e *cluster.Error
	return errors.As(err, &e) && (e.Status == http.StatusNotFound || strings.Contains(e.Type, "not_found"))
}
