package correlation

import (
	"cmp"
	"iter"
	"math"
	"net/netip"
	"slices"
)

// DefaultFeedName names indicators whose feed did not say otherwise.
const DefaultFeedName = "ipsum"

// MaxLevel is the highest IPsum level: levels/8.txt holds every address on
// eight or more blacklists.
const MaxLevel = 8

// Indicator is one threat-intelligence entry.
type Indicator struct {
	Prefix netip.Prefix // a single address is a /32 or /128
	Count  int          // IPsum count (blacklists naming it); 0 when the feed has none
	Level  int          // IPsum level: min(Count, 8); for levels/N.txt files, N
	Feed   string       // feed name, e.g. "ipsum"
}

// IsRange reports whether the indicator is a CIDR range rather than a single
// address.
func (ind Indicator) IsRange() bool { return !ind.Prefix.IsSingleIP() }

// Value is the indicator as text: the bare address for a single address, the
// CIDR otherwise (edgewatch.indicator.value).
func (ind Indicator) Value() string {
	if ind.Prefix.IsSingleIP() {
		return ind.Prefix.Addr().String()
	}
	return ind.Prefix.String()
}

// IndicatorSet holds exact addresses (O(1) lookup) and CIDR ranges
// (lookup per distinct prefix length). IPv4-mapped IPv6 is unmapped on both
// insert and lookup.
//
// Exact IPv4 addresses live in a map keyed by the address as a uint32, IPv6
// ones in a map keyed by netip.Addr: a uint32 key is 3-4x faster than a
// netip.Addr key (measured: 50 vs 200 ns a lookup at 120k entries, 10 vs 27 ms
// to insert the level-1 list), and IPsum is all IPv4. Ranges live in one map
// of masked prefixes per distinct prefix length, kept longest first per
// family, so a lookup costs one map probe per distinct length (at most 33 for
// IPv4, 129 for IPv6; real feeds have a handful). The zero value is an empty
// set named DefaultFeedName; a set is not safe for concurrent Add, but any
// number of goroutines may Lookup once loading is done.
type IndicatorSet struct {
	name    string
	feeds   []string // feed names, indexed by indVal.feed
	addrs4  map[uint32]indVal
	addrs6  map[netip.Addr]indVal
	v4      []table4 // longest prefix first
	v6      []table6 // longest prefix first
	nPrefix int
	// filter4 has a bit for each IPv4 /24 that an indicator covers, once
	// the set holds filterMin IPv4 indicators (nil before): a lookup of an
	// address outside them, most of a run's lookups, reads one bit instead
	// of a map and every range table. filter16 has a bit for each /16
	// that holds such a /24: 8 KiB that stay in the cache, where filter4's
	// 2 MiB do not, so that most misses never read filter4 (level 1 of
	// IPsum covers 27% of the /16s and 0.4% of the /24s).
	filter4  []uint64
	filter16 []uint64
}

// filterMin is how many IPv4 indicators make filter4 worth its 2 MiB.
const filterMin = 4096

// mark4 records an IPv4 indicator (a /bits prefix with key k) in filter4,
// building the filter when the set reaches filterMin.
func (s *IndicatorSet) mark4(k uint32, bits int) {
	if s.filter4 == nil {
		n := len(s.addrs4)
		for _, t := range s.v4 {
			n += len(t.m)
		}
		if n < filterMin {
			return
		}
		s.filter4, s.filter16 = make([]uint64, 1<<24/64), make([]uint64, 1<<16/64)
		for a := range s.addrs4 {
			s.setFilter4(a, 32)
		}
		for _, t := range s.v4 {
			for p := range t.m {
				s.setFilter4(p, t.bits)
			}
		}
		return
	}
	s.setFilter4(k, bits)
}

// setFilter4 sets the bits of the /24s that a /bits prefix covers, and of
// their /16s.
func (s *IndicatorSet) setFilter4(k uint32, bits int) {
	first, n := k>>8, uint32(1)
	if bits < 24 {
		n = 1 << (24 - bits)
	}
	for i := first; i < first+n; i++ {
		s.filter4[i/64] |= 1 << (i % 64)
		s.filter16[i>>14] |= 1 << (i >> 8 % 64)
	}
}

// maybe4 reports whether an IPv4 key may be covered (false: surely not).
func (s *IndicatorSet) maybe4(k uint32) bool {
	return s.filter4 == nil ||
		s.filter16[k>>22]&(1<<(k>>16%64)) != 0 && s.filter4[k>>14]&(1<<(k>>8%64)) != 0
}

