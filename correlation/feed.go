package correlation

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/edgewatch/edgewatch/internal/ipv4"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// Feed formats reported in FeedReport.Format.
const (
	FormatIPsum  = "ipsum"  // IPsum ipsum.txt: "# ..." header, then "IP<TAB>count"
	FormatLevels = "levels" // IPsum levels/N.txt: one bare IPv4 a line, no header, no comments
	FormatList   = "list"   // anything else: addresses and CIDRs, IPv4 and IPv6, with comments
	FormatEmpty  = "empty"  // no data line at all (0 bytes, or only blanks and comments)
)

// MaxInvalidLines is how many invalid line numbers a FeedReport keeps.
const MaxInvalidLines = 20

// maxFeedLine is the longest line ParseFeed reads; a longer line is invalid.
const maxFeedLine = 64 << 10

// FeedOptions controls ParseFeed.
type FeedOptions struct {
	// Name is the feed name recorded on each indicator (threat.feed.name).
	// Empty means the set's name ("ipsum" unless the set says otherwise),
	// or, with DeriveName, the name of what the file is (FeedName).
	Name string
	// DeriveName names a feed without a Name after its content and file:
	// see FeedName.
	DeriveName    bool
	MinLevel      int // files with counts (ipsum.txt): keep count >= MinLevel; levels/N.txt: keep when N >= MinLevel (N from LevelHint)
	LevelHint     int // level of a levels/N.txt file (0 = unknown; derived from file name by callers)
	KeepNonGlobal bool
	// SizeHint is the feed text's length in bytes when the caller knows it
	// and r does not tell (a file behind a buffered reader); 0 when not
	// known. It sizes the address map up front.
	SizeHint int64
}

// FeedReport tells what a feed parse saw. It is declared once, in its wire
// form, because a detection run's summary carries it to the host as is.
type FeedReport = wire.FeedReport

// ErrNilSet is returned by ParseFeed when it has no set to fill.
var ErrNilSet = errors.New("correlation: nil indicator set")

