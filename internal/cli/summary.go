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
	Elapsed time.Duration // wall time on the host, plugin start included
	Startup time.Duration // plugin start-up and handshake
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
	out := t.Out
	if out == "-" || out == "" {
		out = "stdout"
	}
	fmt.Fprintf(&b, "  alerts:         %d matched, %d written to %s", s.Alerts.Matched, t.Written, out)
	if s.Alerts.Index != "" {
		fmt.Fprintf(&b, "; index %s: %d created, %d already present, %d failed",
			s.Alerts.Index, s.Alerts.Created, s.Alerts.AlreadyPresent, s.Alerts.Failed)
	}
	b.WriteByte('\n')
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
