package file

import (
	"encoding/binary"
	"math/bits"
)

// deviceFilter is a bitset over a cheap hash of the facing device ids. A
// device whose bit is clear is surely not facing, so the rows of devices
// that are not facing (most rows of a run) skip the map lookup, which
// hashes the whole id (40 bytes for Defender's) and compares it. About one
// device in sixteen that is not facing passes the filter and is looked up.
type deviceFilter struct {
	bits  []uint64
	shift uint8 // 64 - log2(len(bits)*64)
}

// deviceFilterMin and deviceFilterMax bound the bitset (512 B to 2 MiB);
// it holds 16 bits per facing device between them.
const (
	deviceFilterMin = 1 << 12
	deviceFilterMax = 1 << 24
)

func newDeviceFilter(ids []string) deviceFilter {
	n := uint64(max(min(16*len(ids), deviceFilterMax), deviceFilterMin))
	size := uint64(1) << bits.Len64(n-1) // a power of two >= n
	f := deviceFilter{bits: make([]uint64, size/64), shift: uint8(64 - bits.TrailingZeros64(size))}
	for _, id := range ids {
		h := devHash([]byte(id)) >> f.shift
		f.bits[h/64] |= 1 << (h % 64)
	}
	return f
}

// maybe reports whether id may be a facing device (false: surely not).
func (f deviceFilter) maybe(id []byte) bool {
	h := devHash(id) >> f.shift
	return f.bits[h/64]&(1<<(h%64)) != 0
}

// devHash mixes an id's length with its first, middle and last eight
// bytes (all of an id of up to 24 bytes), where device ids differ (a hash,
// a host name's number). The product's top bits, which depend on every bit
// of the word, index the bitset.
func devHash(id []byte) uint64 {
	var x uint64
	if n := len(id); n >= 8 {
		x = binary.LittleEndian.Uint64(id) ^
			bits.RotateLeft64(binary.LittleEndian.Uint64(id[n/2-4:]), 21) ^
			bits.RotateLeft64(binary.LittleEndian.Uint64(id[n-8:]), 42)
	} else {
		for _, c := range id {
			x = x<<8 | uint64(c)
		}
	}
	x ^= uint64(len(id)) << 56
	return x * 0x9e3779b97f4a7c15
}
