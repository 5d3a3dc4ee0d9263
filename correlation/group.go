package correlation

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Alert grouping (suppression): a detection that groups alerts writes one
// alert per (rule, values of up to three alert fields, time window) instead
// of one per network event. The window is aligned to UTC multiples of its
// length since the Unix epoch (a 24h window runs from one UTC midnight to
// the next), so a group's identity never depends on when a run happened:
// overlapping runs, reruns and retro-hunts all land in the same group.

// Limits of a GroupSpec.
const (
	MaxGroupFields     = 3
	DefaultGroupWindow = 24 * time.Hour
	MinGroupWindow     = time.Minute
	MaxGroupWindow     = 366 * 24 * time.Hour
)

// GroupIDVersion numbers the group id scheme (see GroupID).
const GroupIDVersion = 1

// groupFields are the alert fields a detection can group by, with how each
// is read from an alert. A field the alert lacks (empty text, port 0) has no
// value: such alerts form their own group, shown as a null term.
var groupFields = map[string]func(a *Alert) string{
	"host.id":                   func(a *Alert) string { return a.Host.ID },
	"host.name":                 func(a *Alert) string { return a.Host.Name },
	"source.ip":                 func(a *Alert) string { return a.Source.IP },
	"source.port":               func(a *Alert) string { return portText(a.Source.Port) },
	"destination.ip":            func(a *Alert) string { return a.Dest.IP },
	"destination.port":          func(a *Alert) string { return portText(a.Dest.Port) },
	"network.transport":         func(a *Alert) string { return a.Network.Transport },
	"process.name":              func(a *Alert) string { return processField(a, func(p *AlertProcess) string { return p.Name }) },
	"process.executable":        func(a *Alert) string { return processField(a, func(p *AlertProcess) string { return p.Executable }) },
	"threat.indicator.ip":       func(a *Alert) string { return a.Threat.Indicator.IP },
	"threat.feed.name":          func(a *Alert) string { return a.Threat.Feed.Name },
	"edgewatch.indicator.value": func(a *Alert) string { return a.Edgewatch.Indicator.Value },
}

func portText(p int) string {
	if p <= 0 {
		return ""
	}
	return strconv.Itoa(p)
}

func processField(a *Alert, f func(*AlertProcess) string) string {
	if a.Process == nil {
		return ""
	}
	return f(a.Process)
}

