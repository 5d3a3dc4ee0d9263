package correlation

import (
	"bytes"
	"math/bits"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/edgewatch/edgewatch/internal/testenv"
)

func TestNonGlobalReason(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
		want   string
	}{
		{"public v4", "8.8.8.8/32", ""},
		{"public v4 range", "77.90.185.0/24", ""},
		{"this network", "0.1.2.3/32", ReasonThisNetwork},
		{"unspecified v4", "0.0.0.0/32", ReasonThisNetwork},
		{"rfc1918 10", "10.200.1.1/32", ReasonPrivate},
		{"rfc1918 172.16", "172.16.0.1/32", ReasonPrivate},
		{"rfc1918 172.31", "172.31.255.255/32", ReasonPrivate},
		{"172.32 is public", "172.32.0.1/32", ""},
		{"rfc1918 192.168", "192.168.1.1/32", ReasonPrivate},
		{"cgnat", "100.64.0.1/32", ReasonCGNAT},
		{"cgnat top", "100.127.255.255/32", ReasonCGNAT},
		{"100.128 is public", "100.128.0.1/32", ""},
		{"loopback", "127.0.0.1/32", ReasonLoopback},
		{"link-local", "169.254.1.1/32", ReasonLinkLocal},
		{"ietf protocol", "192.0.0.9/32", ReasonIETFProtocol},
		{"test-net-1", "192.0.2.1/32", ReasonDocumentation},
		{"test-net-2", "198.51.100.7/32", ReasonDocumentation},
		{"test-net-3", "203.0.113.7/32", ReasonDocumentation},
		{"benchmarking", "198.19.255.1/32", ReasonBenchmarking},
		{"198.20 is public", "198.20.0.1/32", ""},
		{"multicast", "224.0.0.251/32", ReasonMulticast},
		{"class e", "242.123.135.161/32", ReasonReserved},
		{"broadcast", "255.255.255.255/32", ReasonBroadcast},
		{"255.255.255.8 reserved", "255.255.255.8/32", ReasonReserved},
		{"v4 everything", "0.0.0.0/0", "overlaps-" + ReasonThisNetwork},
		{"private /8 itself", "10.0.0.0/8", ReasonPrivate},
		{"range containing private", "8.0.0.0/4", "overlaps-" + ReasonThisNetwork},
		{"range containing 172.16", "172.0.0.0/8", "overlaps-" + ReasonPrivate},
		{"range inside private", "10.1.0.0/16", ReasonPrivate},
		{"range containing cgnat", "100.0.0.0/8", "overlaps-" + ReasonCGNAT},
		{"public v6", "2001:4860:4860::8888/128", ""},
		{"public v6 range", "2a00:1450::/32", ""},
		{"v6 unspecified", "::/128", ReasonUnspecified},
		{"v6 loopback", "::1/128", ReasonLoopback},
		{"v6 everything", "::/0", "overlaps-" + ReasonUnspecified},
		{"v6 ula", "fd12:3456::1/128", ReasonUniqueLocal},
		{"v6 link-local", "fe80::1/128", ReasonLinkLocal},
		{"v6 site-local", "fec0::1/128", ReasonSiteLocal},
		{"v6 multicast", "ff02::1/128", ReasonMulticast},
		{"v6 documentation", "2001:db8::1/128", ReasonDocumentation},
		{"v6 documentation 3fff", "3fff:1::/32", ReasonDocumentation},
		{"v6 benchmarking", "2001:2::5/128", ReasonBenchmarking},
		{"v6 nat64", "64:ff9b::808:808/128", ReasonNAT64},
		{"v6 discard", "100::1/128", ReasonDiscard},
		{"v6 reserved", "4000::1/128", ReasonReserved},
		{"v6 range wider than 2000::/3", "2000::/2", "overlaps-" + ReasonUnspecified},
		{"v6 reserved range", "4000::/2", ReasonReserved},
		{"v6 range containing ula", "fc00::/6", "overlaps-" + ReasonUniqueLocal},
		{"v6 range containing documentation", "2001::/16", "overlaps-" + ReasonBenchmarking},
		{"v6 2000::/3 itself", "2000::/3", "overlaps-" + ReasonBenchmarking},
		{"ipv4-mapped wider than /96", "::ffff:0:0/95", "overlaps-" + ReasonIPv4Mapped},
		{"invalid", "", ReasonInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p netip.Prefix
			if tt.prefix != "" {
				p = netip.MustParsePrefix(tt.prefix).Masked()
			}
			if got := NonGlobalReason(p); got != tt.want {
				t.Errorf("NonGlobalReason(%s) = %q, want %q", tt.prefix, got, tt.want)
			}
		})
	}
}