type table4 struct {
	bits int
	mask uint32
	m    map[uint32]indVal
}

type table6 struct {
	bits int
	m    map[netip.Prefix]indVal
}

// indVal is what the set stores per entry: 8 bytes instead of a whole
// Indicator, which matters at 120k+ addresses.
type indVal struct {
	count int32
	level int16
	feed  uint16
}

func v4key(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func v4addr(k uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(k >> 24), byte(k >> 16), byte(k >> 8), byte(k)})
}

func v4mask(bits int) uint32 {
	if bits == 0 {
		return 0
	}
	return ^uint32(0) << (32 - bits)
}

// NewIndicatorSet returns an empty set for the named feed ("" means
// DefaultFeedName).
func NewIndicatorSet(feed string) *IndicatorSet {
	s := &IndicatorSet{}
	s.name = feed
	return s
}

// Name is the feed name.
func (s *IndicatorSet) Name() string {
	if s == nil || s.name == "" {
		return DefaultFeedName
	}
	return s.name
}

// Len is the number of indicators (addresses + ranges).
func (s *IndicatorSet) Len() int {
	return s.AddrCount() + s.PrefixCount()
}

// AddrCount is the number of single-address indicators.
func (s *IndicatorSet) AddrCount() int {
	if s == nil {
		return 0
	}
	return len(s.addrs4) + len(s.addrs6)
}

// PrefixCount is the number of range indicators.
func (s *IndicatorSet) PrefixCount() int {
	if s == nil {
		return 0
	}
	return s.nPrefix
}

// NormalizePrefix returns p masked, with an IPv4-mapped IPv6 prefix of /96 or
// longer turned into its IPv4 form. ok is false for an invalid prefix.
func NormalizePrefix(p netip.Prefix) (netip.Prefix, bool) {
	if !p.IsValid() {
		return netip.Prefix{}, false
	}
	a, bits := p.Addr().WithZone(""), p.Bits()
	if a.Is4In6() && bits >= 96 {
		a, bits = a.Unmap(), bits-96
	}
	q, err := a.Prefix(bits)
	return q, err == nil
}

// NormalizeAddr unmaps an IPv4-mapped IPv6 address and drops any zone, the
// form the set stores and looks up.
func NormalizeAddr(a netip.Addr) netip.Addr {
	return a.Unmap().WithZone("")
}

// Add inserts ind. Non-global prefixes (private, loopback, link-local,
// multicast, unspecified, CGNAT, documentation, benchmarking, reserved) are
// refused unless keepNonGlobal, returning ok=false and the reason (one of the
// Reason* constants, see NonGlobalReason).
//
// ok is true when the set grew. Adding an indicator that is already present
// returns ok=false and ReasonDuplicate; the stored entry keeps the higher level
// (then the higher count) of the two. An invalid prefix returns ReasonInvalid.
// A prefix with host bits set is masked; a /32 or /128 is stored as an address.
// Level is clamped to 0..8; a Level of 0 with a Count takes min(Count, 8).
// An empty Feed means the set's Name.
func (s *IndicatorSet) Add(ind Indicator, keepNonGlobal bool) (ok bool, reason string) {
	level := ind.Level
	if level == 0 && ind.Count > 0 {
		level = ind.Count
	}
	v := indVal{count: clampInt32(ind.Count), level: int16(min(max(level, 0), MaxLevel)), feed: s.feedIndex(ind.Feed)}
	return s.addVal(ind.Prefix, v, keepNonGlobal)
}

func (s *IndicatorSet) addVal(p netip.Prefix, v indVal, keepNonGlobal bool) (bool, string) {
	p, valid := NormalizePrefix(p)
	if !valid {
		return false, ReasonInvalid
	}
	if p.IsSingleIP() && p.Addr().Is4() {
		return s.addAddr4(p.Addr(), v, keepNonGlobal)
	}
	if !keepNonGlobal {
		if r := NonGlobalReason(p); r != "" {
			return false, r
		}
	}
	if p.IsSingleIP() {
		if s.addrs6 == nil {
			s.addrs6 = make(map[netip.Addr]indVal)
		}
		return put(s.addrs6, p.Addr(), v)
	}
	var added bool
	var reason string
	if p.Addr().Is4() {
		k := v4key(p.Addr())
		if added, reason = put(s.table4(p.Bits()).m, k, v); added {
			s.mark4(k, p.Bits())
		}
	} else {
		added, reason = put(s.table6(p.Bits()).m, p, v)
	}
	if added {
		s.nPrefix++
	}
	return added, reason
}