// GroupFieldNames lists the fields a detection can group by, sorted.
func GroupFieldNames() []string {
	out := make([]string, 0, len(groupFields))
	for k := range groupFields {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// GroupSpec says how a detection groups its alerts: by which fields (at
// most MaxGroupFields, in order) and over which window. The zero GroupSpec
// groups nothing.
type GroupSpec struct {
	Fields []string
	Window time.Duration
}

// NewGroupSpec checks fields and window: known fields (GroupFieldNames), no
// repeats, at most MaxGroupFields; a window of whole seconds in
// [MinGroupWindow, MaxGroupWindow], DefaultGroupWindow when zero. No fields
// is the zero spec (and a window without fields is an error).
func NewGroupSpec(fields []string, window time.Duration) (GroupSpec, error) {
	if len(fields) == 0 {
		if window != 0 {
			return GroupSpec{}, fmt.Errorf("group window %s without group-by fields", window)
		}
		return GroupSpec{}, nil
	}
	if len(fields) > MaxGroupFields {
		return GroupSpec{}, fmt.Errorf("group by %d fields: at most %d", len(fields), MaxGroupFields)
	}
	seen := map[string]bool{}
	for _, f := range fields {
		if groupFields[f] == nil {
			return GroupSpec{}, fmt.Errorf("group by %q: not a field alerts can be grouped by (want one of %s)", f, strings.Join(GroupFieldNames(), ", "))
		}
		if seen[f] {
			return GroupSpec{}, fmt.Errorf("group by %q twice", f)
		}
		seen[f] = true
	}
	if window == 0 {
		window = DefaultGroupWindow
	}
	if window < MinGroupWindow || window > MaxGroupWindow || window%time.Second != 0 {
		return GroupSpec{}, fmt.Errorf("group window %s: want whole seconds between %s and %s", window, MinGroupWindow, MaxGroupWindow)
	}
	return GroupSpec{Fields: append([]string(nil), fields...), Window: window}, nil
}

// Enabled reports whether the spec groups alerts.
func (g GroupSpec) Enabled() bool { return len(g.Fields) > 0 }

// WindowOf is the window holding t: [start, start+Window), start a multiple
// of Window since the Unix epoch, in UTC.
func (g GroupSpec) WindowOf(t time.Time) (start, end time.Time) {
	w := int64(g.Window / time.Second)
	s := t.Unix()
	q := s / w
	if s%w < 0 {
		q-- // floor, for times before 1970
	}
	start = time.Unix(q*w, 0).UTC()
	return start, start.Add(g.Window)
}

// GroupKey identifies a group within one rule and spec: the values of the
// spec's fields and the window's start.
type GroupKey struct {
	values      [MaxGroupFields]string
	windowStart int64 // Unix seconds
}

// KeyOf is the group a's alert belongs to.
func (g GroupSpec) KeyOf(a *Alert) GroupKey {
	var k GroupKey
	for i, f := range g.Fields {
		k.values[i] = groupFields[f](a)
	}
	start, _ := g.WindowOf(a.Timestamp)
	k.windowStart = start.Unix()
	return k
}

// ID is the group's deterministic id (scheme GroupIDVersion): the hex
// SHA-256 of
//
//	"edgewatch-group", scheme, rule id, window length in seconds, window
//	start in Unix seconds, then each field name and its value
//
// joined and escaped as FindingID joins its fields; a field without a value
// is hashed as its name alone, so "no value" and "empty value" never meet.
// The id is the grouped alert's _id and event.id.
func (g GroupSpec) ID(ruleID string, k GroupKey) string {
	var buf [256]byte
	b := append(buf[:0], "edgewatch-group"...)
	b = append(b, findingSep)
	b = strconv.AppendInt(b, GroupIDVersion, 10)
	b = append(b, findingSep)
	b = appendField(b, ruleID)
	b = append(b, findingSep)
	b = strconv.AppendInt(b, int64(g.Window/time.Second), 10)
	b = append(b, findingSep)
	b = strconv.AppendInt(b, k.windowStart, 10)
	for i, f := range g.Fields {
		b = append(b, findingSep)
		b = appendField(b, f)
		if v := k.values[i]; v != "" {
			b = append(b, '=')
			b = appendField(b, v)
		}
	}
	sum := sha256.Sum256(b)
	var id [64]byte
	hex.Encode(id[:], sum[:])
	return string(id[:])
}

// Terms are the key's edgewatch.suppression.terms.
func (g GroupSpec) Terms(k GroupKey) []SuppressionTerm {
	out := make([]SuppressionTerm, len(g.Fields))
	for i, f := range g.Fields {
		out[i].Field = f
		if v := k.values[i]; v != "" {
			out[i].Value = &v
		}
	}
	return out
}

// GroupStats is what a group holds, however it was counted: in memory
// (Grouper) or by an aggregation over the stored per-event findings.
type GroupStats struct {
	DocsCount int64
	// Start and End are the times of the first and last events: the first
	// is the earliest by event time, ties broken by the smallest finding id
	// (the last, the latest, by the largest).
	Start, End time.Time
	// MaxSeverity is the highest event.severity of the group's alerts.
	MaxSeverity int
}

// Before orders events by (time, finding id): the order that picks a
// group's first and last events.
func Before(t1 time.Time, id1 string, t2 time.Time, id2 string) bool {
	if !t1.Equal(t2) {
		return t1.Before(t2)
	}
	return id1 < id2
}

// GroupedAlert is the grouped alert for the group first belongs to: a copy
// of first (the group's first event: its fields and raw record) whose
// event.id, edgewatch.group_id and _id are the group id, whose severity is
// the group's highest, with edgewatch.suppression filled from st, and
// written at created by run runID. first is not modified.
func (g GroupSpec) GroupedAlert(ruleID string, first *Alert, st GroupStats, created time.Time, runID string) *Alert {
	return g.groupedAlert(ruleID, g.KeyOf(first), first, st, created, runID)
}

// groupedBlock holds a grouped alert and what its suppression points to,
// so that groupedAlert makes them in one allocation.
type groupedBlock struct {
	a     Alert
	sup   Suppression
	terms [MaxGroupFields]SuppressionTerm
	vals  [MaxGroupFields]string
}

func (g GroupSpec) groupedAlert(ruleID string, k GroupKey, first *Alert, st GroupStats, created time.Time, runID string) *Alert {
	id := g.ID(ruleID, k)
	blk := &groupedBlock{a: *first}
	a := &blk.a
	ws := time.Unix(k.windowStart, 0).UTC()
	a.Event.ID = id
	a.Event.Created = created.UTC()
	if st.MaxSeverity > a.Event.Severity {
		a.Event.Severity = st.MaxSeverity
		a.Edgewatch.Severity = SeverityForScore(st.MaxSeverity)
	}
	a.Edgewatch.RunID = runID
	a.Edgewatch.GroupID = id
	for i, f := range g.Fields {
		blk.terms[i].Field = f
		if v := k.values[i]; v != "" {
			blk.vals[i] = v
			blk.terms[i].Value = &blk.vals[i]
		}
	}
	blk.sup = Suppression{
		Terms:        blk.terms[:len(g.Fields)],
		Start:        st.Start.UTC(),
		End:          st.End.UTC(),
		DocsCount:    st.DocsCount,
		WindowStart:  ws,
		WindowEnd:    ws.Add(g.Window),
		FirstEventID: first.Event.ID,
	}
	a.Edgewatch.Suppression = &blk.sup
	return a
}

// SeverityForScore is the severity label of an event.severity score: the
// label whose score is the highest not above it.
func SeverityForScore(score int) string {
	switch {
	case score >= ScoreCritical:
		return SeverityCritical
	case score >= ScoreHigh:
		return SeverityHigh
	case score >= ScoreMedium:
		return SeverityMedium
	default:
		return SeverityLow
	}
}

// Grouper groups alerts in memory (file mode): exact, for one process.
// Add every alert of a run once (the engine already drops repeated finding
// ids), then Each.
type Grouper struct {
	spec   GroupSpec
	ruleID string
	groups map[GroupKey]*groupState
	order  []GroupKey
}

type groupState struct {
	key    GroupKey
	first  *Alert
	lastID string
	st     GroupStats
}

// NewGrouper groups alerts of rule ruleID by spec.
func NewGrouper(spec GroupSpec, ruleID string) *Grouper {
	return &Grouper{spec: spec, ruleID: ruleID, groups: map[GroupKey]*groupState{}}
}

// Add counts a into its group. The Grouper keeps a when it is the group's
// first event so far: a must not change afterwards.
func (g *Grouper) Add(a *Alert) {
	k := g.spec.KeyOf(a)
	s := g.groups[k]
	if s == nil {
		s = &groupState{key: k, first: a, lastID: a.Event.ID,
			st: GroupStats{Start: a.Timestamp, End: a.Timestamp, MaxSeverity: a.Event.Severity}}
		g.groups[k] = s
		g.order = append(g.order, k)
	} else {
		if Before(a.Timestamp, a.Event.ID, s.st.Start, s.first.Event.ID) {
			s.first, s.st.Start = a, a.Timestamp
		}
		if Before(s.st.End, s.lastID, a.Timestamp, a.Event.ID) {
			s.st.End, s.lastID = a.Timestamp, a.Event.ID
		}
		s.st.MaxSeverity = max(s.st.MaxSeverity, a.Event.Severity)
	}
	s.st.DocsCount++
}

// Len is the number of groups so far.
func (g *Grouper) Len() int { return len(g.groups) }

// Each calls fn with one grouped alert per group, ordered by window, then
// by first event (time, finding id), and stops at fn's first error. It
// builds the alerts one at a time and lets go of each group once its alert
// is built, so that a run with many groups does not hold every group's
// first event and every grouped alert at once: the Grouper is empty
// afterwards. fn may keep the alert.
func (g *Grouper) Each(created time.Time, runID string, fn func(*Alert) error) error {
	states := make([]*groupState, 0, len(g.order))
	for _, k := range g.order {
		states = append(states, g.groups[k])
	}
	g.groups, g.order = map[GroupKey]*groupState{}, nil
	sort.Slice(states, func(i, j int) bool {
		if wa, wb := states[i].key.windowStart, states[j].key.windowStart; wa != wb {
			return wa < wb
		}
		a, b := states[i].first, states[j].first
		return Before(a.Timestamp, a.Event.ID, b.Timestamp, b.Event.ID)
	})
	for i, s := range states {
		states[i] = nil
		if err := fn(g.spec.groupedAlert(g.ruleID, s.key, s.first, s.st, created, runID)); err != nil {
			return err
		}
	}
	return nil
}
