package correlation

import (
	"net/netip"
	"strings"
)

// Rule names the detection in alerts.
type Rule struct {
	ID, Name, Version, Description, Reference string
}

// Defaults of the rule block; NewAlert fills every empty Rule field from
// DefaultRule.
const (
	DefaultRuleID      = "edgewatch-defender-ti-inbound"
	DefaultRuleName    = "Inbound connection from threat-intel IP to internet-facing port"
	DefaultRuleVersion = "1"
	DefaultRuleDesc    = "An internet-facing device accepted an inbound connection, on one of its internet-facing ports, from an address on a threat-intelligence list."
	RuleRuleset        = "edgewatch"
)

// DefaultRule is the rule edgewatch reports when none is configured.
func DefaultRule() Rule {
	return Rule{ID: DefaultRuleID, Name: DefaultRuleName, Version: DefaultRuleVersion, Description: DefaultRuleDesc}
}

// withDefaults fills empty fields from DefaultRule.
func (r Rule) withDefaults() Rule {
	d := DefaultRule()
	if r.ID == "" {
		r.ID = d.ID
	}
	if r.Name == "" {
		r.Name = d.Name
	}
	if r.Version == "" {
		r.Version = d.Version
	}
	if r.Description == "" {
		r.Description = d.Description
	}
	return r
}

// MatchOptions are the configurable parts of the match.
type MatchOptions struct {
	ExcludePorts []int          // local ports never alerted on (the seed's SMTP comment)
	Allow        []netip.Prefix // remote ranges never alerted on (known scanners)
}

// Reasons Matcher.Match gives for a miss, in the order it checks them.
const (
	MissAction        = "action"         // ActionType is not InboundConnectionAccepted
	MissBadPort       = "bad-port"       // LocalPort absent or out of range
	MissDevicePort    = "device-port"    // (DeviceId, LocalPort) is not an internet-facing pair
	MissBadRemoteIP   = "bad-remote-ip"  // RemoteIP absent or unparsable
	MissNotIndicator  = "not-indicator"  // RemoteIP not in the indicator set
	MissExcludedPort  = "excluded-port"  // would alert, but LocalPort is excluded
	MissAllowedRemote = "allowed-remote" // would alert, but RemoteIP is allowlisted
)

// MissReasons lists every miss reason, for reports that want stable keys.
var MissReasons = []string{MissAction, MissBadPort, MissDevicePort, MissBadRemoteIP, MissNotIndicator, MissExcludedPort, MissAllowedRemote}

// Matcher applies the seed's match to one event at a time. It only reads its
// sets, so one Matcher may serve many goroutines.
type Matcher struct {
	facing  *FacingSet
	ind     *IndicatorSet
	exclude map[int]struct{}
	allow   []netip.Prefix
}

// NewMatcher builds a matcher. Allow prefixes are normalised like indicators
// (masked, IPv4-mapped unmapped); invalid ones are ignored.
func NewMatcher(f *FacingSet, ind *IndicatorSet, opts MatchOptions) *Matcher {
	m := &Matcher{facing: f, ind: ind}
	for _, p := range opts.ExcludePorts {
		if m.exclude == nil {
			m.exclude = make(map[int]struct{}, len(opts.ExcludePorts))
		}
		m.exclude[p] = struct{}{}
	}
	for _, p := range opts.Allow {
		if q, ok := NormalizePrefix(p); ok {
			m.allow = append(m.allow, q)
		}
	}
	return m
}

// Match is a positive result.
type Match struct {
	Facing    *FacingPort
	Indicator Indicator
	Remote    netip.Addr // unmapped
}

// IsInboundAccepted reports whether an ActionType is
// InboundConnectionAccepted. The seed compares exactly; edgewatch also
// accepts any letter case, because Elastic's m365_defender pipeline stores
// event.action lower-cased ("inboundconnectionaccepted").
func IsInboundAccepted(actionType string) bool {
	return actionType == ActionInboundAccepted || strings.EqualFold(actionType, ActionInboundAccepted)
}

// EventRemote returns the event's remote address, unmapped and without zone.
// When RemoteIP did not parse it retries RemoteIPRaw (trimmed); ok is false
// when neither holds an address.
func EventRemote(ev *NetworkEvent) (netip.Addr, bool) {
	a := ev.RemoteIP
	if !a.IsValid() && ev.RemoteIPRaw != "" {
		a, _ = netip.ParseAddr(strings.TrimSpace(ev.RemoteIPRaw))
	}
	if !a.IsValid() {
		return netip.Addr{}, false
	}
	return NormalizeAddr(a), true
}

// Match returns the match or the reason for a miss ("action", "device-port",
// "bad-remote-ip", "bad-port", "not-indicator", "excluded-port", "allowed-remote").
//
// The seed's conditions are checked first (action, facing pair, indicator);
// the exclusions last, so "excluded-port" and "allowed-remote" count exactly
// the alerts they suppressed.
func (m *Matcher) Match(ev *NetworkEvent) (Match, string, bool) {
	if ev == nil || !IsInboundAccepted(ev.ActionType) {
		return Match{}, MissAction, false
	}
	if ev.LocalPort < 0 || ev.LocalPort > 65535 {
		return Match{}, MissBadPort, false
	}
	fp, ok := m.facing.Lookup(ev.DeviceID, ev.LocalPort)
	if !ok || ev.DeviceID == "" {
		return Match{}, MissDevicePort, false
	}
	remote, ok := EventRemote(ev)
	if !ok {
		return Match{}, MissBadRemoteIP, false
	}
	ind, ok := m.ind.Lookup(remote)
	if !ok {
		return Match{}, MissNotIndicator, false
	}
	if _, ok := m.exclude[ev.LocalPort]; ok {
		return Match{}, MissExcludedPort, false
	}
	for _, p := range m.allow {
		if p.Contains(remote) {
			return Match{}, MissAllowedRemote, false
		}
	}
	return Match{Facing: fp, Indicator: ind, Remote: remote}, "", true
}