// ParseFeed reads a feed from r into set. Malformed lines are counted, not
// fatal; only a read error is returned.
//
// The format is detected from the content, per file:
//   - A line is split at the first '#' or ';' (the rest is a comment), trimmed
//     of spaces, tabs and a trailing CR; a UTF-8 BOM before line 1 is ignored.
//     A line that is empty after that is Blank, or a Comment if it had one.
//   - A data line is an address or a CIDR (IPv4 or IPv6), optionally followed
//     by whitespace and a count (IPsum's "IP<TAB>count"). More fields make the
//     line invalid. IPv4-mapped IPv6 is stored as IPv4; host bits of a CIDR
//     are masked.
//   - If the first well-formed data line carries a count the file is
//     FormatIPsum, and a later data line without a count is invalid (it could
//     not be held to MinLevel). Otherwise the file is FormatLevels when it has no comments and
//     only bare IPv4 addresses (the levels/N.txt shape), else FormatList.
//     No data line at all is FormatEmpty, a valid empty feed.
//   - Lines with a count: Count = count, Level = min(count, 8), kept when
//     count >= MinLevel. Lines without a count (levels/N.txt, plain lists):
//     Count = 0 ("not known": the file only says the address is on at least N
//     lists), Level = LevelHint (capped at 8); when LevelHint > 0 they are kept
//     when LevelHint >= MinLevel, and when LevelHint is 0 (a list whose level
//     is not known) MinLevel does not apply and every line is kept.
//   - The first line of a levels file is a real address (IPsum's top-scored
//     one): it is loaded, unlike the seed's ignoreFirstRecord=True.
//   - Non-global addresses and ranges are dropped unless KeepNonGlobal
//     (see NonGlobalReason), and counted by reason.
//   - An address already in set counts as a duplicate (the stronger entry
//     is kept).
func ParseFeed(r io.Reader, source string, opts FeedOptions, set *IndicatorSet) (FeedReport, error) {
	rep := FeedReport{Source: source, Format: FormatEmpty}
	if set == nil {
		return rep, ErrNilSet
	}
	p := feedParser{
		opts:      opts,
		set:       set,
		rep:       &rep,
		hintLevel: int16(min(max(opts.LevelHint, 0), MaxLevel)),
		allBareV4: true,
	}
	if p.derive = opts.Name == "" && opts.DeriveName; p.derive {
		// Named once the format is known (finish); until then the slot is
		// this parse's own.
		p.feed = set.feedSlot()
	} else {
		rep.Name = cmpOr(opts.Name, set.Name())
		p.feed = set.feedIndex(rep.Name)
	}
	p.presize(r)
	br := bufio.NewReaderSize(r, maxFeedLine)
	for {
		line, err := br.ReadSlice('\n')
		tooLong := false
		for err == bufio.ErrBufferFull { // bufio returns the sentinel itself
			tooLong = true
			_, err = br.ReadSlice('\n')
		}
		if len(line) > 0 || tooLong {
			rep.Lines++
			if tooLong {
				p.dataLines++
				p.invalid()
			} else {
				p.line(line)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			p.finish()
			return rep, fmt.Errorf("read feed %s line %d: %w", source, rep.Lines+1, err)
		}
	}
	p.finish()
	return rep, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

type feedParser struct {
	opts      FeedOptions
	set       *IndicatorSet
	rep       *FeedReport
	feed      uint16
	derive    bool // name the feed in finish
	hintLevel int16

	dataLines     int
	formatKnown   bool
	firstHasCount bool
	allBareV4     bool
}

// presize sizes the address map from the input length when it is known
// (bytes.Reader, strings.Reader, *os.File..., else FeedOptions.SizeHint),
// sparing the map its rehashes: a third of the level-1 feed's parse when it
// grew from empty.
func (p *feedParser) presize(r io.Reader) {
	if p.set.addrs4 != nil {
		return
	}
	n := p.opts.SizeHint
	switch v := r.(type) {
	case interface{ Len() int }:
		n = int64(v.Len())
	case interface{ Stat() (fs.FileInfo, error) }:
		if fi, err := v.Stat(); err == nil {
			n = fi.Size()
		}
	}
	if n <= 0 {
		return
	}
	// ~14 bytes per IPsum line; cap the guess so a huge list file does not
	// reserve absurd memory up front.
	p.set.addrs4 = make(map[uint32]indVal, min(n/14, 1<<20))
}

func (p *feedParser) finish() {
	switch {
	case p.dataLines == 0:
		p.rep.Format = FormatEmpty
	case p.firstHasCount:
		p.rep.Format = FormatIPsum
	case p.rep.Comments == 0 && p.allBareV4:
		p.rep.Format = FormatLevels
	default:
		p.rep.Format = FormatList
	}
	if p.derive {
		p.rep.Name = FeedName(p.rep.Format, p.opts.LevelHint, p.rep.Source)
		p.set.nameFeed(p.feed, p.rep.Name)
	}
}

func (p *feedParser) invalid() {
	p.allBareV4 = false
	p.rep.Invalid++
	if len(p.rep.InvalidLines) < MaxInvalidLines {
		p.rep.InvalidLines = append(p.rep.InvalidLines, p.rep.Lines)
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// nextField splits b (already trimmed on the left) at the first whitespace.
func nextField(b []byte) (field, rest []byte) {
	for i, c := range b {
		if isSpace(c) {
			return b[:i], trimSpace(b[i:])
		}
	}
	return b, nil
}

var bom = []byte("\xef\xbb\xbf")

func (p *feedParser) line(b []byte) {
	if p.rep.Lines == 1 {
		b = bytes.TrimPrefix(b, bom)
	}
	comment := false
	for i, c := range b {
		if c == '#' || c == ';' {
			b, comment = b[:i], true
			break
		}
	}
	b = trimSpace(b)
	if len(b) == 0 {
		if comment {
			p.rep.Comments++
		} else {
			p.rep.Blank++
		}
		return
	}
	p.dataLines++
	addrField, rest := nextField(b)
	countField, rest := nextField(rest)
	if len(rest) > 0 {
		p.invalid()
		return
	}
	hasCount := len(countField) > 0
	count := 0
	if hasCount {
		n, ok := parseCount(countField)
		if !ok {
			p.invalid()
			return
		}
		count = n
		p.allBareV4 = false
	}

	var pfx netip.Prefix
	if a, ok := ipv4.Parse(addrField); ok {
		pfx = netip.PrefixFrom(a, 32)
	} else {
		p.allBareV4 = false
		var err error
		if bytes.IndexByte(addrField, '/') >= 0 {
			pfx, err = netip.ParsePrefix(string(addrField))
		} else {
			var a netip.Addr
			a, err = netip.ParseAddr(string(addrField))
			if err == nil {
				a = NormalizeAddr(a)
				pfx = netip.PrefixFrom(a, a.BitLen())
			}
		}
		if err != nil {
			p.invalid()
			return
		}
	}

	// The first well-formed data line fixes whether rows carry counts, so one
	// malformed first line cannot decide the format of the whole file.
	if !p.formatKnown {
		p.formatKnown, p.firstHasCount = true, hasCount
	} else if !hasCount && p.firstHasCount {
		p.invalid() // an ipsum.txt row without its count cannot be held to MinLevel
		return
	}

	level := p.hintLevel
	if hasCount {
		level = int16(min(count, MaxLevel))
		if p.opts.MinLevel > 0 && count < p.opts.MinLevel {
			p.rep.BelowLevel++
			return
		}
	} else if p.opts.MinLevel > 0 && p.hintLevel > 0 && int(p.hintLevel) < p.opts.MinLevel {
		p.rep.BelowLevel++
		return
	}

	v := indVal{count: clampInt32(count), level: level, feed: p.feed}
	var added bool
	var reason string
	if pfx.Bits() == 32 && pfx.Addr().Is4() {
		added, reason = p.set.addAddr4(pfx.Addr(), v, p.opts.KeepNonGlobal)
	} else {
		added, reason = p.set.addVal(pfx, v, p.opts.KeepNonGlobal)
	}
	switch {
	case added:
		p.rep.Loaded++
	case reason == ReasonDuplicate:
		p.rep.Duplicates++
	case reason == ReasonInvalid:
		p.invalid()
	default:
		if p.rep.Dropped == nil {
			p.rep.Dropped = make(map[string]int)
		}
		p.rep.Dropped[reason]++
	}
}

// parseCount parses a non-negative decimal count of at most 9 digits.
func parseCount(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// IPsumFeed reports whether a feed file is one of IPsum's: an ipsum.txt
// ("IP<TAB>count" lines) or a levels/N.txt (bare IPv4 addresses, no
// comments, a level in the file name). A plain list of bare addresses
// without a level in its name has the same shape as a levels file but is not
// IPsum.
func IPsumFeed(format string, levelHint int) bool {
	switch format {
	case FormatIPsum:
		return true
	case FormatLevels, FormatEmpty:
		return levelHint > 0
	}
	return false
}

// FeedName is the name of a feed file that was given none: DefaultFeedName
// ("ipsum") for IPsum's files (IPsumFeed), otherwise the file's base name
// without its extensions ("corp-blocklist.txt.gz" is "corp-blocklist"),
// or "feed" when nothing is left. Alerts show it as threat.feed.name and,
// for feeds other than IPsum, as threat.indicator.provider and in
// event.reason ("listed by corp-blocklist").
func FeedName(format string, levelHint int, source string) string {
	if IPsumFeed(format, levelHint) {
		return DefaultFeedName
	}
	base := path.Base(filepath.ToSlash(source))
	for _, ext := range []string{".gz", ".txt", ".csv", ".lst", ".list", ".netset", ".ipset", ".tsv"} {
		if len(base) > len(ext) && strings.EqualFold(base[len(base)-len(ext):], ext) {
			base = base[:len(base)-len(ext)]
		}
	}
	if base == "" || base == "." || base == "/" || base == "-" {
		return "feed"
	}
	return base
}

// LevelFromFileName derives an IPsum level from a feed file name: "4.txt" and
// ".../levels/4.txt" give 4, as do "levels-4-2026-01-02.txt",
// "ipsum-level4.txt" and "level_4.txt.gz". Anything else, and levels outside
// 1..8, give 0 (not known).
func LevelFromFileName(name string) int {
	base := path.Base(filepath.ToSlash(name))
	for {
		ext := path.Ext(base)
		if ext == "" || ext == base {
			break
		}
		if _, err := strconv.Atoi(ext[1:]); err == nil {
			break // "levels-4.5"? keep numeric suffixes as part of the name
		}
		base = strings.TrimSuffix(base, ext)
	}
	base = strings.ToLower(base)
	valid := func(n int) int {
		if n >= 1 && n <= MaxLevel {
			return n
		}
		return 0
	}
	if n, err := strconv.Atoi(base); err == nil {
		return valid(n)
	}
	tokens := strings.FieldsFunc(base, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	})
	for i, tok := range tokens {
		for _, kw := range []string{"levels", "level", "lvl"} {
			if !strings.HasPrefix(tok, kw) {
				continue
			}
			num := tok[len(kw):]
			if num == "" && i+1 < len(tokens) {
				num = tokens[i+1]
			}
			if n, err := strconv.Atoi(num); err == nil {
				return valid(n)
			}
			break
		}
	}
	return 0
}
