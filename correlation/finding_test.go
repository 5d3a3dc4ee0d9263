package correlation

import (
	"net/netip"
	"testing"
	"time"
)

// goldenFinding is a fixed input whose id was computed outside Go:
//
//	printf 'edgewatch-defender-ti-inbound\x1f4f8e2b1c9d0a7e6f5b4c3d2e1f0a9b8c7d6e5f4a\x1f31337\x1f2026-08-22T10:15:30.1234567Z\x1f77.90.185.20\x1f3389' | sha256sum
//
// If this test fails, every alert id changes and reruns write duplicates:
// change FindingID only with a migration note.
const goldenFindingID = "3007e521c175ed80b83319ac97d5c0cd7f64d73b0ca5ecefb135bbd00a595473"

var (
	goldenDevice = "4f8e2b1c9d0a7e6f5b4c3d2e1f0a9b8c7d6e5f4a"
	goldenTime   = time.Date(2026, 8, 22, 10, 15, 30, 123456700, time.UTC)
	goldenRemote = netip.MustParseAddr("77.90.185.20")
)

func TestFindingIDGolden(t *testing.T) {
	got := FindingID(DefaultRuleID, goldenDevice, "31337", goldenTime, goldenRemote, 3389)
	if got != goldenFindingID {
		t.Fatalf("FindingID = %s, want %s", got, goldenFindingID)
	}
	if len(got) != 64 {
		t.Fatalf("len = %d, want 64", len(got))
	}
}

func TestFindingIDNormalisesInput(t *testing.T) {
	tests := []struct {
		name   string
		t      time.Time
		remote netip.Addr
	}{
		{"same instant in another zone", goldenTime.In(time.FixedZone("CEST", 2*3600)), goldenRemote},
		{"IPv4-mapped remote", goldenTime, netip.MustParseAddr("::ffff:77.90.185.20")},
		{"monotonic clock reading stripped", goldenTime.Round(0), goldenRemote},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FindingID(DefaultRuleID, goldenDevice, "31337", tt.t, tt.remote, 3389); got != goldenFindingID {
				t.Errorf("FindingID = %s, want the golden id", got)
			}
		})
	}
}

func TestFindingIDDistinct(t *testing.T) {
	base := func() (string, string, string, time.Time, netip.Addr, int) {
		return DefaultRuleID, goldenDevice, "31337", goldenTime, goldenRemote, 3389
	}
	tests := []struct {
		name string
		id   func() string
	}{
		{"rule", func() string { _, d, r, tm, a, p := base(); return FindingID("other-rule", d, r, tm, a, p) }},
		{"device", func() string { ru, _, r, tm, a, p := base(); return FindingID(ru, "other", r, tm, a, p) }},
		{"report", func() string { ru, d, _, tm, a, p := base(); return FindingID(ru, d, "31338", tm, a, p) }},
		{"time +100ns", func() string { ru, d, r, tm, a, p := base(); return FindingID(ru, d, r, tm.Add(100), a, p) }},
		{"remote", func() string {
			ru, d, r, tm, _, p := base()
			return FindingID(ru, d, r, tm, netip.MustParseAddr("77.90.185.21"), p)
		}},
		{"port", func() string { ru, d, r, tm, a, _ := base(); return FindingID(ru, d, r, tm, a, 3390) }},
		// Field boundaries: moving text from one field to the next must change the id.
		{"shifted boundary", func() string {
			_, _, _, tm, a, p := base()
			return FindingID(DefaultRuleID+"\x1f"+goldenDevice, "", "31337", tm, a, p)
		}},
		{"separator inside a field", func() string {
			ru, _, _, tm, a, p := base()
			return FindingID(ru, goldenDevice+"\x1f31337", "", tm, a, p)
		}},
	}
	seen := map[string]string{goldenFindingID: "base"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := tt.id()
			if prev, dup := seen[id]; dup {
				t.Fatalf("id %s equals the one for %q", id, prev)
			}
			seen[id] = tt.name
		})
	}
}

func TestFindingIDStable(t *testing.T) {
	a := FindingID("r", "d", "1", goldenTime, goldenRemote, 1)
	for range 3 {
		if b := FindingID("r", "d", "1", goldenTime, goldenRemote, 1); b != a {
			t.Fatalf("FindingID not deterministic: %s vs %s", a, b)
		}
	}
}
