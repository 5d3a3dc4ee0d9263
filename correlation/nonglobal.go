package correlation

import "net/netip"

// Reasons a prefix is refused as an indicator. The non-global reasons follow
// the IANA special-purpose address registries (RFC 6890 and successors).
const (
	ReasonThisNetwork   = "this-network"  // 0.0.0.0/8 (includes the unspecified 0.0.0.0)
	ReasonUnspecified   = "unspecified"   // ::
	ReasonPrivate       = "private"       // RFC 1918
	ReasonCGNAT         = "cgnat"         // 100.64.0.0/10 shared address space
	ReasonLoopback      = "loopback"      // 127.0.0.0/8, ::1
	ReasonLinkLocal     = "link-local"    // 169.254.0.0/16, fe80::/10
	ReasonIETFProtocol  = "ietf-protocol" // 192.0.0.0/24
	ReasonDocumentation = "documentation" // TEST-NET-1/2/3, 2001:db8::/32, 3fff::/20
	ReasonBenchmarking  = "benchmarking"  // 198.18.0.0/15, 2001:2::/48
	ReasonMulticast     = "multicast"     // 224.0.0.0/4, ff00::/8
	ReasonReserved      = "reserved"      // 240.0.0.0/4, IPv6 outside 2000::/3
	ReasonBroadcast     = "broadcast"     // 255.255.255.255
	ReasonUniqueLocal   = "unique-local"  // fc00::/7
	ReasonSiteLocal     = "site-local"    // fec0::/10 (deprecated)
	ReasonIPv4Mapped    = "ipv4-mapped"   // a range wider than ::ffff:0:0/96 itself
	ReasonNAT64         = "nat64"         // 64:ff9b::/96, 64:ff9b:1::/48
	ReasonDiscard       = "discard-only"  // 100::/64
	ReasonOverlapPrefix = "overlaps-"     // prefix of reasons for ranges that contain non-global space
	ReasonInvalid       = "invalid"       // not a valid prefix
	ReasonDuplicate     = "duplicate"     // already in the set (not a refusal: the entry was merged)
)

// nonGlobalBlock is one special-purpose block.
type nonGlobalBlock struct {
	p      netip.Prefix
	reason string
}

// nonGlobalV4 lists the IPv4 blocks that are not globally reachable. The
// broadcast address comes before 240.0.0.0/4 so that it gets its own reason.
var nonGlobalV4 = []nonGlobalBlock{
	{netip.MustParsePrefix("0.0.0.0/8"), ReasonThisNetwork},
	{netip.MustParsePrefix("10.0.0.0/8"), ReasonPrivate},
	{netip.MustParsePrefix("100.64.0.0/10"), ReasonCGNAT},
	{netip.MustParsePrefix("127.0.0.0/8"), ReasonLoopback},
	{netip.MustParsePrefix("169.254.0.0/16"), ReasonLinkLocal},
	{netip.MustParsePrefix("172.16.0.0/12"), ReasonPrivate},
	{netip.MustParsePrefix("192.0.0.0/24"), ReasonIETFProtocol},
	{netip.MustParsePrefix("192.0.2.0/24"), ReasonDocumentation},
	{netip.MustParsePrefix("192.168.0.0/16"), ReasonPrivate},
	{netip.MustParsePrefix("198.18.0.0/15"), ReasonBenchmarking},
	{netip.MustParsePrefix("198.51.100.0/24"), ReasonDocumentation},
	{netip.MustParsePrefix("203.0.113.0/24"), ReasonDocumentation},
	{netip.MustParsePrefix("224.0.0.0/4"), ReasonMulticast},
	{netip.MustParsePrefix("255.255.255.255/32"), ReasonBroadcast},
	{netip.MustParsePrefix("240.0.0.0/4"), ReasonReserved},
}

// ipv6Global is the IPv6 global unicast space; everything outside it is
// non-global (with a specific reason where the registry gives one).
var ipv6Global = netip.MustParsePrefix("2000::/3")

// nonGlobalV6In lists the non-global blocks inside 2000::/3.
var nonGlobalV6In = []nonGlobalBlock{
	{netip.MustParsePrefix("2001:2::/48"), ReasonBenchmarking},
	{netip.MustParsePrefix("2001:db8::/32"), ReasonDocumentation},
	{netip.MustParsePrefix("3fff::/20"), ReasonDocumentation},
}

