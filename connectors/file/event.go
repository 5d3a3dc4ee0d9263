package file

import (
	"bytes"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/edgewatch/edgewatch/connectors"
	"github.com/edgewatch/edgewatch/connectors/internal/jsonscan"
	"github.com/edgewatch/edgewatch/correlation"
)

var inboundAction = []byte(correlation.ActionInboundAccepted)

// eventFilter is the push-down form of a connectors.EventQuery, built once
// per read and shared read-only by the decoding goroutines.
type eventFilter struct {
	from, to time.Time
	window   bool // from or to is set
	active   bool // Facing or Indicators given: drop rows that cannot match
	facing   map[string][]int
	// facingFFFD: a facing device id holds U+FFFD, which is how the full
	// decode spells invalid UTF-8: look such ids up sanitised too.
	facingFFFD bool
	devices    deviceFilter // the facing map's keys
	ind        *correlation.IndicatorSet
}

func newEventFilter(q connectors.EventQuery) *eventFilter {
	f := &eventFilter{from: q.From, to: q.To, ind: q.Indicators}
	f.window = !q.From.IsZero() || !q.To.IsZero()
	f.active = q.Facing != nil || q.Indicators != nil
	if q.Facing != nil {
		f.facing = map[string][]int{}
		for fp := range q.Facing.All() {
			f.facing[fp.DeviceID] = append(f.facing[fp.DeviceID], fp.Port)
			f.facingFFFD = f.facingFFFD || strings.ContainsRune(fp.DeviceID, utf8.RuneError)
		}
		f.devices = newDeviceFilter(slices.Collect(maps.Keys(f.facing)))
	}
	return f
}

// inWindow reports whether t is in [from, to).
func inWindow(t, from, to time.Time) bool {
	if !from.IsZero() && t.Before(from) {
		return false
	}
	if !to.IsZero() && !t.Before(to) {
		return false
	}
	return true
}

// eventDecoder turns rows into NetworkEvents. One per goroutine: it owns
// its scratch space, its Report and its output slice.
type eventDecoder struct {
	rowCounter
	f *eventFilter
	// anyKeyOrder: a table marker (Type) may follow ActionType, so the
	// push-down scan reads every key of a row before it drops one. Off
	// only for NDJSON whose first row has no Type column, where the scan
	// stops at an ActionType that is not an inbound accept.
	anyKeyOrder bool
	out         []correlation.NetworkEvent
	scratch     []byte
	rowValid    bool   // the row being decoded in full is valid UTF-8
	kbuf        []byte // escaped keys, decoded
	arena       []byte // copies of passed rows, see keep
}

func newEventDecoder(f *eventFilter, src string, anyKeyOrder bool) *eventDecoder {
	return &eventDecoder{rowCounter: rowCounter{src: src, want: networkEventsTable}, f: f, anyKeyOrder: anyKeyOrder}
}

// row decodes one row: a flat Advanced Hunting or Sentinel row, a Streaming
// API record (the row is its properties), or an Event Hub batch
// ({"records":[...]}). Without a filter every row is decoded in full; with
// one, a scan of the few fields the filter needs comes first and only the
// rows that can still match are decoded in full.
func (d *eventDecoder) row(raw []byte, c rowCtx) {
	b, ok := d.objectRow(raw, c.line, c.depth)
	if !ok {
		return
	}
	if c.rec == nil {
		c.rec = b
	}
	if !d.f.active {
		d.full(b, c)
		return
	}
	var s scanned
	switch d.scan(b, &s) {
	case scanBad:
		d.skipRow(reasonBadJSON, c.line)
		return
	case scanNotInbound:
		if s.val[fType] == nil || !d.otherTableRow(&s.shape, c.tableOK) { // a Type seen before ActionType still counts
			d.filtered()
		}
		return
	case scanAll:
		if props, inner, ok := d.container(b, &s.shape, s.isRow(), c, d.row); ok {
			if props != nil {
				d.row(props, inner)
			}
			return
		}
	}
	if d.otherTableRow(&s.shape, c.tableOK) {
		return
	}
	if reason, candidate := d.prefilter(&s, c.envTime); !candidate {
		d.drop(reason, c.line)
		return
	}
	d.full(b, c)
}