// The IPv4 fast path must agree with the block table at every block edge and
// on a sample of random addresses.
func TestNonGlobalV4FastPathAgrees(t *testing.T) {
	check := func(a netip.Addr) {
		t.Helper()
		want := overlapReason(netip.PrefixFrom(a, 32), nonGlobalV4)
		if got := nonGlobalV4Addr(a.As4()); got != want {
			t.Fatalf("%v: fast path %q, table %q", a, got, want)
		}
	}
	for _, b := range nonGlobalV4 {
		first := b.p.Addr()
		last := v4addr(v4key(first) | ^v4mask(b.p.Bits()))
		check(first)
		check(last)
		if first.Prev().IsValid() {
			check(first.Prev())
		}
		if last.Next().IsValid() {
			check(last.Next())
		}
	}
	r := rand.New(rand.NewPCG(7, 7))
	for range 200_000 {
		check(v4addr(r.Uint32()))
	}
}

func mustSet(t testing.TB, keep bool, entries ...Indicator) *IndicatorSet {
	t.Helper()
	s := NewIndicatorSet("test")
	for _, e := range entries {
		if ok, reason := s.Add(e, keep); !ok {
			t.Fatalf("Add(%v) refused: %s", e.Prefix, reason)
		}
	}
	return s
}

func ind(prefix string, count, level int) Indicator {
	p, err := netip.ParsePrefix(prefix)
	if err != nil {
		a := netip.MustParseAddr(prefix)
		p = netip.PrefixFrom(a, a.BitLen())
	}
	return Indicator{Prefix: p, Count: count, Level: level}
}

func TestIndicatorSetLookup(t *testing.T) {
	set := mustSet(t, false,
		ind("77.90.185.20", 10, 8),
		ind("77.90.185.0/24", 0, 3),
		ind("77.90.0.0/16", 0, 2),
		ind("77.0.0.0/8", 0, 1),
		ind("2a00:1450:4001::1", 0, 5),
		ind("2a00:1450:4001::/48", 0, 4),
		ind("2a00:1450::/32", 0, 3),
		ind("::ffff:45.0.0.0/104", 0, 6), // an IPv4-mapped range becomes 45.0.0.0/8
	)
	tests := []struct {
		name      string
		addr      string
		wantValue string // "" = miss
		wantLevel int
	}{
		{"exact v4", "77.90.185.20", "77.90.185.20", 8},
		{"exact v4 via IPv4-mapped", "::ffff:77.90.185.20", "77.90.185.20", 8},
		{"longest v4 range /24", "77.90.185.21", "77.90.185.0/24", 3},
		{"v4 range /16", "77.90.1.1", "77.90.0.0/16", 2},
		{"v4 range /8", "77.1.1.1", "77.0.0.0/8", 1},
		{"v4 range via IPv4-mapped", "::ffff:77.1.1.1", "77.0.0.0/8", 1},
		{"mapped range stored as v4", "45.1.2.3", "45.0.0.0/8", 6},
		{"v4 miss", "78.1.1.1", "", 0},
		{"exact v6", "2a00:1450:4001::1", "2a00:1450:4001::1", 5},
		{"exact v6 with zone", "2a00:1450:4001::1%eth0", "2a00:1450:4001::1", 5},
		{"longest v6 range /48", "2a00:1450:4001::2", "2a00:1450:4001::/48", 4},
		{"v6 range /32", "2a00:1450:9::1", "2a00:1450::/32", 3},
		{"v6 miss", "2a01::1", "", 0},
		{"v4 address does not hit v6 tables", "42.0.20.0", "", 0},
		{"invalid address", "", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a netip.Addr
			if tt.addr != "" {
				a = netip.MustParseAddr(tt.addr)
			}
			got, ok := set.Lookup(a)
			if tt.wantValue == "" {
				if ok {
					t.Fatalf("Lookup(%s) = %+v, want a miss", tt.addr, got)
				}
				return
			}
			if !ok || got.Value() != tt.wantValue || got.Level != tt.wantLevel || got.Feed != "test" {
				t.Fatalf("Lookup(%s) = %+v, %v; want %s level %d", tt.addr, got, ok, tt.wantValue, tt.wantLevel)
			}
			if !got.Prefix.Contains(NormalizeAddr(a)) {
				t.Fatalf("returned prefix %v does not contain %v", got.Prefix, a)
			}
		})
	}
	if set.AddrCount() != 2 || set.PrefixCount() != 6 || set.Len() != 8 {
		t.Errorf("counts: addr %d prefix %d len %d", set.AddrCount(), set.PrefixCount(), set.Len())
	}
}

