package correlation

// API SKETCH — the correlation helper replaces this file with real
// implementations split into indicators.go, feed.go, facing.go, match.go,
// finding.go, severity.go. Signatures here are the contract other packages
// compile against; keep them (additions are fine).

import (
	"io"
	"iter"
	"net/netip"
	"time"
)

// Indicator is one threat-intelligence entry.
type Indicator struct {
	Prefix netip.Prefix // a single address is a /32 or /128
	Count  int          // IPsum count (blacklists naming it); 0 when the feed has none
	Level  int          // IPsum level: min(Count, 8); for levels/N.txt files, N
	Feed   string       // feed name, e.g. "ipsum"
}

// IndicatorSet holds exact addresses (O(1) lookup) and CIDR ranges
// (lookup per distinct prefix length). IPv4-mapped IPv6 is unmapped on both
// insert and lookup.
type IndicatorSet struct{}

// NewIndicatorSet returns an empty set for the named feed.
func NewIndicatorSet(feed string) *IndicatorSet { panic("todo") }

// Add inserts ind. Non-global prefixes (private, loopback, link-local,
// multicast, unspecified, CGNAT, documentation, benchmarking, reserved) are
// refused unless keepNonGlobal, returning ok=false and the reason.
func (s *IndicatorSet) Add(ind Indicator, keepNonGlobal bool) (ok bool, reason string) {
	panic("todo")
}

// Lookup returns the indicator covering a (exact first, then the longest
// covering range).
func (s *IndicatorSet) Lookup(a netip.Addr) (Indicator, bool) { panic("todo") }

// Len is the number of indicators (addresses + ranges).
func (s *IndicatorSet) Len() int { panic("todo") }

// All iterates every indicator in a stable order (addresses then ranges,
// each sorted).
func (s *IndicatorSet) All() iter.Seq[Indicator] { panic("todo") }

// Name is the feed name.
func (s *IndicatorSet) Name() string { panic("todo") }

// FeedOptions controls ParseFeed.
type FeedOptions struct {
	Name          string // feed name recorded on each indicator; default "ipsum"
	MinLevel      int    // files with counts (ipsum.txt): keep count >= MinLevel; levels/N.txt: keep when N >= MinLevel (N from LevelHint)
	LevelHint     int    // level of a levels/N.txt file (0 = unknown; derived from file name by callers)
	KeepNonGlobal bool
}

// FeedReport tells what a feed parse saw.
type FeedReport struct {
	Source       string         `json:"source"`
	Format       string         `json:"format"` // "ipsum", "levels", "list", "empty"
	Lines        int            `json:"lines"`
	Comments     int            `json:"comments"`
	Loaded       int            `json:"loaded"`
	Duplicates   int            `json:"duplicates"`
	BelowLevel   int            `json:"below_level"`
	Invalid      int            `json:"invalid"`
	InvalidLines []int          `json:"invalid_lines,omitempty"` // first few 1-based line numbers
	Dropped      map[string]int `json:"dropped,omitempty"`       // non-global, by reason
}

// ParseFeed reads a feed from r into set. Malformed lines are counted, not
// fatal; only a read error is returned.
func ParseFeed(r io.Reader, source string, opts FeedOptions, set *IndicatorSet) (FeedReport, error) {
	panic("todo")
}

// FacingPort is one internet-facing (DeviceId, port) pair and the latest
// DeviceInfo row for it.
type FacingPort struct {
	DeviceID string
	Port     int
	Row      DeviceInfo
}

// FacingBuilder accumulates DeviceInfo rows and keeps the latest per
// (DeviceId, InternetFacingLocalPort); ties on time keep the later-added row.
type FacingBuilder struct{}

// Add offers one row; rows without a facing port are ignored (counted).
func (b *FacingBuilder) Add(row *DeviceInfo) { panic("todo") }

// Build keeps the latest rows whose IsInternetFacing is true.
func (b *FacingBuilder) Build() *FacingSet { panic("todo") }

// FacingSet is the result of the facing step.
type FacingSet struct{}

// Lookup returns the facing entry for (device, port).
func (f *FacingSet) Lookup(deviceID string, port int) (*FacingPort, bool) { panic("todo") }

// Len is the number of facing (device, port) pairs.
func (f *FacingSet) Len() int { panic("todo") }

// Devices lists the device ids (sorted); Ports the distinct ports (sorted).
func (f *FacingSet) Devices() []string { panic("todo") }
func (f *FacingSet) Ports() []int      { panic("todo") }

// All iterates the pairs sorted by device then port.
func (f *FacingSet) All() iter.Seq[*FacingPort] { panic("todo") }

// Rule names the detection in alerts.
type Rule struct {
	ID, Name, Version, Description, Reference string
}

// MatchOptions are the configurable parts of the match.
type MatchOptions struct {
	ExcludePorts []int          // local ports never alerted on (the seed's SMTP comment)
	Allow        []netip.Prefix // remote ranges never alerted on (known scanners)
}

// Matcher applies the seed's match to one event at a time.
type Matcher struct{}

// NewMatcher builds a matcher.
func NewMatcher(f *FacingSet, ind *IndicatorSet, opts MatchOptions) *Matcher { panic("todo") }

// Match is a positive result.
type Match struct {
	Facing    *FacingPort
	Indicator Indicator
	Remote    netip.Addr // unmapped
}

// Match returns the match or the reason for a miss ("action", "device-port",
// "bad-remote-ip", "bad-port", "not-indicator", "excluded-port", "allowed-remote").
func (m *Matcher) Match(ev *NetworkEvent) (Match, string, bool) { panic("todo") }

// NewAlert builds the alert document for a match. created is the write time.
func NewAlert(ev *NetworkEvent, m Match, rule Rule, created time.Time) *Alert { panic("todo") }

// FindingID is the deterministic id: hex SHA-256 over rule id, DeviceId,
// ReportId, event time (RFC 3339 nano UTC), remote IP (unmapped) and local port.
func FindingID(ruleID, deviceID, reportID string, t time.Time, remote netip.Addr, localPort int) string {
	panic("todo")
}
