package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/edgewatch/edgewatch/plugin"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// alertWriter renders alert batches in one output format.
type alertWriter interface {
	Write(batch plugin.AlertBatch) error
	Flush() error
}

func newAlertWriter(format string, w io.Writer) (alertWriter, error) {
	switch format {
	case "", "ndjson":
		return &ndjsonWriter{w: bufio.NewWriterSize(w, 256<<10)}, nil
	case "table":
		return newTableWriter(w), nil
	}
	return nil, usageErrorf("--format %q: want ndjson or table", format)
}

// ndjsonWriter writes the ECS alert documents, one per line: the bytes the
// plugin encoded, as they are.
type ndjsonWriter struct{ w *bufio.Writer }

func (n *ndjsonWriter) Write(batch plugin.AlertBatch) error {
	_, err := n.w.Write(batch.NDJSON)
	return err
}

func (n *ndjsonWriter) Flush() error { return n.w.Flush() }

// tableColumns are the table format's columns for IPsum alerts: the seed
// query's projection first, then the enrichment edgewatch adds. Alerts from
// other feeds have no IPsum count: a block of rows shows IPsumCount only
// when one of its rows comes from IPsum, and a Feed column (the feed's name)
// when one comes from another feed. Grouped alerts (--group-by) add Count,
// the group's events; their row is the group's first event.
var tableColumns = []string{"Timestamp", "DeviceName", "ThreatIntelligenceIP", "LocalPort",
	"InitiatingProcessFileName", "RemotePort", "IPsumCount", "Severity"}

// tableFlushRows bounds how many rows the table aligns at once, so that a
// huge result still streams (columns may widen between blocks).
const tableFlushRows = 10000

type tableRow struct {
	plugin.Row
	ipsum bool // the indicator is IPsum's (threat.indicator.provider)
	// count is a grouped alert's edgewatch.suppression.docs_count (-1 for
	// an alert of one event).
	count int64
}

type tableWriter struct {
	out    io.Writer
	rows   []tableRow // the block being aligned
	blocks int
}

func newTableWriter(w io.Writer) *tableWriter { return &tableWriter{out: w} }

// Write takes the batch's display columns (the host asks for them with a
// table); only a plugin that predates the feed columns makes it read the
// feed from the documents, and only a grouped alert's document is read for
// its event count.
func (t *tableWriter) Write(batch plugin.AlertBatch) error {
	if batch.Rows == nil && len(batch.NDJSON) > 0 {
		return fmt.Errorf("%w: alerts without display columns for the table", plugin.ErrInvalidResponse)
	}
	for i, doc := range batch.Documents() {
		r := tableRow{Row: batch.Rows[i], count: -1}
		if (r.Feed == "" && r.Provider == "") || bytes.Contains(doc, suppressionKey) {
			var feed, provider string
			feed, provider, r.count = alertColumns(doc)
			if r.Feed == "" && r.Provider == "" {
				r.Feed, r.Provider = feed, provider
			}
		}
		r.ipsum = r.Provider == "" || strings.EqualFold(r.Provider, "IPsum")
		t.rows = append(t.rows, r)
		if len(t.rows) == tableFlushRows {
			if err := t.flushBlock(); err != nil {
				return err
			}
		}
	}
	return nil
}

// suppressionKey is in the document of a grouped alert (and, rarely, in a
// raw Defender record: the document is then read for nothing).
var suppressionKey = []byte(`"suppression":`)

// alertColumns reads what the table shows of an alert document beyond its
// row: the feed's name and provider (a document that names no provider,
// from an older plugin, is IPsum's), and a grouped alert's event count (-1
// when the alert is not grouped).
func alertColumns(doc []byte) (name, provider string, count int64) {
	var d struct {
		Threat struct {
			Indicator struct {
				Provider string `json:"provider"`
			} `json:"indicator"`
			Feed struct {
				Name string `json:"name"`
			} `json:"feed"`
		} `json:"threat"`
		Edgewatch struct {
			Suppression *struct {
				DocsCount int64 `json:"docs_count"`
			} `json:"suppression"`
		} `json:"edgewatch"`
	}
	_ = json.Unmarshal(doc, &d)
	count = -1
	if s := d.Edgewatch.Suppression; s != nil {
		count = s.DocsCount
	}
	return d.Threat.Feed.Name, d.Threat.Indicator.Provider, count
}