func TestIndicatorSetAdd(t *testing.T) {
	tests := []struct {
		name       string
		pre        []Indicator
		add        Indicator
		keep       bool
		wantOK     bool
		wantReason string
		wantLevel  int // level stored afterwards (looked up at the prefix address)
	}{
		{"new address", nil, ind("1.2.3.4", 3, 3), false, true, "", 3},
		{"duplicate keeps stronger", []Indicator{ind("1.2.3.4", 5, 5)}, ind("1.2.3.4", 2, 2), false, false, ReasonDuplicate, 5},
		{"duplicate upgrades", []Indicator{ind("1.2.3.4", 2, 2)}, ind("1.2.3.4", 5, 5), false, false, ReasonDuplicate, 5},
		{"mapped duplicate", []Indicator{ind("1.2.3.4", 2, 2)}, ind("::ffff:1.2.3.4", 2, 2), false, false, ReasonDuplicate, 2},
		{"range duplicate after masking", []Indicator{ind("5.6.7.0/24", 1, 1)}, ind("5.6.7.99/24", 4, 4), false, false, ReasonDuplicate, 4},
		{"private refused", nil, ind("192.168.0.1", 1, 1), false, false, ReasonPrivate, 0},
		{"private kept on request", nil, ind("192.168.0.1", 1, 1), true, true, "", 1},
		{"poisoned /0 refused", nil, ind("0.0.0.0/0", 9, 8), false, false, "overlaps-" + ReasonThisNetwork, 0},
		{"invalid prefix", nil, Indicator{}, false, false, ReasonInvalid, 0},
		{"level derived from count", nil, ind("1.2.3.4", 10, 0), false, true, "", 8},
		{"level clamped to 8", nil, ind("1.2.3.4", 0, 12), false, true, "", 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustSet(t, true, tt.pre...)
			before := s.Len()
			ok, reason := s.Add(tt.add, tt.keep)
			if ok != tt.wantOK || reason != tt.wantReason {
				t.Fatalf("Add = %v, %q; want %v, %q", ok, reason, tt.wantOK, tt.wantReason)
			}
			if grew := s.Len() - before; grew != map[bool]int{true: 1, false: 0}[tt.wantOK] {
				t.Fatalf("set grew by %d", grew)
			}
			if tt.add.Prefix.IsValid() {
				got, found := s.Lookup(tt.add.Prefix.Addr())
				if tt.wantLevel == 0 {
					if found {
						t.Fatalf("refused indicator found: %+v", got)
					}
				} else if !found || got.Level != tt.wantLevel {
					t.Fatalf("Lookup after Add = %+v, %v; want level %d", got, found, tt.wantLevel)
				}
			}
		})
	}
}

