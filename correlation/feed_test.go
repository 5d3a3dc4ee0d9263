package correlation

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/edgewatch/edgewatch/internal/testenv"
)

func parseString(t *testing.T, text string, opts FeedOptions) (FeedReport, *IndicatorSet) {
	t.Helper()
	set := NewIndicatorSet(opts.Name)
	rep, err := ParseFeed(strings.NewReader(text), "test.txt", opts, set)
	if err != nil {
		t.Fatalf("ParseFeed: %v", err)
	}
	checkReportInvariants(t, rep, set)
	return rep, set
}

// checkReportInvariants: every line lands in exactly one bucket, and the set
// holds exactly the loaded lines.
func checkReportInvariants(t testing.TB, rep FeedReport, set *IndicatorSet) {
	t.Helper()
	sum := rep.Blank + rep.Comments + rep.Loaded + rep.Duplicates + rep.BelowLevel + rep.Invalid + rep.DroppedTotal()
	if sum != rep.Lines {
		t.Fatalf("buckets sum to %d, Lines = %d: %+v", sum, rep.Lines, rep)
	}
	if set.Len() != rep.Loaded {
		t.Fatalf("set.Len() = %d, Loaded = %d", set.Len(), rep.Loaded)
	}
	if rep.Invalid < len(rep.InvalidLines) || len(rep.InvalidLines) > MaxInvalidLines {
		t.Fatalf("Invalid %d, InvalidLines %v", rep.Invalid, rep.InvalidLines)
	}
	if !slices.IsSorted(rep.InvalidLines) {
		t.Fatalf("InvalidLines not ascending: %v", rep.InvalidLines)
	}
	for _, n := range rep.InvalidLines {
		if n < 1 || n > rep.Lines {
			t.Fatalf("invalid line number %d outside 1..%d", n, rep.Lines)
		}
	}
	switch rep.Format {
	case FormatIPsum, FormatLevels, FormatList, FormatEmpty:
	default:
		t.Fatalf("unknown format %q", rep.Format)
	}
}

func indicators(set *IndicatorSet) []string {
	var out []string
	for ind := range set.All() {
		out = append(out, fmt.Sprintf("%s c%d l%d %s", ind.Value(), ind.Count, ind.Level, ind.Feed))
	}
	return out
}

