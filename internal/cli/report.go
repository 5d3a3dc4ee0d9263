package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/edgewatch/edgewatch/internal/atomicfile"
	"github.com/edgewatch/edgewatch/internal/report"
	"github.com/edgewatch/edgewatch/plugin"
	"github.com/edgewatch/edgewatch/plugin/wire"
	"github.com/spf13/cobra"
)

// reportResult is what `edgewatch report` prints without --out (with the
// page itself), and what it counts with it.
type reportResult struct {
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

func (a *app) reportCommand() *cobra.Command {
	var af adminFlags
	var out, alerts, title, feed string
	var maxAlerts, latest, runs int
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Write an HTML report of the alerts (from the alert index or an alerts file)",
		Long: `Render the dashboard's panels as one self-contained HTML page: from the cluster's alert index
(the newest --max-alerts alerts), run records and live feed, or with --alerts FILE from an alerts
NDJSON file such as the --out of edgewatch run (no cluster and no plugin needed).`,
		Example: `  edgewatch run --device-info di.ndjson --network-events ev.ndjson --feed ipsum.txt --out alerts.ndjson
  edgewatch report --alerts alerts.ndjson --out report.html
  edgewatch report --opensearch http://127.0.0.1:9200 --out report.html`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			start := time.Now()
			if maxAlerts < 0 {
				return usageErrorf("--max-alerts %d: want 1 or more", maxAlerts)
			}
			sum := report.NewSummary(latest)
			var res reportResult
			var err error
			if alerts != "" {
				err = a.reportFromFile(sum, alerts, &res)
			} else {
				err = a.reportFromCluster(cmd, &af, sum, wire.ReportArgs{MaxAlerts: maxAlerts, Runs: runs, Feed: feed}, &res)
			}
			if err != nil {
				return err
			}
			res.Alerts, res.Bad, res.BadLines, res.Runs = sum.Total, sum.Bad, sum.BadLines, len(sum.Runs)
			source := res.Source
			if res.Truncated {
				source += fmt.Sprintf(" (the newest %d of %d alerts)", sum.Total, res.TotalAlerts)
			}
			var page bytes.Buffer
			if err := report.Render(&page, sum, report.Options{Title: title, Source: source, Now: time.Now()}); err != nil {
				return err
			}
			res.HTML = page.String()
			res.DurationMS = time.Since(start).Milliseconds()
			if out == "" {
				return printJSON(cmd.OutOrStdout(), res)
			}
			if err := atomicfile.WriteFile(out, page.Bytes()); err != nil {
				return err
			}
			fmt.Fprintf(a.env.Stderr, "edgewatch: report of %d alerts written to %s\n", res.Alerts, out)
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&out, "out", "", "report `file` (e.g. report.html); default: print the result")
	fs.StringVar(&alerts, "alerts", "", "alerts NDJSON `file` (plain or gzip, - for stdin) instead of the alert index")
	fs.IntVar(&maxAlerts, "max-alerts", 0, fmt.Sprintf("read at most this many of the newest alerts from the index (default %d)", wire.DefaultReportAlerts))
	fs.StringVar(&title, "title", "", "page title")
	fs.IntVar(&latest, "latest", 0, fmt.Sprintf("newest alerts listed in the table (default %d)", report.DefaultLatest))
	fs.IntVar(&runs, "runs", 0, fmt.Sprintf("recent run records read for the run-health panel (default %d)", wire.DefaultReportRuns))
	fs.StringVar(&feed, "feed", "", "feed of the feed panel (default: --indicator-feed, else ipsum, else the first live feed)")
	af.register(fs)
	return cmd
}

// reportFromFile reads an alerts NDJSON file (or stdin) into sum: the host
// needs no plugin for it.
func (a *app) reportFromFile(sum *report.Summary, path string, res *reportResult) error {
	var r io.Reader = a.env.Stdin
	source := "stdin"
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return fileUsageError("--alerts", path, err)
		}
		defer f.Close()
		r, source = f, path
	}
	if err := sum.ReadNDJSON(r, source); err != nil {
		return err
	}
	res.Source = "alerts file " + source
	res.TotalAlerts = int64(sum.Total)
	return nil
}

// reportFromCluster asks the plugin for the report's data: it streams the
// newest alert documents (counted into sum here) and answers the run
// records, the live feed and the counts.
func (a *app) reportFromCluster(cmd *cobra.Command, af *adminFlags, sum *report.Summary, args wire.ReportArgs, res *reportResult) error {
	s, secrets, err := a.adminSettings(cmd, af)
	if err != nil {
		return err
	}
	args.Settings = s
	index := s.AlertIndexOf()
	if index == "" {
		index = wire.AlertsPattern
	}
	data, err := callOp(a, cmd, wire.OpReport, args, secrets, af.sets, &reportStream{sum: sum, index: index})
	if err != nil {
		return err
	}
	for _, r := range data.Runs {
		sum.AddRun(r)
	}
	if data.Feed != nil {
		sum.SetIndicators(*data.Feed)
		res.Feed = data.Feed.Feed
	}
	res.Source, res.TotalAlerts, res.Notes = data.Source, data.TotalAlerts, data.Notes
	res.Truncated = data.TotalAlerts > int64(sum.Total)+int64(sum.Bad)
	return nil
}

// reportStream counts the alert documents the report operation streams.
type reportStream struct {
	sum   *report.Summary
	index string
	n     int
}

func (r *reportStream) Progress(context.Context, plugin.Progress) error { return nil }

func (r *reportStream) Alerts(_ context.Context, batch plugin.AlertBatch) error {
	for _, doc := range batch.Documents() {
		r.n++
		r.sum.AddDocument(doc, r.index, r.n)
	}
	return nil
}