func TestIndicatorSetAllOrderAndFeeds(t *testing.T) {
	s := NewIndicatorSet("")
	for _, e := range []Indicator{
		ind("9.9.9.9", 1, 1), ind("2a00::1", 0, 0), ind("1.1.1.1", 2, 2), ind("5.0.0.0/8", 0, 0), ind("1.2.0.0/16", 0, 0), ind("2a00::/16", 0, 0),
	} {
		s.Add(e, false)
	}
	s.Add(Indicator{Prefix: netip.MustParsePrefix("8.8.8.8/32"), Feed: "other"}, false)
	var got []string
	for i := range s.All() {
		got = append(got, i.Value()+" "+i.Feed)
	}
	want := []string{
		"1.1.1.1 ipsum", "8.8.8.8 other", "9.9.9.9 ipsum", "2a00::1 ipsum",
		"1.2.0.0/16 ipsum", "5.0.0.0/8 ipsum", "2a00::/16 ipsum",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("All() (-want +got):\n%s", diff)
	}
	// Early stop must not panic.
	for range s.All() {
		break
	}
	// Prefixes is All without the rest of each indicator.
	var all []netip.Prefix
	for i := range s.All() {
		all = append(all, i.Prefix)
	}
	if diff := cmp.Diff(all, s.Prefixes(), cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("Prefixes() differs from All() (-all +prefixes):\n%s", diff)
	}
	var nilSet *IndicatorSet
	if p := nilSet.Prefixes(); len(p) != 0 {
		t.Errorf("nil set Prefixes() = %v", p)
	}
}

// TestPrefixesLevel1 checks Prefixes against All on the real level-1 list
// (IPv4 sorted as integers must equal the address order).
func TestPrefixesLevel1(t *testing.T) {
	set := level1Set(t)
	set.Add(Indicator{Prefix: netip.MustParsePrefix("2a00:1450::1/128")}, false)
	set.Add(Indicator{Prefix: netip.MustParsePrefix("45.0.0.0/8")}, false)
	got := set.Prefixes()
	i := 0
	for ind := range set.All() {
		if i >= len(got) || got[i] != ind.Prefix {
			t.Fatalf("Prefixes()[%d] = %v, All() gives %v", i, got[min(i, len(got)-1)], ind.Prefix)
		}
		i++
	}
	if i != len(got) || i != set.Len() {
		t.Fatalf("Prefixes() has %d, All() %d, Len() %d", len(got), i, set.Len())
	}
}

func TestIndicatorSetZeroAndNil(t *testing.T) {
	var zero IndicatorSet
	if zero.Name() != DefaultFeedName || zero.Len() != 0 {
		t.Fatalf("zero set: name %q len %d", zero.Name(), zero.Len())
	}
	if ok, _ := zero.Add(ind("1.1.1.1", 1, 1), false); !ok || !zero.Contains(netip.MustParseAddr("1.1.1.1")) {
		t.Fatal("zero set not usable")
	}
	var nilSet *IndicatorSet
	if _, ok := nilSet.Lookup(netip.MustParseAddr("1.1.1.1")); ok || nilSet.Len() != 0 {
		t.Fatal("nil set must be empty")
	}
}

// BenchmarkLookup looks up a mix of hits and misses in the level-1 list plus
// a few ranges, as the matcher does for each candidate event.
func BenchmarkLookup(b *testing.B) {
	set := level1Set(b)
	for _, p := range []string{"45.0.0.0/8", "77.90.0.0/16", "185.220.101.0/24", "2a00:1450::/32"} {
		set.Add(Indicator{Prefix: netip.MustParsePrefix(p)}, false)
	}
	var queries []netip.Addr
	for i := range set.All() {
		queries = append(queries, i.Prefix.Addr())
		if len(queries) == 4096 {
			break
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 4096 {
		queries = append(queries, v4addr(r.Uint32()))
	}
	r.Shuffle(len(queries), func(i, j int) { queries[i], queries[j] = queries[j], queries[i] })
	b.ReportAllocs()
	b.ResetTimer()
	hits := 0
	for i := 0; b.Loop(); i++ {
		if _, ok := set.Lookup(queries[i%len(queries)]); ok {
			hits++
		}
	}
	if hits == 0 {
		b.Fatal("no hits")
	}
}

func TestSortUint32(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 5, 1023, 1024, 5000, 120430} {
		keys := make([]uint32, n)
		for i := range keys {
			switch i % 3 {
			case 0:
				keys[i] = r.Uint32()
			case 1:
				keys[i] = r.Uint32() & 0xff00ff00 // repeated digits
			default:
				keys[i] = uint32(i) // already ordered runs
			}
		}
		want := slices.Clone(keys)
		slices.Sort(want)
		sortUint32(keys)
		if !slices.Equal(keys, want) {
			t.Fatalf("n=%d: sortUint32 disagrees with slices.Sort", n)
		}
	}
}

// level1Set parses the real IPsum levels/1.txt (~120k addresses).
func level1Set(tb testing.TB) *IndicatorSet {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(testenv.IPsumDir(tb), "levels", "1.txt"))
	if err != nil {
		tb.Fatal(err)
	}
	set := NewIndicatorSet("")
	if _, err := ParseFeed(bytes.NewReader(data), "1.txt", FeedOptions{}, set); err != nil {
		tb.Fatal(err)
	}
	return set
}

