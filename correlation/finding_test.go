package correlation

import (
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// goldenFinding is a fixed input whose id was computed outside Go (scheme 2:
// the table after the rule id, the time at millisecond precision):
//
//	printf 'edgewatch-defender-ti-inbound\x1fDeviceNetworkEvents\x1f4f8e2b1c9d0a7e6f5b4c3d2e1f0a9b8c7d6e5f4a\x1f31337\x1f2026-08-22T10:15:30.123Z\x1f77.90.185.20\x1f3389' | sha256sum
//
// If this test fails, every alert id changes and reruns write duplicates:
// change FindingID only with a new FindingIDVersion and a migration note.
// (Scheme 1 gave 3007e521c175ed80… for the same input.)
const goldenFindingID = "dc3086271b60e1378440e13c56e3022b6ef8c900bfa84f35b0ea32f661fb94a8"

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
		{"millisecond precision (Elastic's @timestamp)", goldenTime.Truncate(time.Millisecond), goldenRemote},
		{"last 100 ns of the millisecond", goldenTime.Truncate(time.Millisecond).Add(time.Millisecond - 100), goldenRemote},
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
		{"time +1ms", func() string {
			ru, d, r, tm, a, p := base()
			return FindingID(ru, d, r, tm.Add(time.Millisecond), a, p)
		}},
		{"time in the previous millisecond", func() string {
			ru, d, r, tm, a, p := base()
			return FindingID(ru, d, r, tm.Truncate(time.Millisecond).Add(-100), a, p)
		}},
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

func TestAppendFindingID(t *testing.T) {
	dst := []byte("id=")
	got := AppendFindingID(dst, DefaultRuleID, goldenDevice, "31337", goldenTime, goldenRemote, 3389)
	if string(got) != "id="+goldenFindingID {
		t.Errorf("AppendFindingID = %s", got)
	}
	// Long fields (past the stack buffer) and escaped ones still hash the
	// documented bytes.
	long := strings.Repeat("x", 300)
	sep := "a\x1fb\x1bc"
	want := sha256.Sum256([]byte(long + "\x1fDeviceNetworkEvents\x1fa\x1b\x1fb\x1b\x1bc\x1f\x1f2026-08-22T10:15:30.123Z\x1f77.90.185.20\x1f-1"))
	if got := FindingID(long, sep, "", goldenTime, netip.MustParseAddr("::ffff:77.90.185.20"), NoPort); got != hex.EncodeToString(want[:]) {
		t.Errorf("FindingID(long, escaped) = %s, want %x", got, want)
	}
}

func TestFindingIDAllocs(t *testing.T) {
	var buf [64]byte
	n := testing.AllocsPerRun(100, func() {
		AppendFindingID(buf[:0], DefaultRuleID, goldenDevice, "31337", goldenTime, goldenRemote, 3389)
	})
	if n != 0 {
		t.Errorf("AppendFindingID allocates %v times, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() {
		_ = FindingID(DefaultRuleID, goldenDevice, "31337", goldenTime, goldenRemote, 3389)
	}); n > 1 {
		t.Errorf("FindingID allocates %v times, want 1 (the string)", n)
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