// scanned holds the raw values of the fields the push-down looks at.
type scanned struct {
	shape
	action, device, localPort, remoteIP     []byte
	actionK, deviceK, localPortK, remoteIPK byte
	// facingDone: the device was looked up in the facing pairs (ports,
	// facing), by scan once DeviceId was found, or by facingHit.
	facingDone, facing bool
	ports              []int
	devStatus          fieldStatus // the device value's status for the lookup
}

// isRow: an object with ActionType or DeviceId is a row, not a container.
func (s *scanned) isRow() bool { return s.action != nil || s.device != nil }

// scanOutcome says how far scan went.
type scanOutcome uint8

const (
	scanBad        scanOutcome = iota // not a well-formed object
	scanNotInbound                    // stopped at an ActionType that is not an inbound accept
	scanNeeded                        // stopped once the fields the filter needs were found
	scanAll                           // read every key: a row or a container
)

// scan reads the keys of b, an object, up to where the push-down can decide.
func (d *eventDecoder) scan(b []byte, s *scanned) scanOutcome {
	if b[len(b)-1] != '}' { // truncated: caught here even when the scan stops early
		return scanBad
	}
	it := jsonscan.NewObjIter(b)
	for it.Next() {
		key := it.Key
		if it.KeyEsc {
			key = d.unescapeKey(key)
		}
		switch string(key) {
		case "ActionType":
			if s.action == nil {
				s.action, s.actionK = it.Val, it.Kind
				if !d.anyKeyOrder && !d.isInbound(it.Val, it.Kind) {
					return scanNotInbound
				}
			}
		case "DeviceId":
			if s.device == nil {
				s.device, s.deviceK = it.Val, it.Kind
			}
		case "LocalPort":
			if s.localPort == nil {
				s.localPort, s.localPortK = it.Val, it.Kind
			}
		case "RemoteIP":
			if s.remoteIP == nil {
				s.remoteIP, s.remoteIPK = it.Val, it.Kind
			}
		case "Timestamp":
			s.take(fTimestamp, &it)
		case "time":
			s.take(fEnvTime, &it)
		case "category":
			s.take(fCategory, &it)
		case "properties":
			s.take(fProperties, &it)
		case "TimeGenerated", "Type", "records":
			s.take(fieldOf(key), &it)
		}
		if !d.anyKeyOrder && s.action != nil && s.device != nil && (!d.f.window || s.kind[fTimestamp] == jsonscan.KindString) {
			if s.localPort != nil && s.remoteIP != nil {
				return scanNeeded
			}
			// An inbound row of a device with no facing pair fails the
			// facing check whatever its LocalPort and RemoteIP: prefilter
			// decides it from what is known now (the action, the device,
			// the time), as it would after reading them.
			if d.f.facing != nil && !s.facingDone {
				d.lookUpDevice(s)
				if !s.facing {
					return scanNeeded
				}
			}
		}
	}
	if it.Rest() != nil {
		return scanBad
	}
	return scanAll
}

// shiftLines adds by to the line numbers of what d decoded: its events and
// the examples of its report. d must hold one chunk's results.
func (d *eventDecoder) shiftLines(by int) {
	if by == 0 {
		return
	}
	for i := range d.out {
		d.out[i].Loc.Line += by
	}
	for _, ex := range d.rep.Examples {
		for i := range ex {
			ex[i].Line += by
		}
	}
}

// unescapeKey decodes a key written with escapes (rare) into d.kbuf; nil
// when it does not decode.
func (d *eventDecoder) unescapeKey(key []byte) []byte {
	k, ok := jsonscan.Unescape(key, d.kbuf[:0])
	if !ok {
		return nil
	}
	d.kbuf = k[:0]
	return k
}

// prefilter decides from the scanned fields whether a row can match the
// query: candidate true when it can (decode it in full); otherwise reason is
// a skip reason for a field the filter needs that is missing or bad, or ""
// for a row that simply does not match.
func (d *eventDecoder) prefilter(s *scanned, envTime []byte) (reason string, candidate bool) {
	if s.action == nil || !d.isInbound(s.action, s.actionK) {
		return "", false
	}
	if s.device == nil || s.deviceK != jsonscan.KindString {
		return reasonMissingDevice, false
	}
	if d.f.window {
		t, reason := s.time(envTime, d.scratch[:0])
		if reason != "" {
			return reason, false
		}
		if !inWindow(t, d.f.from, d.f.to) {
			return "", false
		}
	}
	if d.f.facing != nil {
		if reason, ok := d.facingHit(s); !ok {
			return reason, false
		}
	}
	if d.f.ind != nil {
		if reason, ok := d.indicatorHit(s); !ok {
			return reason, false
		}
	}
	return "", true
}

