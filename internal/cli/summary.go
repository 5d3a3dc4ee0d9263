package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/edgewatch/edgewatch/plugin/wire"
)

// runTotals is what the host itself counted.
type runTotals struct {
	Written int           // alerts written to the output
	Out     string        // output path, "-" for stdout
	Format  string        // ndjson or table
	NoIndex bool          // a cluster run told to write no index
	Elapsed time.Duration // wall time on the host, plugin start included
	Startup time.Duration // plugin start-up and handshake
}

// sink is one place a run's alerts went: its alert index (the plugin
// counts it), the findings of a grouping detection, the output file or
// stdout (the host counts them).
type sink struct {
	Kind           string `json:"kind"`           // "index", "findings", "file" or "stdout"
	Name           string `json:"name,omitempty"` // index (alias) name, file path
	Format         string `json:"format,omitempty"`
	Written        int    `json:"written"` // file, stdout: alerts written
	Created        int    `json:"created,omitempty"`
	AlreadyPresent int    `json:"already_present,omitempty"`
	Failed         int    `json:"failed,omitempty"`
	// Grouped: the index holds grouped alerts; Created, Updated and
	// Unchanged count the run's groups.
	Grouped   bool `json:"grouped,omitempty"`
	Updated   int  `json:"updated,omitempty"`
	Unchanged int  `json:"unchanged,omitempty"`
}

// sinks lists where the run's alerts went: the alert index first (when the
// run wrote one: with grouping, its grouped alerts, then the findings kept
// as their evidence), then the output.
func sinks(s wire.Summary, t runTotals) []sink {
	var out []sink
	a, g := s.Alerts, s.Groups
	switch {
	case a.Index != "" && g != nil:
		out = append(out, sink{Kind: "index", Name: a.Index, Grouped: true, Written: g.Created + g.Updated,
			Created: g.Created, Updated: g.Updated, Unchanged: g.Unchanged, Failed: g.Failed})
		if g.EvidenceIndex != "" {
			out = append(out, sink{Kind: "findings", Name: g.EvidenceIndex, Written: a.Created + a.AlreadyPresent,
				Created: a.Created, AlreadyPresent: a.AlreadyPresent, Failed: a.Failed})
		}
	case a.Index != "":
		out = append(out, sink{Kind: "index", Name: a.Index, Written: a.Created + a.AlreadyPresent,
			Created: a.Created, AlreadyPresent: a.AlreadyPresent, Failed: a.Failed})
	}
	o := sink{Kind: "file", Name: t.Out, Format: t.Format, Written: t.Written}
	if t.Out == "-" || t.Out == "" {
		o.Kind, o.Name = "stdout", ""
	}
	return append(out, o)
}

// sinksOf is sinks for a summary as the plugin sent it (JSON).
func sinksOf(raw json.RawMessage, t runTotals) []sink {
	var s wire.Summary
	_ = json.Unmarshal(raw, &s)
	return sinks(s, t)
}

func (k sink) String() string {
	switch k.Kind {
	case "index", "findings":
		if k.Grouped {
			s := fmt.Sprintf("index %s: %d groups created, %d updated, %d unchanged", k.Name, k.Created, k.Updated, k.Unchanged)
			if k.Failed > 0 {
				s += fmt.Sprintf(", %d failed", k.Failed)
			}
			return s
		}
		s := fmt.Sprintf("%s %s: %d created, %d already present", k.Kind, k.Name, k.Created, k.AlreadyPresent)
		if k.Failed > 0 {
			s += fmt.Sprintf(", %d failed", k.Failed)
		}
		return s
	case "stdout":
		return fmt.Sprintf("stdout: %d written (%s)", k.Written, k.Format)
	}
	return fmt.Sprintf("file %s: %d written (%s)", k.Name, k.Written, k.Format)
}