func (t *tableWriter) flushBlock() error {
	if len(t.rows) == 0 && t.blocks > 0 {
		return nil
	}
	t.blocks++
	counts, feeds, grouped := len(t.rows) == 0, false, false // no alerts at all: the IPsum header
	for i := range t.rows {
		counts = counts || t.rows[i].ipsum
		feeds = feeds || !t.rows[i].ipsum
		grouped = grouped || t.rows[i].count >= 0
	}
	cols := append([]string(nil), tableColumns[:6]...)
	if counts {
		cols = append(cols, "IPsumCount")
	}
	if feeds {
		cols = append(cols, "Feed")
	}
	cols = append(cols, "Severity")
	if grouped {
		cols = append(cols, "Count")
	}
	tw := tabwriter.NewWriter(t.out, 0, 0, 2, ' ', 0)
	line := func(fields []string) error {
		for j, f := range fields {
			if j > 0 {
				if _, err := io.WriteString(tw, "\t"); err != nil {
					return err
				}
			}
			if _, err := io.WriteString(tw, f); err != nil {
				return err
			}
		}
		_, err := io.WriteString(tw, "\n")
		return err
	}
	if err := line(cols); err != nil {
		return err
	}
	for i := range t.rows {
		r := &t.rows[i]
		ts := ""
		if !r.Timestamp.IsZero() {
			ts = r.Timestamp.UTC().Format(time.RFC3339Nano)
		}
		fields := []string{ts, dash(r.DeviceName), dash(r.ThreatIntelligenceIP), port(r.LocalPort),
			dash(r.InitiatingProcessFileName), port(r.RemotePort)}
		if counts {
			fields = append(fields, count(r.IPsumCount, r.ipsum))
		}
		if feeds {
			fields = append(fields, dash(r.Feed))
		}
		fields = append(fields, dash(r.Severity))
		if grouped {
			fields = append(fields, count(int(r.count), r.count >= 0))
		}
		if err := line(fields); err != nil {
			return err
		}
	}
	t.rows = t.rows[:0]
	return tw.Flush()
}

func (t *tableWriter) Flush() error { return t.flushBlock() }

// count is the IPsumCount cell: "-" when the feed has no counts (a levels
// file) or is not IPsum.
func count(n int, ipsum bool) string {
	if !ipsum || n <= 0 {
		return "-"
	}
	return strconv.Itoa(n)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func port(p int) string {
	if p <= 0 {
		return "-"
	}
	return strconv.Itoa(p)
}

// runStream is the host's plugin.Stream for a run: alerts go to the
// output, progress to the terminal.
type runStream struct {
	out      alertWriter
	progress *progressLine
	written  int
}

func (r *runStream) Progress(_ context.Context, p plugin.Progress) error {
	r.progress.Update(p)
	return nil
}

func (r *runStream) Alerts(_ context.Context, batch plugin.AlertBatch) error {
	if err := r.out.Write(batch); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	r.written += batch.Len()
	r.progress.Alerts(r.written)
	return nil
}

// AlertsWritten: the plugin writes the documents into the output's
// temporary file itself (plugin.RunRequest.AlertFile).
func (r *runStream) AlertsWritten(_ context.Context, w plugin.AlertsWritten) error {
	r.written = int(w.Documents)
	r.progress.Alerts(r.written)
	return nil
}

// errUsage marks an error caused by how edgewatch was invoked: a flag, an
// argument, the config file, an input file (exit 2). It is an input error
// (wire.ErrInput), the kind the plugin reports for its own input errors.
var errUsage = errors.New("usage")

type usageError struct{ msg string }

func (u *usageError) Error() string { return u.msg }
func (u *usageError) Is(target error) bool {
	return target == errUsage || target == wire.ErrInput
}

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// fileUsageError is the usage error for the file path that flag names and
// that cannot be read: "--flag PATH: reason", the path said once (not
// again in os.PathError's "open PATH: reason").
func fileUsageError(flag, path string, err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return usageErrorf("%s %s: %v", flag, path, err)
}