// facingHit reports whether the row's device and LocalPort are a facing
// pair of the query.
func (d *eventDecoder) facingHit(s *scanned) (reason string, ok bool) {
	if !s.facingDone {
		d.lookUpDevice(s)
	}
	if s.devStatus != fieldOK {
		return reasonMissingDevice, false
	}
	if !s.facing {
		return "", false
	}
	ports := s.ports
	port, pst := parsePort(s.localPort, s.localPortK)
	switch pst {
	case fieldMissing:
		return reasonMissingPort, false
	case fieldBad:
		return reasonBadPort, false
	}
	return "", slices.Contains(ports, port)
}

// lookUpDevice finds the row's device among the facing pairs' devices
// (s.facing, s.ports; s.devStatus says whether the value could be read).
func (d *eventDecoder) lookUpDevice(s *scanned) {
	s.facingDone = true
	dev, st := scalarText(s.device, s.deviceK, d.scratch[:0])
	s.devStatus = st
	if st != fieldOK {
		return
	}
	var ok bool
	if d.f.devices.maybe(dev) {
		s.ports, ok = d.f.facing[string(dev)]
	}
	if !ok && d.f.facingFFFD && !utf8.Valid(dev) {
		s.ports, ok = d.f.facing[validText(dev)] // as the full decode spells it
	}
	s.facing = ok
}

// indicatorHit reports whether the row's RemoteIP is in the query's
// indicators.
func (d *eventDecoder) indicatorHit(s *scanned) (reason string, ok bool) {
	ip, st := scalarText(s.remoteIP, s.remoteIPK, d.scratch[:0])
	if st == fieldMissing {
		return reasonMissingRemoteIP, false
	}
	addr, parsed := parseAddr(bytes.TrimSpace(ip))
	if st != fieldOK || !parsed {
		return reasonBadRemoteIP, false
	}
	_, hit := d.f.ind.Lookup(correlation.NormalizeAddr(addr))
	return "", hit
}

// isInbound compares an ActionType value with InboundConnectionAccepted,
// ignoring case (a superset of the exact match the Matcher applies).
func (d *eventDecoder) isInbound(v []byte, kind byte) bool {
	if kind != jsonscan.KindString {
		return false
	}
	if len(v) == len(inboundAction)+2 && bytes.Equal(v[1:len(v)-1], inboundAction) {
		return true
	}
	s, ok := jsonscan.Unquote(v, d.scratch[:0])
	return ok && bytes.EqualFold(jsonscan.TrimSpace(s), inboundAction)
}

// timeOf parses a time value (a JSON string); nil is missing.
func timeOf(v []byte, kind byte, scratch []byte) (time.Time, fieldStatus) {
	if v == nil {
		return time.Time{}, fieldMissing
	}
	t, st := scalarText(v, kind, scratch)
	if st != fieldOK {
		return time.Time{}, st
	}
	tt, ok := parseTime(t)
	if !ok {
		return time.Time{}, fieldBad
	}
	return tt, fieldOK
}

// full decodes every field of b (trimmed, starting with '{'); a good row in
// the window is appended to d.out. Without a filter this is a row's first
// look, so it opens containers and checks the table too.
func (d *eventDecoder) full(b []byte, c rowCtx) {
	ev := correlation.NetworkEvent{RemotePort: correlation.NoPort, LocalPort: correlation.NoPort}
	var sh shape
	isRow, ok := d.decode(b, &ev, &sh)
	if !ok {
		d.skipRow(reasonBadJSON, c.line)
		return
	}
	if (!isRow || sh.val[fType] != nil) && d.elsewhere(b, &sh, isRow, c, d.row) {
		return
	}
	if ev.DeviceID == "" {
		d.skipRow(reasonMissingDevice, c.line)
		return
	}
	t, reason := sh.time(c.envTime, d.scratch[:0])
	if reason != "" {
		d.skipRow(reason, c.line)
		return
	}
	if d.f.window && !inWindow(t, d.f.from, d.f.to) {
		d.filtered()
		return
	}
	ev.Time = t
	ev.Raw = d.keep(c.rec)
	ev.Loc = correlation.Location{Source: d.src, Line: c.line}
	d.out = append(d.out, ev)
	d.passed()
}

