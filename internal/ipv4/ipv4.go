package ipv4

import "net/netip"

// Parse parses a dotted quad with netip.ParseAddr's rules (four decimal
// fields 0-255, no leading zeros, nothing else) without allocating. It
// returns false for anything else, including valid IPv6, which the caller
// then hands to netip.
func Parse(b []byte) (netip.Addr, bool) {
	var out [4]byte
	field, digits, val := 0, 0, 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= '0' && c <= '9':
			if digits == 1 && val == 0 {
				return netip.Addr{}, false // leading zero
			}
			val = val*10 + int(c-'0')
			digits++
			if val > 255 {
				return netip.Addr{}, false
			}
		case c == '.':
			if digits == 0 || field == 3 {
				return netip.Addr{}, false
			}
			out[field] = byte(val)
			field++
			digits, val = 0, 0
		default:
			return netip.Addr{}, false
		}
	}
	if field != 3 || digits == 0 {
		return netip.Addr{}, false
	}
	out[3] = byte(val)
	return netip.AddrFrom4(out), true
}
