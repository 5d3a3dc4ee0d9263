package correlation

import (
	"errors"
	"net/netip"
	"testing"
)

func TestParsePrefix(t *testing.T) {
	tests := map[string]struct {
		in   string
		want string // "" for an error
	}{
		"ipv4":             {"203.0.113.7", "203.0.113.7/32"},
		"ipv6":             {"2001:db8::1", "2001:db8::1/128"},
		"mapped ipv4":      {"::ffff:203.0.113.7", "203.0.113.7/32"},
		"zone dropped":     {"fe80::1%eth0", "fe80::1/128"},
		"cidr":             {"198.51.100.0/24", "198.51.100.0/24"},
		"cidr host bits":   {"10.1.2.3/8", "10.0.0.0/8"},
		"ipv6 cidr":        {"2001:db8::/32", "2001:db8::/32"},
		"spaces":           {"  192.0.2.1\t", "192.0.2.1/32"},
		"empty":            {"", ""},
		"word":             {"not-a-cidr", ""},
		"bad bits":         {"192.0.2.0/33", ""},
		"slash without ip": {"/24", ""},
		"address and junk": {"192.0.2.1 x", ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParsePrefix(tc.in)
			if tc.want == "" {
				if !errors.Is(err, ErrNotPrefix) {
					t.Fatalf("ParsePrefix(%q) = %v, %v; want ErrNotPrefix", tc.in, got, err)
				}
				return
			}
			if err != nil || got != netip.MustParsePrefix(tc.want) {
				t.Fatalf("ParsePrefix(%q) = %v, %v; want %s", tc.in, got, err, tc.want)
			}
		})
	}
}
