package correlation

import (
	"cmp"
	"iter"
	"slices"
)

// FacingPort is one internet-facing (DeviceId, port) pair and the latest
// DeviceInfo row for it.
type FacingPort struct {
	DeviceID string
	Port     int
	Row      DeviceInfo
}

type facingKey struct {
	device string
	port   int
}

// FacingBuilder accumulates DeviceInfo rows and keeps the latest per
// (DeviceId, InternetFacingLocalPort); ties on time keep the later-added row.
// This is the seed's `summarize arg_max(Timestamp, *) by DeviceId,
// InternetFacingLocalPort`, done one row at a time so the DeviceInfo rows are
// never held in memory, only one row per pair. The zero value is ready to use.
type FacingBuilder struct {
	latest  map[facingKey]*DeviceInfo
	rows    int
	ignored int
}

// NewFacingBuilder returns an empty builder (the zero value works too).
func NewFacingBuilder() *FacingBuilder { return &FacingBuilder{} }

// Add offers one row; rows without a facing port are ignored (counted).
// Rows without a DeviceId are ignored too: an empty join key must never
// match. The row is copied, so the caller may reuse it.
func (b *FacingBuilder) Add(row *DeviceInfo) {
	b.rows++
	if row == nil || row.DeviceID == "" || !row.Facing.HasPort() {
		b.ignored++
		return
	}
	k := facingKey{row.DeviceID, row.Facing.LocalPort}
	if b.latest == nil {
		b.latest = make(map[facingKey]*DeviceInfo)
	}
	if cur, ok := b.latest[k]; ok {
		if row.Time.Before(cur.Time) {
			return
		}
		*cur = *row // later or equal time: the later-added row wins
		return
	}
	c := *row
	b.latest[k] = &c
}

// Rows is the number of rows offered to Add.
func (b *FacingBuilder) Rows() int { return b.rows }

// Ignored is the number of rows Add ignored (no facing port, no DeviceId).
func (b *FacingBuilder) Ignored() int { return b.ignored }

// Pairs is the number of distinct (DeviceId, port) pairs seen so far, facing
// or not.
func (b *FacingBuilder) Pairs() int { return len(b.latest) }

// Build keeps the latest rows whose IsInternetFacing is true. A port whose
// latest row says the device is no longer internet-facing is not in the set,
// even when older rows said it was. The builder stays usable.
func (b *FacingBuilder) Build() *FacingSet {
	f := &FacingSet{byKey: make(map[facingKey]*FacingPort)}
	devices := map[string]struct{}{}
	ports := map[int]struct{}{}
	for k, row := range b.latest {
		if !row.IsInternetFacing {
			continue
		}
		fp := &FacingPort{DeviceID: k.device, Port: k.port, Row: *row}
		f.byKey[k] = fp
		f.sorted = append(f.sorted, fp)
		devices[k.device] = struct{}{}
		ports[k.port] = struct{}{}
	}
	slices.SortFunc(f.sorted, func(x, y *FacingPort) int {
		if c := cmp.Compare(x.DeviceID, y.DeviceID); c != 0 {
			return c
		}
		return cmp.Compare(x.Port, y.Port)
	})
	for d := range devices {
		f.devices = append(f.devices, d)
	}
	slices.Sort(f.devices)
	for p := range ports {
		f.ports = append(f.ports, p)
	}
	slices.Sort(f.ports)
	return f
}

// FacingSet is the result of the facing step. It is read-only once built and
// safe for concurrent use.
type FacingSet struct {
	byKey   map[facingKey]*FacingPort
	sorted  []*FacingPort
	devices []string
	ports   []int
}

// Lookup returns the facing entry for (device, port).
func (f *FacingSet) Lookup(deviceID string, port int) (*FacingPort, bool) {
	if f == nil {
		return nil, false
	}
	fp, ok := f.byKey[facingKey{deviceID, port}]
	return fp, ok
}

// Len is the number of facing (device, port) pairs.
func (f *FacingSet) Len() int {
	if f == nil {
		return 0
	}
	return len(f.sorted)
}

// Devices lists the device ids (sorted); Ports the distinct ports (sorted).
// The slices are shared: do not modify them.
func (f *FacingSet) Devices() []string {
	if f == nil {
		return nil
	}
	return f.devices
}

// Ports lists the distinct facing ports over all devices (sorted).
func (f *FacingSet) Ports() []int {
	if f == nil {
		return nil
	}
	return f.ports
}

// DevicePorts lists the facing ports of one device (sorted); nil when the
// device has none.
func (f *FacingSet) DevicePorts(deviceID string) []int {
	if f == nil {
		return nil
	}
	i, _ := slices.BinarySearchFunc(f.sorted, deviceID, func(fp *FacingPort, d string) int { return cmp.Compare(fp.DeviceID, d) })
	var out []int
	for ; i < len(f.sorted) && f.sorted[i].DeviceID == deviceID; i++ {
		out = append(out, f.sorted[i].Port)
	}
	return out
}

// All iterates the pairs sorted by device then port.
func (f *FacingSet) All() iter.Seq[*FacingPort] {
	return func(yield func(*FacingPort) bool) {
		if f == nil {
			return
		}
		for _, fp := range f.sorted {
			if !yield(fp) {
				return
			}
		}
	}
}
