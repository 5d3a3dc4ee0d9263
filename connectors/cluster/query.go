package cluster

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/edgewatch/edgewatch/correlation"
)

// The query builders below produce the JSON bodies (as plain maps) of the
// facing step, the event step and its measuring and remote-listing
// aggregations. They are pure: the mapping (which field is keyword, ip, text
// with a .keyword sub-field…) and the limits come in as arguments, so unit
// tests pin the exact bodies.

type jsonObj = map[string]any

// boolQuery builds {"bool":{…}} from non-nil clauses.
func boolQuery(filter, mustNot, should []any) jsonObj {
	b := jsonObj{}
	if len(filter) > 0 {
		b["filter"] = filter
	}
	if len(mustNot) > 0 {
		b["must_not"] = mustNot
	}
	if len(should) > 0 {
		b["should"] = should
		b["minimum_should_match"] = 1
	}
	return jsonObj{"bool": b}
}

// matchNone matches no document.
func matchNone() jsonObj { return jsonObj{"match_none": jsonObj{}} }

// anyOf ORs clauses; one clause is returned as is, none matches nothing.
func anyOf(clauses []any) any {
	switch len(clauses) {
	case 0:
		return matchNone()
	case 1:
		return clauses[0]
	}
	return boolQuery(nil, nil, clauses)
}

// termsClause is "path holds one of values" over plan's fields, split into
// terms queries of at most maxTerms values each. ok is false when the field
// cannot take exact terms (analysed text only): the caller leaves the filter
// to the client side. A path no index maps yields a terms query on the path
// itself, which matches nothing, as it should.
func termsClause(path string, plan fieldPlan, values []any, maxTerms int) (any, bool) {
	return chunkedTerms(path, plan, values, maxTerms, func(v []any) any { return v })
}

// termsClauseStrings is termsClause for long lists of strings (indicator
// terms): each chunk is marshalled once, here, instead of element by
// element as []any on every page.
func termsClauseStrings(path string, plan fieldPlan, values []string, maxTerms int) (any, bool) {
	return chunkedTerms(path, plan, values, maxTerms, func(v []string) any { return trustedJSON(appendJSONStrings(nil, v)) })
}

// chunkedTerms is the terms queries of termsClause: values cut into chunks
// of at most maxTerms (each built once by chunk), one query per field and
// chunk.
func chunkedTerms[V any](path string, plan fieldPlan, values []V, maxTerms int, chunk func([]V) any) (any, bool) {
	if !plan.Pushable {
		return nil, false
	}
	if len(values) == 0 {
		return matchNone(), true
	}
	if maxTerms <= 0 {
		maxTerms = 65536
	}
	fields := plan.Fields
	if len(fields) == 0 {
		fields = []string{path}
	}
	var chunks []any
	for start := 0; start < len(values); start += maxTerms {
		chunks = append(chunks, chunk(values[start:min(start+maxTerms, len(values))]))
	}
	var clauses []any
	for _, f := range fields {
		for _, ch := range chunks {
			clauses = append(clauses, jsonObj{"terms": jsonObj{f: ch}})
		}
	}
	return anyOf(clauses), true
}

// termClause is "path equals value".
func termClause(path string, plan fieldPlan, value any) (any, bool) {
	return termsClause(path, plan, []any{value}, 1)
}

// timeRange is [from, to) on a date field, widened to whole milliseconds
// (a date field keeps milliseconds; Defender writes 100 ns ticks): the
// client re-checks the exact bounds. ok is false when the field is not a
// date in every index (a string compare would be wrong) or both bounds are
// zero.
func timeRange(path string, plan fieldPlan, from, to time.Time) (any, bool) {
	if (from.IsZero() && to.IsZero()) || !plan.AllDate || len(plan.Fields) == 0 {
		return nil, false
	}
	r := jsonObj{"format": "strict_date_optional_time"}
	if !from.IsZero() {
		r["gte"] = from.UTC().Truncate(time.Millisecond).Format(msLayout)
	}
	if !to.IsZero() {
		// Last instant whose millisecond bucket can hold a time < to.
		end := to.UTC().Add(-time.Nanosecond).Truncate(time.Millisecond)
		r["lte"] = end.Format(msLayout)
	}
	var clauses []any
	for _, f := range plan.Fields {
		clauses = append(clauses, jsonObj{"range": jsonObj{f: r}})
	}
	return anyOf(clauses), true
}