// decode reads the members of b into ev and sh. isRow: b has ActionType or
// DeviceId (it is a row, not a container); ok is false for malformed JSON.
func (d *eventDecoder) decode(b []byte, ev *correlation.NetworkEvent, sh *shape) (isRow, ok bool) {
	d.rowValid = utf8.Valid(b)
	var seen uint64 // bit per field: duplicate keys, the first occurrence wins
	it := jsonscan.NewObjIter(b)
	for it.Next() {
		f := fieldOf(it.Key)
		if it.KeyEsc {
			f = escapedField(it.Key, &d.kbuf)
		}
		if isShape(f) {
			sh.take(f, &it)
			continue
		}
		if f == fNone || seen&(1<<f) != 0 {
			continue
		}
		seen |= 1 << f
		v, k := it.Val, it.Kind
		switch f {
		case fDeviceId:
			if k == jsonscan.KindString {
				ev.DeviceID = d.str(v, k)
			}
		case fDeviceName:
			ev.DeviceName = d.str(v, k)
		case fActionType:
			ev.ActionType = d.str(v, k)
		case fRemoteIP:
			ev.RemoteIP, ev.RemoteIPRaw = d.addr(v, k)
		case fLocalIP:
			ev.LocalIP, ev.LocalIPRaw = d.addr(v, k)
		case fRemotePort:
			ev.RemotePort, _ = parsePort(v, k)
		case fLocalPort:
			ev.LocalPort, _ = parsePort(v, k)
		case fProtocol:
			ev.Protocol = d.str(v, k)
		case fReportId:
			ev.ReportID = d.str(v, k)
		case fFileName:
			ev.Process.FileName = d.str(v, k)
		case fFolderPath:
			ev.Process.FolderPath = d.str(v, k)
		case fCommandLine:
			ev.Process.CommandLine = d.str(v, k)
		case fPID:
			ev.Process.PID, _ = parseInt64(v, k)
		case fSHA1:
			ev.Process.SHA1 = d.str(v, k)
		case fSHA256:
			ev.Process.SHA256 = d.str(v, k)
		case fMD5:
			ev.Process.MD5 = d.str(v, k)
		case fAccountName:
			ev.Process.AccountName = d.str(v, k)
		case fAccountDomain:
			ev.Process.AccountDom = d.str(v, k)
		case fParentName:
			ev.Process.ParentName = d.str(v, k)
		case fParentPID:
			ev.Process.ParentPID, _ = parseInt64(v, k)
		}
	}
	if it.Rest() != nil {
		return false, false
	}
	return seen&(1<<fActionType|1<<fDeviceId) != 0, true
}

// keep copies a passed row into the decoder's arena. Input buffers are
// reused, but an arena is only ever appended to, so the Raw of an event
// stays intact after the callback returns (NewAlert keeps it as is).
func (d *eventDecoder) keep(b []byte) []byte {
	if cap(d.arena)-len(d.arena) < len(b) {
		d.arena = make([]byte, 0, max(arenaSize, len(b)))
	}
	start := len(d.arena)
	d.arena = append(d.arena, b...)
	return d.arena[start:len(d.arena):len(d.arena)]
}

// arenaSize is the allocation unit for kept rows.
const arenaSize = 64 << 10

// str returns a scalar's text as a new string ("" for null/missing).
func (d *eventDecoder) str(v []byte, kind byte) string {
	t, st := scalarText(v, kind, d.scratch[:0])
	if st != fieldOK {
		return ""
	}
	return d.text(t)
}

// text is validText, checked once per row: the text of a row that is valid
// UTF-8 is valid UTF-8 (escapes decode to valid runes or U+FFFD).
func (d *eventDecoder) text(t []byte) string {
	if d.rowValid {
		return string(t)
	}
	return validText(t)
}

// addr parses an address field; the text is kept whether it parses or not.
func (d *eventDecoder) addr(v []byte, kind byte) (netip.Addr, string) {
	t, st := scalarText(v, kind, d.scratch[:0])
	if st != fieldOK {
		return netip.Addr{}, ""
	}
	a, _ := parseAddr(bytes.TrimSpace(t))
	return a, d.text(t)
}
