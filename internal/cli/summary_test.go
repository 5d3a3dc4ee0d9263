package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/plugin/wire"
)

// TestGroupSummary: a grouping run reports the events matched, where the
// grouped alerts went (in a cluster: the alert alias, what happened to the
// groups, and the findings stored as evidence) and the groups.
func TestGroupSummary(t *testing.T) {
	tests := []struct {
		name string
		sum  wire.Summary
		want []string
	}{
		{"file", wire.Summary{Alerts: wire.AlertSummary{Matched: 2159},
			Groups: &wire.GroupSummary{By: []string{"host.id", "source.ip", "destination.port"}, Window: wire.Duration(6 * time.Hour), Touched: 639, Created: 639}},
			[]string{"  alerts:         2159 events matched, 639 grouped alerts\n",
				"  written to:     file out.ndjson: 639 written (ndjson)\n",
				"  groups:         639 by host.id, source.ip, destination.port per 6h: 639 created, 0 updated, 0 unchanged\n"}},
		{"cluster", wire.Summary{Alerts: wire.AlertSummary{Matched: 930, Index: "edgewatch-alerts-x", Created: 800, AlreadyPresent: 130},
			Groups: &wire.GroupSummary{By: []string{"host.id"}, Window: wire.Duration(24 * time.Hour), Touched: 268, Created: 164, Updated: 36,
				Unchanged: 68, Conflicts: 3, Index: "edgewatch-alerts-x", EvidenceIndex: "edgewatch-findings-x"}},
			[]string{"  alerts:         930 events matched, 268 grouped alerts\n",
				"  written to:     index edgewatch-alerts-x: 164 groups created, 36 updated, 68 unchanged\n",
				"                  findings edgewatch-findings-x: 800 created, 130 already present\n",
				"                  file out.ndjson: 200 written (ndjson)\n",
				"  groups:         268 by host.id per 1d: 164 created, 36 updated, 68 unchanged (3 writes retried after another writer); index edgewatch-alerts-x\n"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw, _ := json.Marshal(tc.sum)
			var b strings.Builder
			written := 639
			if tc.sum.Groups.Index != "" {
				written = 200
			}
			writeSummary(&b, raw, runTotals{Written: written, Out: "out.ndjson", Format: "ndjson"})
			for _, w := range tc.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("summary lacks %q:\n%s", w, b.String())
				}
			}
		})
	}
}