const msLayout = "2006-01-02T15:04:05.000Z"

// appendIPForms appends the text an address takes in a store. An ip field needs one
// form (it parses "::ffff:a.b.c.d" as a.b.c.d anyway); a string field holds
// whatever the producer wrote, so IPv4 addresses get their IPv4-mapped IPv6
// form too.
func appendIPForms(dst []string, a netip.Addr, keyword bool) []string {
	a = correlation.NormalizeAddr(a)
	s := a.String()
	if keyword && a.Is4() {
		return append(dst, s, "::ffff:"+s)
	}
	return append(dst, s)
}

// maxExpandBits bounds the ranges a string-typed IP field gets as a list
// of addresses: 8 host bits, 256 addresses (an IPv4 /24, an IPv6 /120).
const maxExpandBits = 8

// indicatorTerms turns an indicator set into terms for a RemoteIP field.
// ip fields take CIDRs as they are; string fields get small ranges expanded
// to their addresses. ok is false when a range cannot be pushed down (too
// large for a string field, or more CIDRs than the clause budget): the
// events-first strategy handles those exactly.
func indicatorTerms(set *correlation.IndicatorSet, plan fieldPlan, maxCIDRs int) (values []string, cidrs int, ok bool) {
	n := set.Len()
	if plan.AnyKeyword {
		n *= 2
	}
	values = make([]string, 0, n)
	ok = true
	for _, p := range set.Prefixes() {
		if p.IsSingleIP() {
			values = appendIPForms(values, p.Addr(), plan.AnyKeyword)
			continue
		}
		if plan.AllIP {
			cidrs++
			if cidrs > maxCIDRs {
				return nil, cidrs, false
			}
			values = append(values, p.Masked().String())
			continue
		}
		bits := p.Addr().BitLen() - p.Bits()
		if bits > maxExpandBits {
			return nil, cidrs, false
		}
		for a, n := p.Masked().Addr(), 0; n < 1<<bits; a, n = a.Next(), n+1 {
			values = appendIPForms(values, a, true)
		}
	}
	return values, cidrs, true
}

// eventPlanInput is what the event-step builders need to know.
type eventPlanInput struct {
	profile *Profile
	maps    *mappings
	lim     queryLimits
	from    time.Time
	to      time.Time
	facing  *correlation.FacingSet
}

// arrClause is one arrangement's part of the event filter: its condition
// and its ports.
type arrClause struct {
	filter, mustNot []any
}

