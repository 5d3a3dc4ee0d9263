package wire

import (
	"encoding/json"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	cases := []struct {
		name, in string
		want     time.Duration
		wantErr  bool
	}{
		{"empty is zero", "", 0, false},
		{"go duration", "90m", 90 * time.Minute, false},
		{"days", "30d", 30 * 24 * time.Hour, false},
		{"days and hours", "1d12h", 36 * time.Hour, false},
		{"spaces", " 5m ", 5 * time.Minute, false},
		{"bad days", "xd", 0, true},
		{"garbage", "soon", 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseDuration(tc.in)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("ParseDuration(%q) = %v, %v; want %v, err=%v", tc.in, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestJSONRoundTrip(t *testing.T) {
	cases := []struct {
		name, in string
		want     time.Duration
	}{
		{"string", `"7d"`, 7 * 24 * time.Hour},
		{"nanoseconds", `60000000000`, time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var d Duration
			if err := json.Unmarshal([]byte(tc.in), &d); err != nil || d.D() != tc.want {
				t.Fatalf("unmarshal %s = %v, %v", tc.in, d, err)
			}
			b, _ := json.Marshal(d)
			var back Duration
			if err := json.Unmarshal(b, &back); err != nil || back != d {
				t.Fatalf("round trip %s -> %s -> %v, %v", tc.in, b, back, err)
			}
		})
	}
	var d Duration
	if err := json.Unmarshal([]byte(`true`), &d); err == nil {
		t.Fatal("a boolean must not read as a duration")
	}
}

func TestDurationHuman(t *testing.T) {
	tests := []struct {
		name string
		in   time.Duration
		want string
	}{
		{"zero", 0, "0s"},
		{"days", 30 * 24 * time.Hour, "30d"},
		{"day and hours", 36 * time.Hour, "1d12h"},
		{"hours and minutes", 90 * time.Minute, "1h30m"},
		{"minutes", 5 * time.Minute, "5m"},
		{"seconds", 41 * time.Second, "41s"},
		{"sub-second rest", 1500 * time.Millisecond, "1s500ms"},
		{"negative", -2 * time.Hour, "-2h"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Duration(tc.in).Human()
			if got != tc.want {
				t.Fatalf("Human(%v) = %q, want %q", tc.in, got, tc.want)
			}
			if tc.in > 0 {
				if back, err := ParseDuration(got); err != nil || back != tc.in {
					t.Errorf("ParseDuration(%q) = %v, %v", got, back, err)
				}
			}
		})
	}
}