// writeSummary renders the end-of-run summary for people.
func writeSummary(w io.Writer, raw json.RawMessage, t runTotals) {
	var s wire.Summary
	if err := json.Unmarshal(raw, &s); err != nil {
		fmt.Fprintf(w, "edgewatch: run finished in %s (summary unreadable: %v)\n", round(t.Elapsed), err)
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "edgewatch: run %s finished in %s (plugin start-up %s)\n", s.RunID, round(t.Elapsed), round(t.Startup))
	fmt.Fprintf(&b, "  indicators:     %d loaded", s.Indicators.Loaded)
	if n := sumInt(s.Indicators.Dropped); n > 0 {
		fmt.Fprintf(&b, ", %d dropped (%s)", n, countsText(s.Indicators.Dropped))
	}
	if s.Indicators.Invalid > 0 {
		fmt.Fprintf(&b, ", %d invalid lines", s.Indicators.Invalid)
		for _, f := range s.Indicators.Feeds {
			if len(f.InvalidLines) > 0 {
				fmt.Fprintf(&b, " (%s: lines %s)", f.Source, intsText(f.InvalidLines))
			}
		}
	}
	b.WriteByte('\n')
	fmt.Fprintf(&b, "  device info:    %d rows read, %d skipped; %d internet-facing ports on %d devices\n",
		s.DeviceInfo.Read, sumInt(s.DeviceInfo.Skipped), s.DeviceInfo.FacingPorts, s.DeviceInfo.Devices)
	skipLines(&b, s.DeviceInfo.Skipped, s.DeviceInfo.Examples)
	inputNotes(&b, s.DeviceInfo.InputNotes)
	fmt.Fprintf(&b, "  network events: %d rows read, %d skipped, %d candidates",
		s.Events.Read, sumInt(s.Events.Skipped), s.Events.Candidates)
	if s.Events.Duplicates > 0 {
		fmt.Fprintf(&b, ", %d duplicate rows", s.Events.Duplicates)
	}
	b.WriteByte('\n')
	skipLines(&b, s.Events.Skipped, s.Events.Examples)
	inputNotes(&b, s.Events.InputNotes)
	if g := s.Groups; g != nil {
		fmt.Fprintf(&b, "  alerts:         %d events matched, %d grouped alerts", s.Alerts.Matched, g.Touched)
	} else {
		fmt.Fprintf(&b, "  alerts:         %d matched", s.Alerts.Matched)
	}
	if n := s.Alerts.SkippedTotal(); n > 0 {
		fmt.Fprintf(&b, ", %d written nowhere", n)
	}
	b.WriteByte('\n')
	skipLines(&b, s.Alerts.Skipped, s.Alerts.Examples)
	for i, k := range sinks(s, t) {
		label := "                  "
		if i == 0 {
			label = "  written to:     "
		}
		b.WriteString(label + k.String() + "\n")
	}
	if t.NoIndex {
		b.WriteString("                  no alert index, no run record (--no-index)\n")
	}
	if g := s.Groups; g != nil {
		groupLines(&b, g)
	}
	_, _ = io.WriteString(w, b.String())
}

func skipLines(b *strings.Builder, skipped map[string]int64, examples map[string][]wire.Location) {
	for _, reason := range sortedKeys(skipped) {
		fmt.Fprintf(b, "      skipped %s: %d", reason, skipped[reason])
		if ex := examples[reason]; len(ex) > 0 {
			parts := make([]string, len(ex))
			for i, l := range ex {
				parts[i] = l.String()
			}
			fmt.Fprintf(b, " (first: %s)", strings.Join(parts, ", "))
		}
		b.WriteByte('\n')
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sumInt[V int | int64](m map[string]V) V {
	var n V
	for _, v := range m {
		n += v
	}
	return n
}

func countsText[V int | int64](m map[string]V) string {
	parts := make([]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s: %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func intsText(v []int) string {
	parts := make([]string, len(v))
	for i, n := range v {
		parts[i] = fmt.Sprint(n)
	}
	return strings.Join(parts, ", ")
}

func round(d time.Duration) time.Duration {
	switch {
	case d > 10*time.Second:
		return d.Round(100 * time.Millisecond)
	case d > time.Second:
		return d.Round(10 * time.Millisecond)
	default:
		return d.Round(100 * time.Microsecond)
	}
}

// groupLines say what a grouping run did to its groups: how many its
// events fall in, by what and per which window, and what happened to each
// group's alert.
func groupLines(b *strings.Builder, g *wire.GroupSummary) {
	fmt.Fprintf(b, "  groups:         %d by %s per %s: %d created, %d updated, %d unchanged",
		g.Touched, strings.Join(g.By, ", "), windowText(g.Window.D()), g.Created, g.Updated, g.Unchanged)
	if g.Failed > 0 {
		fmt.Fprintf(b, ", %d failed", g.Failed)
	}
	if g.Conflicts > 0 {
		fmt.Fprintf(b, " (%d writes retried after another writer)", g.Conflicts)
	}
	if g.Index != "" {
		fmt.Fprintf(b, "; index %s", g.Index)
	}
	b.WriteByte('\n')
	for _, f := range g.Failures {
		fmt.Fprintf(b, "      failed: %s\n", f)
	}
}

// windowText writes a grouping window in its largest whole unit: "24h" is
// "1d", "6h", "90m"; anything else as Go writes it.
func windowText(d time.Duration) string {
	switch {
	case d > 0 && d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d > 0 && d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d > 0 && d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

// inputNotes writes what a read saw besides its rows: rows of other tables
// and the columns a CSV file lacks.
func inputNotes(b *strings.Builder, n wire.InputNotes) {
	if len(n.OtherTables) > 0 {
		fmt.Fprintf(b, "      other tables (not read): %s\n", countsText(n.OtherTables))
	}
	for _, file := range sortedKeys(n.MissingColumns) {
		fmt.Fprintf(b, "      missing columns: %s: %s\n", file, strings.Join(n.MissingColumns[file], ", "))
	}
}