func TestParseFeed(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		opts    FeedOptions
		want    FeedReport // Source is filled in
		wantSet []string
	}{
		{
			name: "ipsum.txt header and counts",
			text: "# IPsum Threat Intelligence Feed\n# (https://github.com/stamparm/ipsum)\n#\n# IP\tnumber of (black)lists\n#\n77.90.185.20\t10\n1.2.3.4\t3\n5.6.7.8\t1\n",
			want: FeedReport{Format: FormatIPsum, Lines: 8, Comments: 5, Loaded: 3},
			wantSet: []string{
				"1.2.3.4 c3 l3 ipsum", "5.6.7.8 c1 l1 ipsum", "77.90.185.20 c10 l8 ipsum",
			},
		},
		{
			name:    "ipsum.txt MinLevel keeps count >= MinLevel",
			text:    "# h\n77.90.185.20\t10\n1.2.3.4\t4\n5.6.7.8\t3\n",
			opts:    FeedOptions{MinLevel: 4},
			want:    FeedReport{Format: FormatIPsum, Lines: 4, Comments: 1, Loaded: 2, BelowLevel: 1},
			wantSet: []string{"1.2.3.4 c4 l4 ipsum", "77.90.185.20 c10 l8 ipsum"},
		},
		{
			name:    "ipsum row without count is invalid",
			text:    "1.2.3.4\t4\n5.6.7.8\n",
			want:    FeedReport{Format: FormatIPsum, Lines: 2, Loaded: 1, Invalid: 1, InvalidLines: []int{2}},
			wantSet: []string{"1.2.3.4 c4 l4 ipsum"},
		},
		{
			name:    "bad count is invalid",
			text:    "1.2.3.4\tx\n1.2.3.5\t-1\n1.2.3.6\t9999999999\n1.2.3.7\t2\n",
			want:    FeedReport{Format: FormatIPsum, Lines: 4, Loaded: 1, Invalid: 3, InvalidLines: []int{1, 2, 3}},
			wantSet: []string{"1.2.3.7 c2 l2 ipsum"},
		},
		{
			name: "levels file: the first line is a real IP",
			text: "77.90.185.20\n77.239.124.102\n77.239.124.108\n",
			opts: FeedOptions{LevelHint: 4},
			want: FeedReport{Format: FormatLevels, Lines: 3, Loaded: 3},
			wantSet: []string{
				"77.90.185.20 c0 l4 ipsum", "77.239.124.102 c0 l4 ipsum", "77.239.124.108 c0 l4 ipsum",
			},
		},
		{
			name:    "levels file below MinLevel",
			text:    "77.90.185.20\n77.239.124.102\n",
			opts:    FeedOptions{LevelHint: 3, MinLevel: 4},
			want:    FeedReport{Format: FormatLevels, Lines: 2, BelowLevel: 2},
			wantSet: nil,
		},
		{
			name:    "levels file at MinLevel",
			text:    "77.90.185.20\n",
			opts:    FeedOptions{LevelHint: 4, MinLevel: 4},
			want:    FeedReport{Format: FormatLevels, Lines: 1, Loaded: 1},
			wantSet: []string{"77.90.185.20 c0 l4 ipsum"},
		},
		{
			name:    "unknown level: MinLevel does not apply",
			text:    "77.90.185.20\n",
			opts:    FeedOptions{MinLevel: 4},
			want:    FeedReport{Format: FormatLevels, Lines: 1, Loaded: 1},
			wantSet: []string{"77.90.185.20 c0 l0 ipsum"},
		},
		{
			name:    "level hint above 8 is capped",
			text:    "77.90.185.20\n",
			opts:    FeedOptions{LevelHint: 12},
			want:    FeedReport{Format: FormatLevels, Lines: 1, Loaded: 1},
			wantSet: []string{"77.90.185.20 c0 l8 ipsum"},
		},
		{
			name: "plain list: comments, CRLF, blanks, whitespace, trailing comments, IPv6, CIDR",
			text: "\xef\xbb\xbf# my list\r\n\r\n  1.2.3.4  \r\n\t2001:4860::8888 # google-ish\r\n5.6.7.0/24 ; spamhaus style\r\n2a00:1450::/32\r\n   \r\n# end",
			opts: FeedOptions{Name: "mylist"},
			want: FeedReport{Format: FormatList, Lines: 8, Blank: 2, Comments: 2, Loaded: 4},
			wantSet: []string{
				"1.2.3.4 c0 l0 mylist", "2001:4860::8888 c0 l0 mylist", "5.6.7.0/24 c0 l0 mylist", "2a00:1450::/32 c0 l0 mylist",
			},
		},
		{
			name: "invalid lines counted with line numbers",
			text: "1.2.3.4\nnot-an-ip\n1.2.3.256\n01.2.3.4\n1.2.3.4 5 6\n1.2.3.0/33\n::ffff:1.2.3.4%eth0/24\n8.8.8.8\n",
			want: FeedReport{Format: FormatList, Lines: 8, Loaded: 2, Invalid: 6, InvalidLines: []int{2, 3, 4, 5, 6, 7}},
			wantSet: []string{
				"1.2.3.4 c0 l0 ipsum", "8.8.8.8 c0 l0 ipsum",
			},
		},
		{
			name:    "duplicates counted, the stronger entry kept",
			text:    "1.2.3.4\t2\n1.2.3.4\t5\n1.2.3.4\t3\n9.9.9.9\t1\n",
			want:    FeedReport{Format: FormatIPsum, Lines: 4, Loaded: 2, Duplicates: 2},
			wantSet: []string{"1.2.3.4 c5 l5 ipsum", "9.9.9.9 c1 l1 ipsum"},
		},
		{
			name:    "IPv4-mapped IPv6 is a duplicate of its IPv4",
			text:    "1.2.3.4\n::ffff:1.2.3.4\n::ffff:5.6.7.0/120\n",
			want:    FeedReport{Format: FormatList, Lines: 3, Loaded: 2, Duplicates: 1},
			wantSet: []string{"1.2.3.4 c0 l0 ipsum", "5.6.7.0/24 c0 l0 ipsum"},
		},
		{
			name:    "host bits masked, /32 stored as an address",
			text:    "5.6.7.8/24\n9.9.9.9/32\n",
			want:    FeedReport{Format: FormatList, Lines: 2, Loaded: 2},
			wantSet: []string{"9.9.9.9 c0 l0 ipsum", "5.6.7.0/24 c0 l0 ipsum"},
		},
		{
			name: "non-global dropped by reason",
			text: "10.1.2.3\n192.168.1.1\n127.0.0.1\n0.0.0.0/0\n10.0.0.0/8\n8.0.0.0/4\nfd00::1\n::1\n100.64.1.1\n255.255.255.255\n242.123.135.161\n1.1.1.1\n",
			want: FeedReport{Format: FormatList, Lines: 12, Loaded: 1, Dropped: map[string]int{
				"private": 3, "loopback": 2, "overlaps-this-network": 2, "unique-local": 1, "cgnat": 1, "broadcast": 1, "reserved": 1,
			}},
			wantSet: []string{"1.1.1.1 c0 l0 ipsum"},
		},
		{
			name:    "KeepNonGlobal keeps them",
			text:    "10.1.2.3\n10.0.0.0/8\n",
			opts:    FeedOptions{KeepNonGlobal: true},
			want:    FeedReport{Format: FormatList, Lines: 2, Loaded: 2},
			wantSet: []string{"10.1.2.3 c0 l0 ipsum", "10.0.0.0/8 c0 l0 ipsum"},
		},
		{
			name: "empty file",
			text: "",
			want: FeedReport{Format: FormatEmpty},
		},
		{
			name: "only comments and blanks",
			text: "# nothing today\n\n",
			want: FeedReport{Format: FormatEmpty, Lines: 2, Comments: 1, Blank: 1},
		},
		{
			name:    "no final newline",
			text:    "1.2.3.4\n5.6.7.8",
			want:    FeedReport{Format: FormatLevels, Lines: 2, Loaded: 2},
			wantSet: []string{"1.2.3.4 c0 l0 ipsum", "5.6.7.8 c0 l0 ipsum"},
		},
		{
			name:    "too long line is invalid, parsing goes on",
			text:    "1.2.3.4\n" + strings.Repeat("x", 200_000) + "\n5.6.7.8\n",
			want:    FeedReport{Format: FormatList, Lines: 3, Loaded: 2, Invalid: 1, InvalidLines: []int{2}},
			wantSet: []string{"1.2.3.4 c0 l0 ipsum", "5.6.7.8 c0 l0 ipsum"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, set := parseString(t, tt.text, tt.opts)
			tt.want.Source, tt.want.Name = "test.txt", cmpOr(tt.opts.Name, DefaultFeedName)
			if diff := cmp.Diff(tt.want, rep); diff != "" {
				t.Errorf("report (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantSet, indicators(set)); diff != "" {
				t.Errorf("set (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFeedNaming: a feed given no name is named after what it is, so a
// plain list is not labelled IPsum (issue 18, item 4).
func TestFeedNaming(t *testing.T) {
	const (
		ipsumText  = "# IPsum Threat Intelligence Feed\n# IP\tnumber of (black)lists\n77.90.185.20\t10\n2.57.122.53\t3\n"
		levelsText = "77.90.185.20\n2.57.122.53\n"
		listText   = "# corp blocklist\n77.90.185.20\n2a00:1450::/32\n"
	)
	tests := []struct {
		name, file, text string
		opts             FeedOptions
		want             string // the feed name on the indicators and in the report
		ipsum            bool
	}{
		{"ipsum.txt", "ipsum.txt", ipsumText, FeedOptions{DeriveName: true}, "ipsum", true},
		{"counts under another file name", "daily.txt", ipsumText, FeedOptions{DeriveName: true}, "ipsum", true},
		{"levels file", "levels/4.txt", levelsText, FeedOptions{DeriveName: true, LevelHint: 4}, "ipsum", true},
		{"dated levels file", "levels-4-2026-01-02.txt", levelsText, FeedOptions{DeriveName: true, LevelHint: 4}, "ipsum", true},
		{"bare addresses, no level in the name", "/srv/feeds/blocklist.txt", levelsText, FeedOptions{DeriveName: true}, "blocklist", false},
		{"list with comments and CIDRs", "corp-blocklist.txt.gz", listText, FeedOptions{DeriveName: true}, "corp-blocklist", false},
		{"list named like a level", "4.txt", listText, FeedOptions{DeriveName: true, LevelHint: 4}, "4", false},
		{"firehol netset", "firehol_level1.netset", listText, FeedOptions{DeriveName: true}, "firehol_level1", false},
		{"stdin", "-", listText, FeedOptions{DeriveName: true}, "feed", false},
		{"feed_name wins", "corp-blocklist.txt", listText, FeedOptions{DeriveName: true, Name: "corp"}, "corp", false},
		{"feed_name wins over IPsum too", "ipsum.txt", ipsumText, FeedOptions{DeriveName: true, Name: "ipsum-l3"}, "ipsum-l3", true},
		{"no derivation: the set's name", "corp.txt", listText, FeedOptions{}, "ipsum", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := NewIndicatorSet("")
			rep, err := ParseFeed(strings.NewReader(tt.text), tt.file, tt.opts, set)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Name != tt.want {
				t.Errorf("report name %q, want %q", rep.Name, tt.want)
			}
			for ind := range set.All() {
				if ind.Feed != tt.want {
					t.Errorf("indicator %s feed %q, want %q", ind.Value(), ind.Feed, tt.want)
				}
			}
			if got := IPsumFeed(rep.Format, tt.opts.LevelHint); got != tt.ipsum {
				t.Errorf("IPsumFeed(%s, %d) = %v, want %v", rep.Format, tt.opts.LevelHint, got, tt.ipsum)
			}
		})
	}

	// Two files into one set: each indicator keeps its own file's name.
	set := NewIndicatorSet("")
	for _, f := range []struct{ file, text string }{{"ipsum.txt", ipsumText}, {"corp.txt", "# corp\n198.51.100.0/24\n45.155.205.233\n"}} {
		if _, err := ParseFeed(strings.NewReader(f.text), f.file, FeedOptions{DeriveName: true, KeepNonGlobal: true}, set); err != nil {
			t.Fatal(err)
		}
	}
	for addr, want := range map[string]string{"77.90.185.20": "ipsum", "45.155.205.233": "corp", "198.51.100.7": "corp"} {
		if ind, ok := set.Lookup(netip.MustParseAddr(addr)); !ok || ind.Feed != want {
			t.Errorf("%s: feed %q (found %v), want %q", addr, ind.Feed, ok, want)
		}
	}
}

func TestParseFeedManyInvalidKeepsFirstLines(t *testing.T) {
	text := strings.Repeat("garbage\n", 100)
	rep, _ := parseString(t, text, FeedOptions{})
	if rep.Invalid != 100 {
		t.Fatalf("Invalid = %d, want 100", rep.Invalid)
	}
	want := make([]int, MaxInvalidLines)
	for i := range want {
		want[i] = i + 1
	}
	if diff := cmp.Diff(want, rep.InvalidLines); diff != "" {
		t.Errorf("InvalidLines (-want +got):\n%s", diff)
	}
}

func TestParseFeedNilSet(t *testing.T) {
	if _, err := ParseFeed(strings.NewReader("1.2.3.4\n"), "x", FeedOptions{}, nil); err == nil {
		t.Fatal("want an error for a nil set")
	}
}

type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		r.n++
		return copy(p, "1.2.3.4\n5.6."), nil
	}
	return 0, fmt.Errorf("disk on fire")
}

func TestParseFeedReadError(t *testing.T) {
	set := NewIndicatorSet("")
	rep, err := ParseFeed(&failingReader{}, "broken.txt", FeedOptions{}, set)
	if err == nil || !strings.Contains(err.Error(), "disk on fire") || !strings.Contains(err.Error(), "broken.txt") {
		t.Fatalf("err = %v, want the read error naming the file", err)
	}
	if rep.Loaded != 1 {
		t.Errorf("Loaded = %d before the error, want 1", rep.Loaded)
	}
}

func TestLevelFromFileName(t *testing.T) {
	tests := []struct {
		name string
		want int
	}{
		{"4.txt", 4},
		{"levels/4.txt", 4},
		{"testdata/ipsum/levels/8.txt", 8},
		{"levels-4-2026-01-02.txt", 4},
		{"levels-8-2025-04-08-empty.txt", 8},
		{"ipsum-level4.txt", 4},
		{"level_3.txt.gz", 3},
		{"LEVELS-5.TXT", 5},
		{"ipsum.txt", 0},
		{"9.txt", 0},
		{"0.txt", 0},
		{"blocklist-2026-01-02.txt", 0},
		{"levels.txt", 0},
		{"", 0},
	}
	for _, tt := range tests {
		t.Run("name="+tt.name, func(t *testing.T) {
			if got := LevelFromFileName(tt.name); got != tt.want {
				t.Errorf("LevelFromFileName(%q) = %d, want %d", tt.name, got, tt.want)
			}
		})
	}
}

// ---- the real IPsum snapshot ----

func loadFile(t testing.TB, path string, opts FeedOptions) (FeedReport, *IndicatorSet) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if opts.LevelHint == 0 {
		opts.LevelHint = LevelFromFileName(path)
	}
	set := NewIndicatorSet(opts.Name)
	rep, err := ParseFeed(f, path, opts, set)
	if err != nil {
		t.Fatal(err)
	}
	checkReportInvariants(t, rep, set)
	return rep, set
}

func addrSet(set *IndicatorSet) map[netip.Addr]int {
	out := map[netip.Addr]int{}
	for ind := range set.All() {
		out[ind.Prefix.Addr()] = ind.Level
	}
	return out
}

func sameAddrs(t *testing.T, a, b *IndicatorSet) {
	t.Helper()
	ka, kb := addrSet(a), addrSet(b)
	if len(ka) != len(kb) {
		t.Fatalf("sizes differ: %d vs %d", len(ka), len(kb))
	}
	for k := range ka {
		if _, ok := kb[k]; !ok {
			t.Fatalf("%v in one set only", k)
		}
	}
}

func TestRealIPsumLevels(t *testing.T) {
	dir := testenv.IPsumDir(t)
	want := map[string]int{"1": 120430, "2": 30773, "3": 14217, "4": 5354, "5": 1413, "6": 318, "7": 70, "8": 23}
	for lvl, n := range want {
		t.Run("levels/"+lvl+".txt", func(t *testing.T) {
			rep, set := loadFile(t, filepath.Join(dir, "levels", lvl+".txt"), FeedOptions{})
			if rep.Format != FormatLevels || rep.Loaded != n || rep.Lines != n || set.Len() != n {
				t.Fatalf("report %+v, want %d loaded in format levels", rep, n)
			}
			if rep.Invalid != 0 || rep.Duplicates != 0 || len(rep.Dropped) != 0 {
				t.Errorf("unexpected rejects: %+v", rep)
			}
		})
	}
}

func TestRealIPsumLevel4FirstLine(t *testing.T) {
	dir := testenv.IPsumDir(t)
	rep, set := loadFile(t, filepath.Join(dir, "levels", "4.txt"), FeedOptions{})
	if rep.Loaded != 5354 {
		t.Fatalf("Loaded = %d, want 5354 (5353 would mean the first line was dropped)", rep.Loaded)
	}
	for _, ip := range []string{"77.90.185.20", "185.220.101.33"} { // first and last line
		ind, ok := set.Lookup(netip.MustParseAddr(ip))
		if !ok || ind.Level != 4 {
			t.Errorf("Lookup(%s) = %+v, %v; want level 4", ip, ind, ok)
		}
	}
	// And through IPv4-mapped IPv6, as DeviceNetworkEvents may write it.
	if _, ok := set.Lookup(netip.MustParseAddr("::ffff:77.90.185.20")); !ok {
		t.Error("IPv4-mapped form of the top IP did not match")
	}
}

func TestRealIPsumTxtEqualsLevels(t *testing.T) {
	dir := testenv.IPsumDir(t)
	full, all := loadFile(t, filepath.Join(dir, "ipsum.txt"), FeedOptions{})
	if full.Format != FormatIPsum || full.Comments != 7 || full.Loaded != 120430 || full.Lines != 120437 {
		t.Fatalf("ipsum.txt report %+v", full)
	}
	if ind, ok := all.Lookup(netip.MustParseAddr("77.90.185.20")); !ok || ind.Count != 10 || ind.Level != 8 {
		t.Errorf("top IP = %+v, %v; want count 10, level 8", ind, ok)
	}
	for _, lvl := range []int{1, 4, 8} {
		t.Run(fmt.Sprintf("MinLevel %d", lvl), func(t *testing.T) {
			rep, fromTxt := loadFile(t, filepath.Join(dir, "ipsum.txt"), FeedOptions{MinLevel: lvl})
			_, fromLevels := loadFile(t, filepath.Join(dir, "levels", fmt.Sprintf("%d.txt", lvl)), FeedOptions{})
			sameAddrs(t, fromTxt, fromLevels)
			if rep.Loaded+rep.BelowLevel != 120430 {
				t.Errorf("Loaded %d + BelowLevel %d != 120430", rep.Loaded, rep.BelowLevel)
			}
			for ind := range fromTxt.All() {
				if ind.Count < lvl || ind.Level != min(ind.Count, 8) {
					t.Fatalf("%+v: count below %d or level not min(count,8)", ind, lvl)
				}
			}
		})
	}
}

func TestRealIPsumOlderSnapshots(t *testing.T) {
	dir := testenv.IPsumDir(t)
	tests := []struct {
		file   string
		lines  int
		format string
	}{
		{"levels-4-2026-01-02.txt", 9854, FormatLevels},
		{"levels-4-2025-11-05.txt", 8453, FormatLevels},
		{"levels-4-2020-04-05.txt", 3185, FormatLevels},
		{"levels-4-2020-04-08.txt", 3635, FormatLevels},
		{"levels-8-2025-04-08-empty.txt", 0, FormatEmpty},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			rep, set := loadFile(t, filepath.Join(dir, tt.file), FeedOptions{MinLevel: 4})
			if rep.Format != tt.format || rep.Lines != tt.lines {
				t.Fatalf("report %+v, want %d lines, format %s", rep, tt.lines, tt.format)
			}
			// Older snapshots may carry a few non-global addresses; every line
			// is still accounted for, and nothing is invalid.
			if rep.Invalid != 0 || rep.Loaded+rep.DroppedTotal() != tt.lines {
				t.Errorf("report %+v", rep)
			}
			for ind := range set.All() {
				if ind.Level != 4 && tt.lines > 0 {
					t.Fatalf("%+v: level should come from the file name", ind)
				}
			}
		})
	}
}

