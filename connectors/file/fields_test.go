package file

import (
	"testing"

	"github.com/edgewatch/edgewatch/connectors/internal/jsonscan"
	"github.com/edgewatch/edgewatch/internal/ipv4"
)

func TestParseAddrAgreesWithNetip(t *testing.T) {
	for _, s := range []string{
		"1.2.3.4", "255.255.255.255", "0.0.0.0", "01.2.3.4", "1.2.3", "1.2.3.4.5", "256.1.1.1",
		"1..2.3", "::ffff:1.2.3.4", "2001:db8::1", "fe80::1%eth0", "", "1.2.3.4 ", "a.b.c.d", "1.2.3.04",
	} {
		a, ok := parseAddr([]byte(s))
		if v4, ok4 := ipv4.Parse([]byte(s)); ok4 && v4 != a {
			t.Errorf("%q: fast path %v, parseAddr %v", s, v4, a)
		}
		var want string
		if ok {
			want = a.String()
		}
		if got := netipString(s); got != want {
			t.Errorf("parseAddr(%q) = %q, netip says %q", s, want, got)
		}
	}
}

func TestParsePort(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int
		st   fieldStatus
	}{
		{"number", `3389`, 3389, fieldOK},
		{"string", `"3389"`, 3389, fieldOK},
		{"string with spaces", `" 443 "`, 443, fieldOK},
		{"float", `443.0`, 443, fieldOK},
		{"zero", `0`, 0, fieldOK},
		{"max", `65535`, 65535, fieldOK},
		{"too big", `65536`, -1, fieldBad},
		{"negative", `-1`, -1, fieldBad},
		{"fraction", `443.5`, -1, fieldBad},
		{"name", `"https"`, -1, fieldBad},
		{"null", `null`, -1, fieldMissing},
		{"empty string", `""`, -1, fieldMissing},
		{"bool", `true`, -1, fieldBad},
		{"object", `{}`, -1, fieldBad},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, kind, err := jsonscan.ScanValue([]byte(tc.in), 0)
			if err != nil {
				t.Fatal(err)
			}
			got, st := parsePort([]byte(tc.in), kind)
			if got != tc.want || st != tc.st {
				t.Errorf("parsePort(%s) = %d, %v; want %d, %v", tc.in, got, st, tc.want, tc.st)
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in, want string // want "" = does not parse
	}{
		{"2025-11-03T10:00:00.1234567Z", "2025-11-03T10:00:00.1234567Z"},
		{"2025-11-03T10:00:00Z", "2025-11-03T10:00:00Z"},
		{"2025-11-03T12:00:00+02:00", "2025-11-03T10:00:00Z"},
		{"2025-11-03T10:00:00.123", "2025-11-03T10:00:00.123Z"},
		{"2025-11-03 10:00:00.5", "2025-11-03T10:00:00.5Z"},
		{"11/3/2025, 10:00:00.000 AM", "2025-11-03T10:00:00Z"},
		{"Nov 3, 2025 10:00:00 PM", "2025-11-03T22:00:00Z"},
		{"yesterday", ""},
		{"", ""},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := parseTime([]byte(tc.in))
			if tc.want == "" {
				if ok {
					t.Errorf("parsed %q as %v", tc.in, got)
				}
				return
			}
			if !ok || got.Format("2006-01-02T15:04:05.999999999Z07:00") != tc.want {
				t.Errorf("parseTime(%q) = %v, %v; want %s", tc.in, got, ok, tc.want)
			}
		})
	}
}
