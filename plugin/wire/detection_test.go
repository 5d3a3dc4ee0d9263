package wire

import (
	"errors"
	"strings"
	"testing"
	"time"
)

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
		{"retro-hunt longer than the backfill limit", Config{RetroLookback: Duration(30 * 24 * time.Hour)}, false},
		{"retro-hunt with the limit raised", Config{RetroLookback: Duration(30 * 24 * time.Hour), MaxBackfill: Duration(30 * 24 * time.Hour)}, true},
		{"tiny backfill limit", Config{MaxBackfill: Duration(time.Millisecond)}, false},
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
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"plain", "defender-ti", true},
		{"one character", "a", true},
		{"underscore and digit", "x_z-1", true},
		{"64 characters", strings.Repeat("a", 64), true},
		{"65 characters", strings.Repeat("a", 65), false},
		{"dotted", "defender.ti", false},
		{"empty", "", false},
		{"upper case", "Upper", false},
		{"leading dash", "-lead", false},
		{"leading underscore", "_lead", false},
		{"space", "has space", false},
		{"slash", "a/b", false},
		{"non-ASCII", "défense", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateDetectionName(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("ValidateDetectionName(%q) = %v, want ok=%v", tc.in, err, tc.ok)
			}
			if err != nil && (!errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "'_' and '-'")) {
				t.Errorf("error %q does not say what a name may hold", err)
			}
		})
	}
}

func TestDurationUnmarshalText(t *testing.T) {
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

func TestCheckBackfill(t *testing.T) {
	end := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		cfg         Config
		span        time.Duration
		wantWindows int // 0 = accepted
		wantText    string
	}{
		{"a day", Config{}, 24 * time.Hour, 0, ""},
		{"exactly the default limit", Config{}, 7 * 24 * time.Hour, 0, ""},
		{"30 days over the default", Config{}, 30 * 24 * time.Hour, 720, "spans 30d (720 windows of 1h), over the backfill limit max_backfill 7d"},
		{"30 days of one-minute windows", Config{MaxWindow: Duration(time.Minute)}, 30 * 24 * time.Hour, 43200, "(43200 windows of 1m)"},
		{"30 days with the limit raised", Config{MaxBackfill: Duration(31 * 24 * time.Hour)}, 30 * 24 * time.Hour, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.CheckBackfill(Window{From: end.Add(-tc.span), To: end})
			if tc.wantWindows == 0 {
				if err != nil {
					t.Fatalf("CheckBackfill: %v", err)
				}
				return
			}
			var e *BackfillTooLongError
			if !errors.As(err, &e) || !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("CheckBackfill = %v, want a *BackfillTooLongError", err)
			}
			if e.Windows() != tc.wantWindows || !strings.Contains(err.Error(), tc.wantText) || !strings.Contains(err.Error(), "raise max_backfill") {
				t.Errorf("%d windows, %q: want %d windows and %q with how to raise the limit", e.Windows(), err, tc.wantWindows, tc.wantText)
			}
		})
	}
}