// addAddr4 is the fast path for one IPv4 address (a.Is4()).
func (s *IndicatorSet) addAddr4(a netip.Addr, v indVal, keepNonGlobal bool) (bool, string) {
	if !keepNonGlobal {
		if r := nonGlobalV4Addr(a.As4()); r != "" {
			return false, r
		}
	}
	if s.addrs4 == nil {
		s.addrs4 = make(map[uint32]indVal)
	}
	k := v4key(a)
	added, reason := put(s.addrs4, k, v)
	if added {
		s.mark4(k, 32)
	}
	return added, reason
}

func put[K comparable](m map[K]indVal, k K, v indVal) (bool, string) {
	if old, dup := m[k]; dup {
		m[k] = better(old, v)
		return false, ReasonDuplicate
	}
	m[k] = v
	return true, ""
}

// better keeps the stronger of two entries for the same prefix.
func better(old, v indVal) indVal {
	if v.level > old.level || (v.level == old.level && v.count > old.count) {
		return v
	}
	return old
}

func clampInt32(n int) int32 {
	return int32(min(max(n, 0), math.MaxInt32))
}

// feedIndex interns a feed name.
func (s *IndicatorSet) feedIndex(feed string) uint16 {
	if feed == "" {
		feed = s.Name()
	}
	for i, f := range s.feeds {
		if f == feed {
			return uint16(i)
		}
	}
	if len(s.feeds) == math.MaxUint16 {
		return 0 // absurd number of feeds: attribute to the first
	}
	s.feeds = append(s.feeds, feed)
	return uint16(len(s.feeds) - 1)
}

// feedSlot reserves a feed index whose name is set later (nameFeed).
func (s *IndicatorSet) feedSlot() uint16 {
	if len(s.feeds) == math.MaxUint16 {
		return 0
	}
	s.feeds = append(s.feeds, "")
	return uint16(len(s.feeds) - 1)
}

// nameFeed names a slot reserved by feedSlot.
func (s *IndicatorSet) nameFeed(i uint16, name string) {
	if int(i) < len(s.feeds) && s.feeds[i] == "" {
		s.feeds[i] = name
	}
}

// table4 and table6 return the range table for a prefix length, creating
// it in longest-first order.
func (s *IndicatorSet) table4(bits int) *table4 {
	i, found := slices.BinarySearchFunc(s.v4, bits, func(t table4, b int) int { return cmp.Compare(b, t.bits) })
	if !found {
		s.v4 = slices.Insert(s.v4, i, table4{bits: bits, mask: v4mask(bits), m: make(map[uint32]indVal)})
	}
	return &s.v4[i]
}

func (s *IndicatorSet) table6(bits int) *table6 {
	i, found := slices.BinarySearchFunc(s.v6, bits, func(t table6, b int) int { return cmp.Compare(b, t.bits) })
	if !found {
		s.v6 = slices.Insert(s.v6, i, table6{bits: bits, m: make(map[netip.Prefix]indVal)})
	}
	return &s.v6[i]
}

func (s *IndicatorSet) indicator(p netip.Prefix, v indVal) Indicator {
	feed := s.Name()
	if int(v.feed) < len(s.feeds) {
		feed = s.feeds[v.feed]
	}
	return Indicator{Prefix: p, Count: int(v.count), Level: int(v.level), Feed: feed}
}

// Lookup returns the indicator covering a (exact first, then the longest
// covering range).
func (s *IndicatorSet) Lookup(a netip.Addr) (Indicator, bool) {
	if s == nil || !a.IsValid() {
		return Indicator{}, false
	}
	a = NormalizeAddr(a)
	if a.Is4() {
		k := v4key(a)
		if !s.maybe4(k) {
			return Indicator{}, false
		}
		if v, ok := s.addrs4[k]; ok {
			return s.indicator(netip.PrefixFrom(a, 32), v), true
		}
		for i := range s.v4 {
			t := &s.v4[i]
			if v, ok := t.m[k&t.mask]; ok {
				return s.indicator(netip.PrefixFrom(v4addr(k&t.mask), t.bits), v), true
			}
		}
		return Indicator{}, false
	}
	if v, ok := s.addrs6[a]; ok {
		return s.indicator(netip.PrefixFrom(a, 128), v), true
	}
	for i := range s.v6 {
		p, err := a.Prefix(s.v6[i].bits)
		if err != nil {
			continue
		}
		if v, ok := s.v6[i].m[p]; ok {
			return s.indicator(p, v), true
		}
	}
	return Indicator{}, false
}

