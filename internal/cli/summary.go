package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Summary is the part of the plugin's run summary (internal/engine.Summary,
// sent as JSON) that the host renders. Every key here exists in the
// engine's summary (TestSummaryKeysSubsetOfEngine).
type Summary struct {
	RunID      string `json:"run_id"`
	Source     string `json:"source"`
	DurationMS int64  `json:"duration_ms"`
	Indicators struct {
		Loaded  int            `json:"loaded"`
		Dropped map[string]int `json:"dropped,omitempty"`
		Invalid int            `json:"invalid"`
		From    string         `json:"from"`
		Feeds   []struct {
			Source       string `json:"source"`
			Invalid      int    `json:"invalid"`
			InvalidLines []int  `json:"invalid_lines,omitempty"`
		} `json:"feeds,omitempty"`
	} `json:"indicators"`
	DeviceInfo struct {
		Read     int64                 `json:"read"`
		Skipped  map[string]int64      `json:"skipped,omitempty"`
		Examples map[string][]Location `json:"examples,omitempty"`
		inputNotes
		FacingPorts int `json:"facing_ports"`
		Devices     int `json:"devices"`
	} `json:"device_info"`
	Events struct {
		Read       int64                 `json:"read"`
		Candidates int64                 `json:"candidates"`
		Skipped    map[string]int64      `json:"skipped,omitempty"`
		Examples   map[string][]Location `json:"examples,omitempty"`
		inputNotes
		Duplicates int64 `json:"duplicates"`
	} `json:"events"`
	Alerts struct {
		Matched        int    `json:"matched"`
		Created        int    `json:"created"`
		AlreadyPresent int    `json:"already_present"`
		Failed         int    `json:"failed"`
		Index          string `json:"index,omitempty"`
	} `json:"alerts"`
}

// inputNotes is what a read saw besides its rows: rows of other tables,
// and the columns a CSV file lacks.
type inputNotes struct {
	OtherTables    map[string]int64    `json:"other_tables,omitempty"`
	MissingColumns map[string][]string `json:"missing_columns,omitempty"`
}

func (n *inputNotes) write(b *strings.Builder) {
	if len(n.OtherTables) > 0 {
		fmt.Fprintf(b, "      other tables (not read): %s\n", countsText(n.OtherTables))
	}
	for _, file := range sortedKeys(n.MissingColumns) {
		fmt.Fprintf(b, "      missing columns: %s: %s\n", file, strings.Join(n.MissingColumns[file], ", "))
	}
}

// Location is where a skipped row came from (correlation.Location).
type Location struct {
	Source string `json:"source,omitempty"`
	Line   int    `json:"line,omitempty"`
	DocID  string `json:"doc_id,omitempty"`
}

func (l Location) String() string {
	switch {
	case l.Line > 0:
		return fmt.Sprintf("%s:%d", l.Source, l.Line)
	case l.DocID != "":
		return l.Source + "/" + l.DocID
	default:
		return l.Source
	}
}

// runTotals is what the host itself counted.
type runTotals struct {
	Written int           // alerts written to the output
	Out     string        // output path, "-" for stdout
	Elapsed time.Duration // wall time on the host, plugin start included
	Startup time.Duration // plugin start-up and handshake
}

// writeSummary renders the end-of-run summary for people.
func writeSummary(w io.Writer, raw json.RawMessage, t runTotals) {
	var s Summary
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
	s.DeviceInfo.write(&b)
	fmt.Fprintf(&b, "  network events: %d rows read, %d skipped, %d candidates",
		s.Events.Read, sumInt(s.Events.Skipped), s.Events.Candidates)
	if s.Events.Duplicates > 0 {
		fmt.Fprintf(&b, ", %d duplicate rows", s.Events.Duplicates)
	}
	b.WriteByte('\n')
	skipLines(&b, s.Events.Skipped, s.Events.Examples)
	s.Events.write(&b)
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

func skipLines(b *strings.Builder, skipped map[string]int64, examples map[string][]Location) {
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
