package ipv4

import (
	"net/netip"
	"testing"
)

var agreementCases = []string{
	"1.2.3.4", "0.0.0.0", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1.2.3", "1.2.3.4.5",
	"1..2.3", ".1.2.3", "1.2.3.", "1.2.3.-4", "1.2.3.4 ", "", "1.2.3.00", "1.2.3.0", "1.2.3.04",
	"10.20.30.40", "::1", "::ffff:1.2.3.4", "2001:db8::1", "fe80::1%eth0", "1.2.3.4/32",
	"1.2.3.1000", "a.b.c.d",
}

func TestParseAgreesWithNetip(t *testing.T) {
	for _, s := range agreementCases {
		t.Run(s, func(t *testing.T) {
			checkAgreement(t, []byte(s))
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range agreementCases {
		f.Add([]byte(s))
	}
	f.Fuzz(checkAgreement)
}

// checkAgreement: what Parse accepts, netip parses to the same address;
// what it refuses is not an IPv4 address netip parses.
func checkAgreement(t *testing.T, b []byte) {
	got, ok := Parse(b)
	want, err := netip.ParseAddr(string(b))
	if ok {
		if err != nil || want != got {
			t.Fatalf("Parse(%q) = %v, netip says %v, %v", b, got, want, err)
		}
		return
	}
	if err == nil && want.Is4() {
		t.Fatalf("Parse(%q) refused, netip parsed %v", b, want)
	}
}