// Contains reports whether a is covered by the set.
func (s *IndicatorSet) Contains(a netip.Addr) bool {
	_, ok := s.Lookup(a)
	return ok
}

// All iterates every indicator in a stable order (addresses then ranges,
// each sorted).
func (s *IndicatorSet) All() iter.Seq[Indicator] {
	return func(yield func(Indicator) bool) {
		if s == nil {
			return
		}
		for _, a := range s.sortedAddrs() {
			v, ok := s.addrs6[a]
			if a.Is4() {
				v, ok = s.addrs4[v4key(a)]
			}
			if ok && !yield(s.indicator(netip.PrefixFrom(a, a.BitLen()), v)) {
				return
			}
		}
		prefixes := make([]Indicator, 0, s.nPrefix)
		for _, t := range s.v4 {
			for k, v := range t.m {
				prefixes = append(prefixes, s.indicator(netip.PrefixFrom(v4addr(k), t.bits), v))
			}
		}
		for _, t := range s.v6 {
			for p, v := range t.m {
				prefixes = append(prefixes, s.indicator(p, v))
			}
		}
		slices.SortFunc(prefixes, func(x, y Indicator) int { return comparePrefix(x.Prefix, y.Prefix) })
		for _, ind := range prefixes {
			if !yield(ind) {
				return
			}
		}
	}
}

// Prefixes returns every indicator's address (as a full-length prefix) or
// range, in All's order, without the rest of the indicator: the cheap form
// for building queries (a fifth of All's cost on the level-1 feed).
func (s *IndicatorSet) Prefixes() []netip.Prefix {
	if s == nil {
		return nil
	}
	addrs := s.sortedAddrs()
	out := make([]netip.Prefix, 0, len(addrs)+s.nPrefix)
	for _, a := range addrs {
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	n := len(out)
	for _, t := range s.v4 {
		for k := range t.m {
			out = append(out, netip.PrefixFrom(v4addr(k), t.bits))
		}
	}
	for _, t := range s.v6 {
		for p := range t.m {
			out = append(out, p)
		}
	}
	slices.SortFunc(out[n:], comparePrefix)
	return out
}

// sortedAddrs returns the exact addresses in ascending order: IPv4 (sorted
// as integers, which is their address order) before IPv6, as
// netip.Addr.Compare orders them.
func (s *IndicatorSet) sortedAddrs() []netip.Addr {
	v4 := make([]uint32, 0, len(s.addrs4))
	for k := range s.addrs4 {
		v4 = append(v4, k)
	}
	sortUint32(v4)
	out := make([]netip.Addr, 0, len(v4)+len(s.addrs6))
	for _, k := range v4 {
		out = append(out, v4addr(k))
	}
	n := len(out)
	for a := range s.addrs6 {
		out = append(out, a)
	}
	slices.SortFunc(out[n:], netip.Addr.Compare)
	return out
}

// sortUint32 sorts keys ascending: a radix sort (four byte-wide passes)
// for the large sets a feed gives, where it is several times faster than
// slices.Sort; slices.Sort for small ones.
func sortUint32(keys []uint32) {
	if len(keys) < 1024 {
		slices.Sort(keys)
		return
	}
	src, dst := keys, make([]uint32, len(keys))
	for shift := uint(0); shift < 32; shift += 8 {
		var count [257]int
		for _, k := range src {
			count[(k>>shift)&0xff+1]++
		}
		for i := 1; i < len(count); i++ {
			count[i] += count[i-1]
		}
		for _, k := range src {
			d := (k >> shift) & 0xff
			dst[count[d]] = k
			count[d]++
		}
		src, dst = dst, src
	}
	// Four passes: the sorted keys are back in keys.
}

// comparePrefix orders ranges by address, then by length.
func comparePrefix(x, y netip.Prefix) int {
	if c := x.Addr().Compare(y.Addr()); c != 0 {
		return c
	}
	return cmp.Compare(x.Bits(), y.Bits())
}