// ---- fuzz and benchmarks ----

func FuzzParseFeed(f *testing.F) {
	for _, s := range []string{
		"", "# c\n1.2.3.4\t5\n", "1.2.3.4\n5.6.7.8\n", "10.0.0.0/8\n", "::ffff:1.2.3.4\n", "2001:db8::/32 # doc\r\n",
		"1.2.3.4 x y\n", "\xef\xbb\xbf1.1.1.1", "0.0.0.0/0\n", "fe80::1%eth0\n", "1.2.3.4\t999999999\n;x\n",
	} {
		f.Add([]byte(s), 0, 0, false)
	}
	f.Fuzz(func(t *testing.T, data []byte, minLevel, hint int, keep bool) {
		set := NewIndicatorSet("fuzz")
		rep, err := ParseFeed(bytes.NewReader(data), "fuzz", FeedOptions{MinLevel: minLevel, LevelHint: hint, KeepNonGlobal: keep}, set)
		if err != nil {
			t.Fatalf("ParseFeed on an in-memory reader: %v", err)
		}
		checkReportInvariants(t, rep, set)
		if lines := bytes.Count(data, []byte("\n")); rep.Lines < lines || rep.Lines > lines+1 {
			t.Fatalf("Lines = %d for %d newlines", rep.Lines, lines)
		}
		for ind := range set.All() {
			got, ok := set.Lookup(ind.Prefix.Addr())
			if !ok {
				t.Fatalf("%v from All() not found by Lookup", ind)
			}
			if ind.Prefix.IsSingleIP() && got != ind {
				t.Fatalf("Lookup(%v) = %+v, want %+v", ind.Prefix.Addr(), got, ind)
			}
			if !keep && NonGlobalReason(ind.Prefix) != "" {
				t.Fatalf("non-global %v kept", ind.Prefix)
			}
			if ind.Level < 0 || ind.Level > MaxLevel {
				t.Fatalf("level %d out of range", ind.Level)
			}
		}
	})
}

