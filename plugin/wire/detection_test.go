package wire

import (
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
		if err := ValidateDetectionName(name); (err == nil) != ok {
			t.Errorf("ValidateDetectionName(%q) = %v, want ok=%v", name, err, ok)
		}
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