// TestLookupFilter: the /24 filter a large set builds never hides an
// indicator. Sets below and above filterMin, ranges of every IPv4 length
// added before and after the filter exists, are checked against a
// brute-force scan on their own addresses, their ranges' edges, their
// neighbours and random addresses.
func TestLookupFilter(t *testing.T) {
	for _, tc := range []struct {
		name  string
		addrs int
	}{
		{"small set, no filter", filterMin / 2},
		{"large set, filter", 3 * filterMin},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, uint64(tc.addrs)))
			set := NewIndicatorSet("t")
			var all []netip.Prefix
			add := func(p netip.Prefix) {
				if ok, _ := set.Add(Indicator{Prefix: p, Level: 1}, true); ok {
					all = append(all, p.Masked())
				}
			}
			ranges := func() {
				// From /8: shorter ranges would fill most of the filter
				// and hide a wrong bit.
				for bits := 8; bits <= 31; bits++ {
					add(netip.PrefixFrom(v4addr(r.Uint32()), bits))
				}
			}
			ranges() // before the filter is built
			for range tc.addrs {
				add(netip.PrefixFrom(v4addr(r.Uint32()), 32))
			}
			ranges() // after
			if big := tc.addrs >= filterMin; (set.filter4 != nil) != big {
				t.Fatalf("filter built: %v, want %v", set.filter4 != nil, big)
			}
			covered := func(a netip.Addr) bool {
				for _, p := range all {
					if p.Contains(a) {
						return true
					}
				}
				return false
			}
			var queries []netip.Addr
			for _, p := range all {
				k := v4key(p.Addr())
				last := k | ^v4mask(p.Bits())
				queries = append(queries, v4addr(k), v4addr(last), v4addr(k-1), v4addr(last+1))
			}
			for range 2000 {
				queries = append(queries, v4addr(r.Uint32()))
			}
			for _, a := range queries {
				if _, got := set.Lookup(a); got != covered(a) {
					t.Fatalf("Lookup(%s) = %v, want %v", a, got, covered(a))
				}
			}
		})
	}
}

// TestLookupFilter16: the /16 level of the filter marks exactly the /16s
// that hold an indicator's /24s, so that a miss elsewhere is decided there.
func TestLookupFilter16(t *testing.T) {
	set := NewIndicatorSet("t")
	for i := range filterMin {
		set.Add(Indicator{Prefix: netip.PrefixFrom(v4addr(0x01020000|uint32(i)), 32), Level: 1}, true) // 1.2.0.0/16
	}
	set.Add(Indicator{Prefix: netip.MustParsePrefix("5.0.0.0/15"), Level: 1}, true) // 5.0/16 and 5.1/16
	marked := 0
	for _, w := range set.filter16 {
		marked += bits.OnesCount64(w)
	}
	if marked != 3 {
		t.Errorf("%d /16s marked, want 3 (1.2, 5.0, 5.1)", marked)
	}
	for _, tc := range []struct {
		addr string
		want bool
	}{
		{"1.2.3.4", true}, {"5.1.255.255", true}, {"1.3.0.1", false}, {"5.2.0.0", false}, {"4.255.255.255", false},
	} {
		if got := set.maybe4(v4key(netip.MustParseAddr(tc.addr))); got != tc.want {
			t.Errorf("maybe4(%s) = %v, want %v", tc.addr, got, tc.want)
		}
	}
}