func readBench(b *testing.B, name string) []byte {
	b.Helper()
	data, err := os.ReadFile(filepath.Join(testenv.IPsumDir(b), name))
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkParseFeedLevel1 parses the full level-1 list (120,430 lines).
func BenchmarkParseFeedLevel1(b *testing.B) {
	data := readBench(b, filepath.Join("levels", "1.txt"))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		set := NewIndicatorSet("")
		if _, err := ParseFeed(bytes.NewReader(data), "1.txt", FeedOptions{LevelHint: 1}, set); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseFeedIPsumTxt parses ipsum.txt (counts, 120,437 lines).
func BenchmarkParseFeedIPsumTxt(b *testing.B) {
	data := readBench(b, "ipsum.txt")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		set := NewIndicatorSet("")
		if _, err := ParseFeed(bytes.NewReader(data), "ipsum.txt", FeedOptions{}, set); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseFeedLevel1Buffered parses the level-1 list behind a
// buffered reader, which hides its length, as the engine reads a feed file:
// "hint" passes the file's size (FeedOptions.SizeHint), "no hint" grows the
// address map from empty.
func BenchmarkParseFeedLevel1Buffered(b *testing.B) {
	data := readBench(b, filepath.Join("levels", "1.txt"))
	for _, bc := range []struct {
		name string
		hint int64
	}{{"hint", int64(len(data))}, {"no hint", 0}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				set := NewIndicatorSet("")
				r := bufio.NewReader(bytes.NewReader(data))
				if _, err := ParseFeed(r, "1.txt", FeedOptions{LevelHint: 1, SizeHint: bc.hint}, set); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A size hint sizes the address map before the first line, for a reader
// that does not tell its length. Seen on a feed with no global address:
// the map exists only when it was presized (an address would make it
// anyway). The report is the same either way.
func TestParseFeedSizeHint(t *testing.T) {
	const feed = "# nothing to load\n198.51.100.7\n10.0.0.1\nnot-an-address\n"
	tests := []struct {
		name     string
		hint     int64
		presized bool
	}{
		{"hint", 1 << 20, true},
		{"no hint", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := NewIndicatorSet("")
			r := bufio.NewReader(strings.NewReader(feed))
			rep, err := ParseFeed(r, "list.txt", FeedOptions{SizeHint: tt.hint}, set)
			if err != nil {
				t.Fatal(err)
			}
			if got := set.addrs4 != nil; got != tt.presized {
				t.Errorf("address map made before any address: %t, want %t", got, tt.presized)
			}
			if rep.Loaded != 0 || rep.Invalid != 1 || rep.DroppedTotal() != 2 || set.Len() != 0 {
				t.Errorf("loaded %d, invalid %d, dropped %d, set %d; want 0, 1, 2, 0", rep.Loaded, rep.Invalid, rep.DroppedTotal(), set.Len())
			}
		})
	}
}