// nonGlobalV6Out names the blocks outside 2000::/3; any other address there is
// ReasonReserved.
var nonGlobalV6Out = []nonGlobalBlock{
	{netip.MustParsePrefix("::/128"), ReasonUnspecified},
	{netip.MustParsePrefix("::1/128"), ReasonLoopback},
	{netip.MustParsePrefix("::ffff:0:0/96"), ReasonIPv4Mapped},
	{netip.MustParsePrefix("64:ff9b::/96"), ReasonNAT64},
	{netip.MustParsePrefix("64:ff9b:1::/48"), ReasonNAT64},
	{netip.MustParsePrefix("100::/64"), ReasonDiscard},
	{netip.MustParsePrefix("fc00::/7"), ReasonUniqueLocal},
	{netip.MustParsePrefix("fe80::/10"), ReasonLinkLocal},
	{netip.MustParsePrefix("fec0::/10"), ReasonSiteLocal},
	{netip.MustParsePrefix("ff00::/8"), ReasonMulticast},
}

// NonGlobalReason reports why p (a masked prefix; IPv4-mapped IPv6 already
// unmapped) is not globally reachable, or "" when all of it is global. A
// range that merely overlaps non-global space is refused too, with the reason
// "overlaps-<reason>": a poisoned feed line such as 0.0.0.0/0 or 8.0.0.0/4 must
// not turn every internal address into an indicator.
func NonGlobalReason(p netip.Prefix) string {
	if !p.IsValid() {
		return ReasonInvalid
	}
	a := p.Addr()
	if a.Is4() {
		if p.Bits() == 32 {
			return nonGlobalV4Addr(a.As4())
		}
		return overlapReason(p, nonGlobalV4)
	}
	if ipv6Global.Bits() <= p.Bits() && ipv6Global.Contains(a) {
		return overlapReason(p, nonGlobalV6In)
	}
	if !p.Overlaps(ipv6Global) {
		// Entirely outside 2000::/3.
		if r := overlapReason(p, nonGlobalV6Out); r != "" {
			return r
		}
		return ReasonReserved
	}
	// Wider than 2000::/3: it holds reserved space whatever else.
	if r := overlapReason(p, nonGlobalV6Out); r != "" {
		return r
	}
	return ReasonOverlapPrefix + ReasonReserved
}

// overlapReason returns the reason of the first block p overlaps: the bare
// reason when p lies inside the block, "overlaps-"+reason when p is wider.
func overlapReason(p netip.Prefix, blocks []nonGlobalBlock) string {
	for _, b := range blocks {
		if !p.Overlaps(b.p) {
			continue
		}
		if p.Bits() >= b.p.Bits() {
			return b.reason
		}
		return ReasonOverlapPrefix + b.reason
	}
	return ""
}

// nonGlobalV4Addr is the fast path for one IPv4 address (the whole IPsum
// feed); it must agree with nonGlobalV4, which a test checks.
func nonGlobalV4Addr(b [4]byte) string {
	switch {
	case b[0] == 0:
		return ReasonThisNetwork
	case b[0] == 10:
		return ReasonPrivate
	case b[0] == 100 && b[1]&0xc0 == 64:
		return ReasonCGNAT
	case b[0] == 127:
		return ReasonLoopback
	case b[0] == 169 && b[1] == 254:
		return ReasonLinkLocal
	case b[0] == 172 && b[1]&0xf0 == 16:
		return ReasonPrivate
	case b[0] == 192 && b[1] == 0 && b[2] == 0:
		return ReasonIETFProtocol
	case b[0] == 192 && b[1] == 0 && b[2] == 2:
		return ReasonDocumentation
	case b[0] == 192 && b[1] == 168:
		return ReasonPrivate
	case b[0] == 198 && b[1]&0xfe == 18:
		return ReasonBenchmarking
	case b[0] == 198 && b[1] == 51 && b[2] == 100:
		return ReasonDocumentation
	case b[0] == 203 && b[1] == 0 && b[2] == 113:
		return ReasonDocumentation
	case b[0] >= 224 && b[0] < 240:
		return ReasonMulticast
	case b == [4]byte{255, 255, 255, 255}:
		return ReasonBroadcast
	case b[0] >= 240:
		return ReasonReserved
	}
	return ""
}
