package file

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"testing"
)

// Every facing device passes the filter (a false negative would lose
// alerts), and few others do. The facing devices are the even-numbered
// ones, so that the others differ from them in one character.
func TestDeviceFilter(t *testing.T) {
	defenderID := func(i int) string { // 40 hex characters, as Defender's
		h := sha1.Sum([]byte(fmt.Sprint("device-", i)))
		return hex.EncodeToString(h[:])
	}
	hostName := func(i int) string { return fmt.Sprintf("srv-%05d.contoso.com", i) } // 21 bytes
	short := func(i int) string { return fmt.Sprint(i) }
	tests := []struct {
		name    string
		id      func(int) string
		facing  int
		maxRate float64 // of the devices that are not facing
	}{
		{"defender ids, few", defenderID, 75, 0.02},
		{"defender ids, many", defenderID, 12500, 0.1},
		{"host names", hostName, 2000, 0.1},
		{"short ids", short, 500, 0.1},
		{"empty id", func(int) string { return "" }, 1, 1},
		{"none", defenderID, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids := make([]string, tt.facing)
			for i := range ids {
				ids[i] = tt.id(2 * i)
			}
			f := newDeviceFilter(ids)
			for _, id := range ids {
				if !f.maybe([]byte(id)) {
					t.Fatalf("facing device %q does not pass", id)
				}
			}
			const others = 20000
			passed := 0
			for i := range others {
				if f.maybe([]byte(tt.id(2*i + 1))) {
					passed++
				}
			}
			if rate := float64(passed) / others; rate > tt.maxRate {
				t.Errorf("%.3f of the devices that are not facing pass, want <= %.3f", rate, tt.maxRate)
			}
		})
	}
}

// BenchmarkDeviceFilter: the filter's test against the map lookup it
// spares, for a device that is not facing.
func BenchmarkDeviceFilter(b *testing.B) {
	ids := make([]string, 75)
	for i := range ids {
		ids[i] = fmt.Sprintf("%040x", i*7919)
	}
	f := newDeviceFilter(ids)
	m := map[string][]int{}
	for _, id := range ids {
		m[id] = []int{3389}
	}
	probe := []byte(fmt.Sprintf("%040x", 123456789))
	b.Run("filter", func(b *testing.B) {
		for b.Loop() {
			_ = f.maybe(probe)
		}
	})
	b.Run("map", func(b *testing.B) {
		for b.Loop() {
			_ = m[string(probe)]
		}
	})
}
