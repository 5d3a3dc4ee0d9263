package incremental

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func win(from, to string) Window { return Window{From: ts(from), To: ts(to)} }

func TestPlan(t *testing.T) {
	cfg := Config{} // defaults: overlap 10m, delay 1m, max window 1h, initial 24h
	tests := []struct {
		name       string
		now        string
		checkpoint string // "" = never ran
		cfg        Config
		want       []Window
	}{
		{
			name: "first run covers the initial look-back in bounded windows",
			now:  "2026-03-02T12:01:00Z",
			cfg:  Config{InitialLookback: Duration(3 * time.Hour)},
			want: []Window{
				win("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z"),
				win("2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z"),
				win("2026-03-02T11:00:00Z", "2026-03-02T12:00:00Z"),
			},
		},
		{
			name:       "normal run re-scans the overlap and stops at now minus delay",
			now:        "2026-03-02T12:06:00Z",
			checkpoint: "2026-03-02T12:00:00Z",
			want:       []Window{win("2026-03-02T11:50:00Z", "2026-03-02T12:05:00Z")},
		},
		{
			name:       "overlap at start: the window begins before the checkpoint",
			now:        "2026-03-02T12:02:00Z",
			checkpoint: "2026-03-02T12:00:00Z",
			cfg:        Config{Overlap: Duration(30 * time.Minute)},
			want:       []Window{win("2026-03-02T11:30:00Z", "2026-03-02T12:01:00Z")},
		},
		{
			name:       "downtime catch-up: oldest first, at most max_window each, contiguous",
			now:        "2026-03-02T15:31:00Z",
			checkpoint: "2026-03-02T12:00:00Z",
			want: []Window{
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
			cfg:        Config{MaxWindows: 2},
			want: []Window{
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
			cfg:        Config{Overlap: Duration(time.Second), Delay: Duration(time.Second)},
			want:       []Window{win("2026-03-02T11:59:59Z", "2026-03-02T12:05:59Z")},
		},
		{
			name: "non-UTC now gives UTC windows",
			now:  "2026-03-02T14:06:00+02:00",
			cfg:  Config{InitialLookback: Duration(30 * time.Minute)},
			want: []Window{win("2026-03-02T11:35:00Z", "2026-03-02T12:05:00Z")},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var cp time.Time
			if tc.checkpoint != "" {
				cp = ts(tc.checkpoint)
			}
			c := cfg
			if tc.cfg != (Config{}) {
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
	ws := Plan(now, ts("2026-03-02T12:00:00Z"), Config{})
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

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"zero is defaults", Config{}, true},
		{"negative overlap", Config{Overlap: Duration(-time.Minute)}, false},
		{"tiny window", Config{MaxWindow: Duration(time.Millisecond)}, false},
		{"tiny lease", Config{LeaseTTL: Duration(time.Millisecond)}, false},
		{"negative max windows", Config{MaxWindows: -1}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestValidateName(t *testing.T) {
	for name, ok := range map[string]bool{
		"defender-ti": true, "a": true, "x.y_z-1": true,
		"": false, "Upper": false, "-lead": false, "has space": false, "a/b": false,
	} {
		if err := ValidateName(name); (err == nil) != ok {
			t.Errorf("ValidateName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}

func TestDurationParse(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"10m", 10 * time.Minute, true},
		{"7d", 7 * 24 * time.Hour, true},
		{"1d12h", 36 * time.Hour, true},
		{"", 0, true},
		{"xd", 0, false},
		{"5 parsecs", 0, false},
	}
	for _, tc := range tests {
		var d Duration
		err := d.UnmarshalText([]byte(tc.in))
		if (err == nil) != tc.ok || (tc.ok && d.D() != tc.want) {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v ok=%v", tc.in, d, err, tc.want, tc.ok)
		}
	}
	var d Duration
	if err := d.UnmarshalJSON([]byte(`"2h"`)); err != nil || d.D() != 2*time.Hour {
		t.Errorf("UnmarshalJSON string: %v %v", d, err)
	}
	if err := d.UnmarshalJSON([]byte(`1000`)); err != nil || d.D() != time.Microsecond {
		t.Errorf("UnmarshalJSON number: %v %v", d, err)
	}
}
