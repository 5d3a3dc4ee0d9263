package cli

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/edgewatch/edgewatch/plugin"
	"github.com/google/go-cmp/cmp"
)

// TestTableFeedColumns: the IPsum count column shows only for IPsum alerts;
// alerts from another feed are labelled with the feed's name (issue 18).
func TestTableFeedColumns(t *testing.T) {
	alert := func(provider, feed string, count int) plugin.Alert {
		doc := `{"threat":{"indicator":{"ip":"45.155.205.233","provider":"` + provider + `"},"feed":{"name":"` + feed + `"}}}`
		return plugin.Alert{Document: json.RawMessage(doc), Row: plugin.Row{DeviceName: "web01", ThreatIntelligenceIP: "45.155.205.233",
			LocalPort: 443, RemotePort: 50000, IPsumCount: count, Severity: "medium"}}
	}
	grouped := func(events int) plugin.Alert {
		a := alert("IPsum", "ipsum", 7)
		a.Document = json.RawMessage(`{"threat":{"indicator":{"provider":"IPsum"},"feed":{"name":"ipsum"}},"edgewatch":{"suppression":{"docs_count":` + strconv.Itoa(events) + `}}}`)
		return a
	}
	// withRowFeed is a as the plugin sends it: the feed in its row.
	withRowFeed := func(a plugin.Alert) plugin.Alert {
		a.Row.Feed, a.Row.Provider = "ipsum", "IPsum"
		return a
	}
	tests := []struct {
		name  string
		batch []plugin.Alert
		want  []string // lines, fields joined by one space
	}{
		{"IPsum", []plugin.Alert{alert("IPsum", "ipsum", 7)}, []string{
			"Timestamp DeviceName ThreatIntelligenceIP LocalPort InitiatingProcessFileName RemotePort IPsumCount Severity",
			"web01 45.155.205.233 443 - 50000 7 medium"}},
		{"IPsum levels file: no count", []plugin.Alert{alert("IPsum", "ipsum", 0)}, []string{
			"Timestamp DeviceName ThreatIntelligenceIP LocalPort InitiatingProcessFileName RemotePort IPsumCount Severity",
			"web01 45.155.205.233 443 - 50000 - medium"}},
		{"plain list", []plugin.Alert{alert("corp-blocklist", "corp-blocklist", 0)}, []string{
			"Timestamp DeviceName ThreatIntelligenceIP LocalPort InitiatingProcessFileName RemotePort Feed Severity",
			"web01 45.155.205.233 443 - 50000 corp-blocklist medium"}},
		{"both", []plugin.Alert{alert("IPsum", "ipsum", 3), alert("corp", "corp", 0)}, []string{
			"Timestamp DeviceName ThreatIntelligenceIP LocalPort InitiatingProcessFileName RemotePort IPsumCount Feed Severity",
			"web01 45.155.205.233 443 - 50000 3 ipsum medium",
			"web01 45.155.205.233 443 - 50000 - corp medium"}},
		{"grouped: the count column", []plugin.Alert{grouped(300), grouped(1)}, []string{
			"Timestamp DeviceName ThreatIntelligenceIP LocalPort InitiatingProcessFileName RemotePort IPsumCount Severity Count",
			"web01 45.155.205.233 443 - 50000 7 medium 300",
			"web01 45.155.205.233 443 - 50000 7 medium 1"}},
		{"grouped, feed in the row: the count from the document", []plugin.Alert{withRowFeed(grouped(42)), withRowFeed(alert("IPsum", "ipsum", 5))}, []string{
			"Timestamp DeviceName ThreatIntelligenceIP LocalPort InitiatingProcessFileName RemotePort IPsumCount Severity Count",
			"web01 45.155.205.233 443 - 50000 7 medium 42",
			"web01 45.155.205.233 443 - 50000 5 medium -"}},
		{"feed in the row", []plugin.Alert{{Document: json.RawMessage(`{}`), Row: plugin.Row{DeviceName: "web01", ThreatIntelligenceIP: "45.155.205.233",
			LocalPort: 443, RemotePort: 50000, Severity: "medium", Feed: "corp", Provider: "corp"}}}, []string{
			"Timestamp DeviceName ThreatIntelligenceIP LocalPort InitiatingProcessFileName RemotePort Feed Severity",
			"web01 45.155.205.233 443 - 50000 corp medium"}},
		{"no alerts", nil, []string{
			"Timestamp DeviceName ThreatIntelligenceIP LocalPort InitiatingProcessFileName RemotePort IPsumCount Severity"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			tw := newTableWriter(&b)
			if err := tw.Write(plugin.NewAlertBatch(tt.batch)); err != nil {
				t.Fatal(err)
			}
			if err := tw.Flush(); err != nil {
				t.Fatal(err)
			}
			var got []string
			for l := range strings.SplitSeq(strings.TrimSpace(b.String()), "\n") {
				got = append(got, strings.Join(strings.Fields(l), " "))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("table (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTableNeedsRows: a table is rendered from the display columns the host
// asks for; a batch without them is the plugin's error, not a blank table.
func TestTableNeedsRows(t *testing.T) {
	var b strings.Builder
	err := newTableWriter(&b).Write(plugin.AlertBatch{NDJSON: []byte("{}\n")})
	if !errors.Is(err, plugin.ErrInvalidResponse) {
		t.Errorf("error %v, want ErrInvalidResponse", err)
	}
}

// TestNDJSONWritesTheBytes: the NDJSON output is the plugin's bytes as they
// are, batch after batch.
func TestNDJSONWritesTheBytes(t *testing.T) {
	var b strings.Builder
	w, err := newAlertWriter("ndjson", &b)
	if err != nil {
		t.Fatal(err)
	}
	batches := []string{"{\"a\":\"\\u003c\"}\n{\"b\":2}\n", "{\"raw\":{ \"x\" : 1 }}\n"}
	for _, nd := range batches {
		if err := w.Write(plugin.AlertBatch{NDJSON: []byte(nd)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if b.String() != strings.Join(batches, "") {
		t.Errorf("output %q, want the batches as they are", b.String())
	}
}

// TestSummarySinks: the summary states per sink what was created, already
// present and written, and the alerts written nowhere with their file:line.
func TestSummarySinks(t *testing.T) {
	raw := []byte(`{"run_id":"r1","alerts":{"matched":10,"index":"edgewatch-alerts-default","created":0,"already_present":9,
		"skipped":{"alert too large":1},"examples":{"alert too large":[{"source":"ev.csv","line":16}]}}}`)
	tests := map[string]struct {
		totals runTotals
		want   []string
	}{
		"index and file": {totals: runTotals{Written: 9, Out: "alerts.ndjson", Format: "ndjson"}, want: []string{
			"  alerts:         10 matched, 1 written nowhere\n",
			"      skipped alert too large: 1 (first: ev.csv:16)\n",
			"  written to:     index edgewatch-alerts-default: 0 created, 9 already present\n",
			"                  file alerts.ndjson: 9 written (ndjson)\n"}},
		"stdout table": {totals: runTotals{Written: 9, Out: "-", Format: "table"}, want: []string{
			"                  stdout: 9 written (table)\n"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var b strings.Builder
			writeSummary(&b, raw, tc.totals)
			for _, w := range tc.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("summary lacks %q:\n%s", w, b.String())
				}
			}
		})
	}
	var b strings.Builder
	writeSummary(&b, []byte(`{"alerts":{"matched":2}}`), runTotals{Written: 2, Out: "-", Format: "ndjson", NoIndex: true})
	if !strings.Contains(b.String(), "  written to:     stdout: 2 written (ndjson)\n                  no alert index, no run record (--no-index)\n") {
		t.Errorf("--no-index summary:\n%s", b.String())
	}
}
