package correlation

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 8, 22, 10, 0, 0, 0, time.UTC)

// row is a DeviceInfo row at t0+minutes with an optional facing port
// (NoPort = a heartbeat without AdditionalFields).
func row(device string, minutes, port int, facing bool, reason string) *DeviceInfo {
	return &DeviceInfo{
		Time:             t0.Add(time.Duration(minutes) * time.Minute),
		DeviceID:         device,
		DeviceName:       device + ".contoso.com",
		IsInternetFacing: facing,
		Facing:           InternetFacing{LocalPort: port, Reason: reason},
	}
}

func facingPairs(f *FacingSet) []string {
	var out []string
	for fp := range f.All() {
		out = append(out, fmt.Sprintf("%s:%d %s", fp.DeviceID, fp.Port, fp.Row.Facing.Reason))
	}
	return out
}

func TestFacingBuilder(t *testing.T) {
	tests := []struct {
		name        string
		rows        []*DeviceInfo
		want        []string
		wantIgnored int
	}{
		{
			name: "latest row per device and port",
			rows: []*DeviceInfo{row("d1", 0, 3389, true, "old"), row("d1", 10, 3389, true, "new"), row("d1", 5, 3389, true, "middle")},
			want: []string{"d1:3389 new"},
		},
		{
			name: "port that stopped facing in its latest row is not in the set",
			rows: []*DeviceInfo{row("d1", 0, 3389, true, "a"), row("d1", 10, 3389, false, "b"), row("d1", 0, 443, true, "c")},
			want: []string{"d1:443 c"},
		},
		{
			name: "port facing again after it stopped",
			rows: []*DeviceInfo{row("d1", 0, 22, true, "a"), row("d1", 5, 22, false, "b"), row("d1", 10, 22, true, "c")},
			want: []string{"d1:22 c"},
		},
		{
			name: "older facing row after a newer non-facing one does not revive the port",
			rows: []*DeviceInfo{row("d1", 10, 22, false, "b"), row("d1", 0, 22, true, "a")},
			want: nil,
		},
		{
			name:        "heartbeat rows without AdditionalFields are ignored",
			rows:        []*DeviceInfo{row("d1", 0, 3389, true, "a"), row("d1", 20, NoPort, false, "hb"), row("d1", 30, NoPort, true, "hb")},
			want:        []string{"d1:3389 a"},
			wantIgnored: 2,
		},
		{
			name: "tie on time: the later-added row wins",
			rows: []*DeviceInfo{row("d1", 0, 80, true, "first"), row("d1", 0, 80, true, "second")},
			want: []string{"d1:80 second"},
		},
		{
			name: "tie on time: a later-added non-facing row removes the port",
			rows: []*DeviceInfo{row("d1", 0, 80, true, "first"), row("d1", 0, 80, false, "second")},
			want: nil,
		},
		{
			name: "duplicate input rows",
			rows: []*DeviceInfo{row("d1", 0, 80, true, "x"), row("d1", 0, 80, true, "x"), row("d1", 0, 80, true, "x")},
			want: []string{"d1:80 x"},
		},
		{
			name: "devices are independent; sorted by device then port",
			rows: []*DeviceInfo{row("d2", 0, 443, true, "a"), row("d1", 0, 8443, true, "b"), row("d1", 0, 22, true, "c"), row("d2", 9, 22, false, "d")},
			want: []string{"d1:22 c", "d1:8443 b", "d2:443 a"},
		},
		{
			name:        "rows without DeviceId and nil rows are ignored",
			rows:        []*DeviceInfo{row("", 0, 80, true, "x"), nil},
			want:        nil,
			wantIgnored: 2,
		},
		{
			name: "out-of-range port is no port",
			rows: []*DeviceInfo{row("d1", 0, 70000, true, "x"), row("d1", 0, 0, true, "zero")},
			want: []string{"d1:0 zero"},
			// 70000 fails HasPort
			wantIgnored: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b FacingBuilder // zero value is usable
			for _, r := range tt.rows {
				b.Add(r)
			}
			f := b.Build()
			if diff := cmp.Diff(tt.want, facingPairs(f)); diff != "" {
				t.Errorf("facing (-want +got):\n%s", diff)
			}
			if b.Ignored() != tt.wantIgnored || b.Rows() != len(tt.rows) {
				t.Errorf("Ignored = %d, Rows = %d; want %d, %d", b.Ignored(), b.Rows(), tt.wantIgnored, len(tt.rows))
			}
			if f.Len() != len(tt.want) {
				t.Errorf("Len = %d, want %d", f.Len(), len(tt.want))
			}
		})
	}
}

func TestFacingSetAccessors(t *testing.T) {
	b := NewFacingBuilder()
	r := row("d2", 0, 443, true, "a")
	b.Add(r)
	r.Facing.Reason = "mutated after Add" // the builder copied the row
	b.Add(row("d1", 0, 22, true, "b"))
	b.Add(row("d1", 0, 443, true, "c"))
	b.Add(row("d3", 0, 3389, false, "d"))
	f := b.Build()

	if diff := cmp.Diff([]string{"d1", "d2"}, f.Devices()); diff != "" {
		t.Errorf("Devices (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{22, 443}, f.Ports()); diff != "" {
		t.Errorf("Ports (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{22, 443}, f.DevicePorts("d1")); diff != "" {
		t.Errorf("DevicePorts(d1) (-want +got):\n%s", diff)
	}
	if got := f.DevicePorts("d3"); got != nil {
		t.Errorf("DevicePorts(d3) = %v, want nil", got)
	}
	fp, ok := f.Lookup("d2", 443)
	if !ok || fp.Row.Facing.Reason != "a" || fp.DeviceID != "d2" || fp.Port != 443 {
		t.Errorf("Lookup(d2, 443) = %+v, %v", fp, ok)
	}
	if _, ok := f.Lookup("d2", 22); ok {
		t.Error("Lookup(d2, 22) found a port d2 does not face on")
	}
	if _, ok := f.Lookup("d3", 3389); ok {
		t.Error("non-facing d3 found")
	}
	if b.Pairs() != 4 {
		t.Errorf("Pairs = %d, want 4", b.Pairs())
	}
	var nilSet *FacingSet
	if _, ok := nilSet.Lookup("d1", 22); ok || nilSet.Len() != 0 || nilSet.Devices() != nil {
		t.Error("nil FacingSet must be empty")
	}
}
