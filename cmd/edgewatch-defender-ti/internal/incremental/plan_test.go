package incremental

import (
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/plugin/wire"
	"github.com/google/go-cmp/cmp"
)

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func win(from, to string) wire.Window { return wire.Window{From: ts(from), To: ts(to)} }

func TestPlan(t *testing.T) {
	cfg := wire.Config{} // defaults: overlap 10m, delay 1m, max window 1h, initial 24h
	tests := []struct {
		name       string
		now        string
		checkpoint string // "" = never ran
		cfg        wire.Config
		want       []wire.Window
	}{
		{
			name: "first run covers the initial look-back in bounded windows",
			now:  "2026-03-02T12:01:00Z",
			cfg:  wire.Config{InitialLookback: wire.Duration(3 * time.Hour)},
			want: []wire.Window{
				win("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z"),
				win("2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z"),
				win("2026-03-02T11:00:00Z", "2026-03-02T12:00:00Z"),
			},
		},
		{
			name:       "normal run re-scans the overlap and stops at now minus delay",
			now:        "2026-03-02T12:06:00Z",
			checkpoint: "2026-03-02T12:00:00Z",
			want:       []wire.Window{win("2026-03-02T11:50:00Z", "2026-03-02T12:05:00Z")},
		},
		{
			name:       "overlap at start: the window begins before the checkpoint",
			now:        "2026-03-02T12:02:00Z",
			checkpoint: "2026-03-02T12:00:00Z",
			cfg:        wire.Config{Overlap: wire.Duration(30 * time.Minute)},
			want:       []wire.Window{win("2026-03-02T11:30:00Z", "2026-03-02T12:01:00Z")},
		},
		{
			name:       "downtime catch-up: oldest first, at most max_window each, contiguous",
			now:        "2026-03-02T15:31:00Z",
			checkpoint: "2026-03-02T12:00:00Z",
			want: []wire.Window{
				win("2026-03-02T11:50:00Z", "2026-03-02T12:50:00Z"),
				win("2026-03-02T12:50:00Z", "2026-03-02T13:50:00Z"),
				win("2026-03-02T13:50:00Z", "2026-03-02T14:50:00Z"),
				win("2026-03-02T14:50:00Z", "2026-03-02T15:30:00Z"),
			},
		},
		{
			name:       "catch-up capped by max_windows leaves the rest for the next call",
			now:        "2026-03-02T15:31:00Z",
			checkpoint: "2026-03-02T12:00:00Z",
			cfg:        wire.Config{MaxWindows: 2},
			want: []wire.Window{
				win("2026-03-02T11:50:00Z", "2026-03-02T12:50:00Z"),
				win("2026-03-02T12:50:00Z", "2026-03-02T13:50:00Z"),
			},
		},
		{
			name:       "clock skew: now minus delay before the checkpoint is a no-op",
			now:        "2026-03-02T11:58:00Z",
			checkpoint: "2026-03-02T12:00:00Z",
			want:       nil,
		},
		{
			name:       "now minus delay equal to the checkpoint is a no-op",
			now:        "2026-03-02T12:01:00Z",
			checkpoint: "2026-03-02T12:00:00Z",
			want:       nil,
		},
		{
			name:       "sub-second now is truncated so windows end on a second",
			now:        "2026-03-02T12:06:00.987Z",
			checkpoint: "2026-03-02T12:00:00Z",
			cfg:        wire.Config{Overlap: wire.Duration(time.Second), Delay: wire.Duration(time.Second)},
			want:       []wire.Window{win("2026-03-02T11:59:59Z", "2026-03-02T12:05:59Z")},
		},
		{
			name: "non-UTC now gives UTC windows",
			now:  "2026-03-02T14:06:00+02:00",
			cfg:  wire.Config{InitialLookback: wire.Duration(30 * time.Minute)},
			want: []wire.Window{win("2026-03-02T11:35:00Z", "2026-03-02T12:05:00Z")},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var cp time.Time
			if tc.checkpoint != "" {
				cp = ts(tc.checkpoint)
			}
			c := cfg
			if tc.cfg != (wire.Config{}) {
				c = tc.cfg
			}
			got := Plan(ts(tc.now), cp, c)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Plan (-want +got):\n%s", diff)
			}
			for i := 1; i < len(got); i++ {
				if !got[i].From.Equal(got[i-1].To) {
					t.Errorf("window %d does not start where %d ends", i, i-1)
				}
			}
		})
	}
}

func TestPlanDayOfDowntimeIsBounded(t *testing.T) {
	now := ts("2026-03-03T12:01:00Z")
	ws := Plan(now, ts("2026-03-02T12:00:00Z"), wire.Config{})
	if len(ws) != 25 { // 24h + 10m overlap in 1h windows
		t.Fatalf("got %d windows, want 25", len(ws))
	}
	for _, w := range ws {
		if w.Duration() > time.Hour {
			t.Errorf("window %s longer than max_window", w)
		}
	}
	if got := ws[len(ws)-1].To; !got.Equal(ts("2026-03-03T12:00:00Z")) {
		t.Errorf("last window ends %s, want now − delay", got)
	}
}