// baseEventFilter is the event step without the remote filter: action,
// window and devices (common), and per arrangement its condition and ports.
// The caller adds each arrangement's remote filter (eventQuery).
func baseEventFilter(in eventPlanInput) (filter []any, arrs []arrClause, notes []string) {
	p, m := in.profile, in.maps
	act := p.field(FieldActionType)
	if c, ok := termClause(act, m.plan(act), p.InboundAction); ok {
		filter = append(filter, c)
	} else {
		notes = append(notes, "action not pushed down: "+act+" is analysed text")
	}
	tf := p.field(FieldTime)
	if c, ok := timeRange(tf, m.plan(tf), in.from, in.to); ok {
		filter = append(filter, c)
	} else if !in.from.IsZero() || !in.to.IsZero() {
		notes = append(notes, "time window not pushed down: "+tf+" is not a date field")
	}
	if c, note := tableFilter(p, m, TableNetworkEvents); c != nil {
		filter = append(filter, c)
	} else if note != "" {
		notes = append(notes, note)
	}
	// Devices and ports. When few distinct port sets occur, the filter is
	// the exact (device, port) pairs: one clause per port set, "device in
	// the devices with this set and port in the set". Otherwise (or with a
	// single set, where it is the same) the cross product of all devices
	// and all ports, which the matcher narrows.
	df := p.field(FieldDeviceID)
	dplan := m.plan(df)
	var groups []portGroup
	exact := false
	var ports []any
	if in.facing != nil {
		groups = portGroups(in.facing)
		exact = len(groups) > 1 && len(groups) <= max(in.lim.MaxClauses/8, 1) && dplan.Pushable
		for _, lp := range allLocalPorts(p) {
			exact = exact && m.plan(lp).Pushable
		}
		if !exact {
			devs := in.facing.Devices()
			dv := make([]any, len(devs))
			for i, d := range devs {
				dv[i] = d
			}
			if c, ok := termsClause(df, dplan, dv, in.lim.MaxTerms); ok {
				filter = append(filter, c)
			} else {
				notes = append(notes, "devices not pushed down: "+df+" is analysed text")
			}
			for _, port := range in.facing.Ports() {
				ports = append(ports, port)
			}
		}
	}
	portsOn := func(a Arrangement, ports []any) (any, bool) {
		var pc []any
		for _, lp := range a.LocalPort {
			c, ok := termsClause(lp, m.plan(lp), ports, in.lim.MaxTerms)
			if !ok {
				return nil, false
			}
			pc = append(pc, c)
		}
		return anyOf(pc), true
	}
	for _, a := range p.Arrangements {
		var ac arrClause
		if a.When != nil {
			c, _ := termClause(a.When.Field, m.plan(a.When.Field), a.When.Value)
			if c == nil {
				c = jsonObj{"match": jsonObj{a.When.Field: a.When.Value}}
			}
			ac.filter = append(ac.filter, c)
		}
		if a.Unless != nil {
			c, _ := termClause(a.Unless.Field, m.plan(a.Unless.Field), a.Unless.Value)
			if c != nil {
				// Unpushable: keep the arrangement wide; decoding decides.
				ac.mustNot = append(ac.mustNot, c)
			}
		}
		switch {
		case in.facing == nil:
		case exact:
			var alts []any
			for _, g := range groups {
				dc, _ := termsClause(df, dplan, g.devices, in.lim.MaxTerms)
				pc, _ := portsOn(a, g.ports)
				alts = append(alts, boolQuery([]any{dc, pc}, nil, nil))
			}
			ac.filter = append(ac.filter, anyOf(alts))
		default:
			if c, ok := portsOn(a, ports); ok {
				ac.filter = append(ac.filter, c)
			} else {
				notes = append(notes, "ports not pushed down for arrangement "+a.Name)
			}
		}
		arrs = append(arrs, ac)
	}
	return filter, arrs, notes
}

// portGroup is the facing devices that share one set of facing ports.
type portGroup struct {
	devices, ports []any
}

// portGroups groups the facing devices by their port set, in a stable
// order (by the set's first device).
func portGroups(fs *correlation.FacingSet) []portGroup {
	idx := map[string]int{}
	var out []portGroup
	for _, d := range fs.Devices() {
		ps := fs.DevicePorts(d)
		key := fmt.Sprint(ps)
		i, ok := idx[key]
		if !ok {
			i = len(out)
			idx[key] = i
			g := portGroup{}
			for _, p := range ps {
				g.ports = append(g.ports, p)
			}
			out = append(out, g)
		}
		out[i].devices = append(out[i].devices, d)
	}
	return out
}

func allLocalPorts(p *Profile) []string {
	var out []string
	for _, a := range p.Arrangements {
		out = append(out, a.LocalPort...)
	}
	return out
}

// eventQuery assembles the event-step query: the common filter, and the OR
// over arrangements of (condition, ports, remote[i]). remote[i] nil means no
// remote filter for arrangement i; skip[i] drops arrangement i (no remote of
// it can match).
func eventQuery(filter []any, arrs []arrClause, remote []any, skip []bool) jsonObj {
	var active []int
	for i := range arrs {
		if skip == nil || !skip[i] {
			active = append(active, i)
		}
	}
	parts := func(i int) ([]any, []any) {
		f := append([]any(nil), arrs[i].filter...)
		if remote != nil && remote[i] != nil {
			f = append(f, remote[i])
		}
		return f, arrs[i].mustNot
	}
	all := append([]any(nil), filter...)
	switch len(active) {
	case 0:
		all = append(all, matchNone())
	case 1:
		f, mn := parts(active[0])
		return boolQuery(append(all, f...), mn, nil)
	default:
		var alts []any
		for _, i := range active {
			f, mn := parts(i)
			if len(f) == 0 && len(mn) == 0 {
				alts = append(alts, jsonObj{"match_all": jsonObj{}})
				continue
			}
			alts = append(alts, boolQuery(f, mn, nil))
		}
		all = append(all, anyOf(alts))
	}
	return boolQuery(all, nil, nil)
}

// arrangementQuery is the common filter restricted to one arrangement (for
// the per-arrangement remote measurements).
func arrangementQuery(filter []any, a arrClause) jsonObj {
	all := append(append([]any(nil), filter...), a.filter...)
	return boolQuery(all, a.mustNot, nil)
}

