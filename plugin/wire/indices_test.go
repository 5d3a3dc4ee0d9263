package wire

import (
	"testing"
	"time"
)

func TestAliases(t *testing.T) {
	tests := []struct {
		name                 string
		s                    Settings
		alerts, findingsWant string
	}{
		{"default detection", Settings{}, "edgewatch-alerts-default", "edgewatch-findings-default"},
		{"named detection", Settings{Detection: "dmz"}, "edgewatch-alerts-dmz", "edgewatch-findings-dmz"},
		{"alert index wins", Settings{Detection: "dmz", Cluster: &ClusterSettings{AlertIndex: "edgewatch-alerts-shared"}}, "edgewatch-alerts-shared", "edgewatch-findings-shared"},
		{"custom alias", Settings{Cluster: &ClusterSettings{AlertIndex: "soc-alerts"}}, "soc-alerts", "soc-alerts-findings"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.s.AlertAliasOf(); got != tc.alerts {
				t.Errorf("AlertAliasOf = %s, want %s", got, tc.alerts)
			}
			if got := FindingsAlias(tc.s.AlertAliasOf()); got != tc.findingsWant {
				t.Errorf("FindingsAlias = %s, want %s", got, tc.findingsWant)
			}
		})
	}
}

// TestDecodeGrouping: group_by and group_window are settings keys (a serve
// detection's settings and the run config take them).
func TestDecodeGrouping(t *testing.T) {
	s, err := DecodeSettings([]byte(`{"group_by":["host.id","source.ip"],"group_window":"12h"}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.GroupBy) != 2 || s.GroupBy[1] != "source.ip" || s.GroupWindow.D() != 12*time.Hour {
		t.Errorf("settings %+v", s)
	}
}
