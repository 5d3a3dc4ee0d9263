package correlation

import (
	"errors"
	"net/netip"
	"strings"
)

// ErrNotPrefix: the text is neither an IP address nor a CIDR.
var ErrNotPrefix = errors.New("not an address or CIDR")

// ParsePrefix reads an indicator or an allow-list entry given as text (a
// retro-hunt's indicators, --allow, a lookup-index document): a CIDR, masked
// to its network ("10.1.2.3/8" is 10.0.0.0/8), or a single address as its
// full-length prefix, normalised as matching sees addresses (NormalizeAddr:
// "::ffff:1.2.3.4" is 1.2.3.4/32). Surrounding spaces are ignored.
func ParsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, ErrNotPrefix
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, ErrNotPrefix
	}
	a = NormalizeAddr(a)
	return netip.PrefixFrom(a, a.BitLen()), nil
}
