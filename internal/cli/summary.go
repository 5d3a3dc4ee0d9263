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
	fmt.Fprintf(&b, "  network events: %d rows read, %d skipped, %d candidates",
		s.Events.Read, sumInt(s.Events.Skipped), s.Events.Candidates)
	if s.Events.Duplicates > 0 {
		fmt.Fprintf(&b, ", %d duplicate rows", s.Events.Duplicates)
	}
	b.WriteByte('\n')
	skipLines(&b, s.Events.Skipped, s.Events.Examples)
	out := t.Out
	if out == "-" || out == "" {
		out = "stdout"
	}
	if g := s.Groups; g != nil {
		groupLines(&b, s, g, t.Written, out)
		_, _ = io.WriteString(w, b.String())
		return
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

// groupLines are the summary of a grouping run: the events matched (and,
// in a cluster, the findings stored as evidence), then the groups.
func groupLines(b *strings.Builder, s wire.Summary, g *wire.GroupSummary, written int, out string) {
	fmt.Fprintf(b, "  alerts:         %d events matched, %d grouped alerts written to %s", s.Alerts.Matched, written, out)
	if g.EvidenceIndex != "" {
		fmt.Fprintf(b, "; findings %s: %d created, %d already present, %d failed",
			g.EvidenceIndex, s.Alerts.Created, s.Alerts.AlreadyPresent, s.Alerts.Failed)
	}
	b.WriteByte('\n')
	fmt.Fprintf(b, "  groups:         %d by %s per %s: %d created, %d updated, %d unchanged",
		g.Touched, strings.Join(g.By, ", "), durationText(g.Window.D()), g.Created, g.Updated, g.Unchanged)
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

// durationText writes d in the largest whole unit: "24h" is "1d", "6h",
// "90m"; anything else as Go writes it.
func durationText(d time.Duration) string {
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