// facingQuery is the facing step: DeviceInfo rows in the window that carry
// an internet-facing port. The presence test depends on the mapping: an
// exists query on the port key when AdditionalFields is an object (or
// flattened), a match on the key's token when it is a text blob. When some
// index keeps AdditionalFields as a plain keyword (where an exists or
// wildcard query would miss values longer than ignore_above), the presence
// test is left to the client.
func facingQuery(p *Profile, m *mappings, from, to time.Time) (jsonObj, []string) {
	filter, notes := facingFilter(p, m, from, to)
	if len(filter) == 0 {
		return jsonObj{"match_all": jsonObj{}}, notes
	}
	return boolQuery(filter, nil, nil), notes
}

// facingFilter is facingQuery's filter clauses.
func facingFilter(p *Profile, m *mappings, from, to time.Time) ([]any, []string) {
	var filter []any
	var notes []string
	tf := p.field(FieldTime)
	if c, ok := timeRange(tf, m.plan(tf), from, to); ok {
		filter = append(filter, c)
	} else if !from.IsZero() || !to.IsZero() {
		notes = append(notes, "time window not pushed down: "+tf+" is not a date field")
	}
	if c, note := tableFilter(p, m, TableDeviceInfo); c != nil {
		filter = append(filter, c)
	} else if note != "" {
		notes = append(notes, note)
	}
	if c, ok := facingPresence(p, m); ok {
		filter = append(filter, c)
	} else {
		notes = append(notes, "internet-facing presence not pushed down: "+p.field(FieldAdditionalFields)+" is a keyword")
	}
	return filter, notes
}

// tableFilter keeps the rows of table in an index shared by several
// tables: those whose marker names it, and those without a marker (read as
// before). It is nil when the profile has no marker or no index maps it,
// and when the marker cannot be pushed down (analysed text; note says so):
// decoding then drops the other tables' rows.
func tableFilter(p *Profile, m *mappings, table string) (c any, note string) {
	if p.Table == "" {
		return nil, ""
	}
	plan := m.plan(p.Table)
	if len(plan.Fields) == 0 && plan.Pushable {
		return nil, "" // no index maps it: no row has a marker
	}
	in, ok := termsClause(p.Table, plan, tableValues(table), 8)
	if !ok {
		return nil, "table marker not pushed down: " + p.Table + " is analysed text"
	}
	return boolQuery(nil, nil, []any{in, boolQuery(nil, []any{jsonObj{"exists": jsonObj{"field": p.Table}}}, nil)}), ""
}

func facingPresence(p *Profile, m *mappings) (any, bool) {
	portField := p.facingPortField()
	af := p.field(FieldAdditionalFields)
	if p.field(FieldFacingLocalPort) != "" {
		// A field of its own: exists is exact.
		return jsonObj{"exists": jsonObj{"field": portField}}, true
	}
	portKinds := map[fieldKind]bool{}
	if portField != "" {
		portKinds = m.kinds(portField)
	}
	afKinds := map[fieldKind]bool{}
	if af != "" {
		afKinds = m.kinds(af)
	}
	var should []any
	for k := range portKinds {
		if k != kindMissing {
			should = append(should, jsonObj{"exists": jsonObj{"field": portField}})
			break
		}
	}
	if afKinds[kindText] {
		should = append(should, jsonObj{"match": jsonObj{af: jsonObj{"query": correlation.KeyFacingLocalPort}}})
	}
	// Per index: covered when the port key is mapped there (exists works),
	// or AdditionalFields is text (match works), or neither exists (no
	// facing data). A keyword AdditionalFields with no mapped port key is
	// not covered.
	for _, idx := range m.indices {
		pk := kindMissing
		if fm := m.fields[portField]; fm != nil {
			pk = fm.byIndex[idx]
		}
		if pk == kindMissing {
			pk = m.flattenedParent(portField, idx)
		}
		ak := kindMissing
		if fm := m.fields[af]; fm != nil {
			ak = fm.byIndex[idx]
		}
		if pk == kindMissing && (ak == kindKeyword || ak == kindOther) {
			return nil, false
		}
	}
	if len(should) == 0 {
		// Nothing mapped anywhere: no row can carry facing data.
		return jsonObj{"exists": jsonObj{"field": portField}}, true
	}
	return anyOf(should), true
}
