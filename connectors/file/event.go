package file

import (
	"bytes"
	"net/netip"
	"time"

	"github.com/edgewatch/edgewatch/connectors"
	"github.com/edgewatch/edgewatch/connectors/internal/jsonscan"
	"github.com/edgewatch/edgewatch/correlation"
)

// Skip reasons (the keys of connectors.Report.Skipped).
const (
	reasonBadJSON         = "bad JSON"
	reasonBadDocument     = "bad JSON document (rest of file not read)"
	reasonNotObject       = "row is not a JSON object"
	reasonBadCSV          = "bad CSV row"
	reasonMissingDevice   = "missing DeviceId"
	reasonMissingTime     = "missing time"
	reasonBadTime         = "bad time"
	reasonMissingPort     = "missing LocalPort"
	reasonBadPort         = "bad LocalPort"
	reasonMissingRemoteIP = "missing RemoteIP"
	reasonBadRemoteIP     = "bad RemoteIP"
	reasonBadAdditional   = "bad AdditionalFields"
	reasonTooDeep         = "nested too deep"
)

var inboundAction = []byte(correlation.ActionInboundAccepted)

// eventFilter is the push-down form of a connectors.EventQuery, built once
// per read and shared read-only by the decoding goroutines.
type eventFilter struct {
	from, to time.Time
	window   bool // from or to is set
	active   bool // Facing or Indicators given: drop rows that cannot match
	facing   map[string][]int
	ind      *correlation.IndicatorSet
}

func newEventFilter(q connectors.EventQuery) *eventFilter {
	f := &eventFilter{from: q.From, to: q.To, ind: q.Indicators}
	f.window = !q.From.IsZero() || !q.To.IsZero()
	f.active = q.Facing != nil || q.Indicators != nil
	if q.Facing != nil {
		f.facing = map[string][]int{}
		for fp := range q.Facing.All() {
			f.facing[fp.DeviceID] = append(f.facing[fp.DeviceID], fp.Port)
		}
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
	f       *eventFilter
	src     string
	rep     connectors.Report
	out     []correlation.NetworkEvent
	scratch []byte
	arena   []byte // copies of passed rows, see keep
}

func (d *eventDecoder) skip(reason string, line int) {
	d.rep.Skip(reason, correlation.Location{Source: d.src, Line: line})
}

// keySpans holds the raw values of the fields the filter looks at.
type keySpans struct {
	action, device, localPort, remoteIP, ts, tg, envTime []byte
	actionK, localPortK, remoteIPK, deviceK, tsK, tgK    byte
	props, records                                       []byte
	recordsOff                                           int
}

// maxNesting bounds batch -> record -> properties unwrapping.
const maxNesting = 4

// row decodes one row: a flat Advanced Hunting or Sentinel row, a Streaming
// API record (the row is its properties), or an Event Hub batch
// ({"records":[...]}). line is the 1-based line where row starts; envTime is
// the enclosing Streaming API record's time, used when the row has none.
func (d *eventDecoder) row(row []byte, line int, envTime []byte, depth int) {
	b := jsonscan.TrimSpace(row)
	if len(b) == 0 {
		return
	}
	if reason := shapeReason(b, depth); reason != "" {
		d.rep.Read++
		d.skip(reason, line)
		return
	}
	if b[len(b)-1] != '}' { // truncated: caught here even when the fast pass exits early
		d.rep.Read++
		d.skip(reasonBadJSON, line)
		return
	}
	if !d.f.active {
		d.full(b, line, envTime, depth)
		return
	}

	var s keySpans
	needTime := d.f.window
	it := jsonscan.NewObjIter(b)
	for it.Next() {
		if it.KeyEsc {
			d.keyEscaped(&it, &s)
			continue
		}
		switch string(it.Key) {
		case "ActionType":
			if s.action == nil {
				s.action, s.actionK = it.Val, it.Kind
				if !d.isInbound(it.Val, it.Kind) {
					d.rep.Read++ // filtered: not an inbound accept
					return
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
			if s.ts == nil {
				s.ts, s.tsK = it.Val, it.Kind
			}
		case "TimeGenerated":
			if s.tg == nil {
				s.tg, s.tgK = it.Val, it.Kind
			}
		case "time":
			if s.envTime == nil && it.Kind == jsonscan.KindString {
				s.envTime = it.Val
			}
		case "properties":
			if it.Kind == jsonscan.KindObject && s.props == nil {
				s.props = it.Val
			}
		case "records":
			if it.Kind == jsonscan.KindArray && s.records == nil {
				s.records, s.recordsOff = it.Val, it.ValOff
			}
		}
		if s.action != nil && s.device != nil && s.localPort != nil && s.remoteIP != nil && (!needTime || s.tsK == jsonscan.KindString) {
			break
		}
	}
	if it.Err != nil {
		d.rep.Read++
		d.skip(reasonBadJSON, line)
		return
	}
	if s.action == nil && s.device == nil && (s.props != nil || s.records != nil) {
		// An envelope. The loop above ran to its end (it stops early only
		// once ActionType and DeviceId are found), so the whole object can
		// be checked before its content is decoded, as the full decode
		// does: `{"records":[]}}` is one bad row, not an empty batch.
		if err := it.Rest(); err != nil {
			d.rep.Read++
			d.skip(reasonBadJSON, line)
			return
		}
		if s.props != nil {
			env := s.envTime
			if env == nil {
				env = envTime
			}
			d.row(s.props, line, env, depth+1)
			return
		}
		if s.records != nil {
			d.batch(b, s.records, s.recordsOff, line, depth)
			return
		}
	}
	d.rep.Read++
	if s.action == nil || !d.isInbound(s.action, s.actionK) {
		return // cannot be an inbound accept (checked here for escaped keys)
	}
	if s.device == nil || s.deviceK != jsonscan.KindString {
		d.skip(reasonMissingDevice, line)
		return
	}
	if needTime {
		tv, tk := s.ts, s.tsK
		if tv == nil || tk == jsonscan.KindNull {
			tv, tk = s.tg, s.tgK
		}
		if tv == nil || tk == jsonscan.KindNull {
			tv, tk = envTime, jsonscan.KindString
		}
		t, st := d.timeOf(tv, tk)
		switch st {
		case fieldMissing:
			d.skip(reasonMissingTime, line)
			return
		case fieldBad:
			d.skip(reasonBadTime, line)
			return
		}
		if !inWindow(t, d.f.from, d.f.to) {
			return
		}
	}
	if d.f.facing != nil {
		dev, st := scalarText(s.device, s.deviceK, d.scratch[:0])
		if st != fieldOK {
			d.skip(reasonMissingDevice, line)
			return
		}
		ports, ok := d.f.facing[string(dev)]
		if !ok {
			return
		}
		port, pst := parsePort(s.localPort, s.localPortK)
		switch pst {
		case fieldMissing:
			d.skip(reasonMissingPort, line)
			return
		case fieldBad:
			d.skip(reasonBadPort, line)
			return
		}
		found := false
		for _, p := range ports {
			if p == port {
				found = true
				break
			}
		}
		if !found {
			return
		}
	}
	if d.f.ind != nil {
		ip, st := scalarText(s.remoteIP, s.remoteIPK, d.scratch[:0])
		if st == fieldMissing {
			d.skip(reasonMissingRemoteIP, line)
			return
		}
		addr, ok := parseAddr(bytes.TrimSpace(ip))
		if st != fieldOK || !ok {
			d.skip(reasonBadRemoteIP, line)
			return
		}
		if _, hit := d.f.ind.Lookup(correlation.NormalizeAddr(addr)); !hit {
			return
		}
	}
	d.rep.Read-- // full counts the row again
	d.full(b, line, envTime, depth)
}

// keyEscaped handles a key written with escapes (rare): decode it and
// treat it as the plain key.
func (d *eventDecoder) keyEscaped(it *jsonscan.ObjIter, s *keySpans) {
	var buf [64]byte
	k, ok := jsonscan.Unescape(it.Key, buf[:0])
	if !ok {
		return
	}
	switch string(k) {
	case "ActionType":
		if s.action == nil {
			s.action, s.actionK = it.Val, it.Kind
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
		if s.ts == nil {
			s.ts, s.tsK = it.Val, it.Kind
		}
	case "TimeGenerated":
		if s.tg == nil {
			s.tg, s.tgK = it.Val, it.Kind
		}
	}
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

func (d *eventDecoder) timeOf(v []byte, kind byte) (time.Time, fieldStatus) {
	return timeOf(v, kind, d.scratch[:0])
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

// batch decodes the records of an Event Hub batch.
func (d *eventDecoder) batch(b, records []byte, off, line, depth int) {
	eachRecord(b, records, off, line,
		func(rec []byte, l int) { d.row(rec, l, nil, depth+1) },
		func(reason string, l int) {
			d.rep.Read++
			d.skip(reason, l)
		})
}

// full decodes every field of an event row and, when the row is good and
// in the window, appends it to d.out. b is trimmed and starts with '{'.
func (d *eventDecoder) full(b []byte, line int, envTime []byte, depth int) {
	var ev correlation.NetworkEvent
	var ts, tg []byte
	var tsK, tgK byte
	var props, records []byte
	var recordsOff int
	var envOwn []byte
	var haveDevice bool
	ev.RemotePort, ev.LocalPort = correlation.NoPort, correlation.NoPort
	var seen uint64 // bit per field: duplicate keys, first occurrence wins
	it := jsonscan.NewObjIter(b)
	for it.Next() {
		key := it.Key
		var kbuf [64]byte
		if it.KeyEsc {
			k, ok := jsonscan.Unescape(key, kbuf[:0])
			if !ok {
				continue
			}
			key = k
		}
		f := eventField(key)
		if f == fNone || seen&(1<<f) != 0 {
			continue
		}
		seen |= 1 << f
		v, k := it.Val, it.Kind
		switch f {
		case fTimestamp:
			ts, tsK = v, k
		case fTimeGenerated:
			tg, tgK = v, k
		case fEnvTime:
			if k == jsonscan.KindString {
				envOwn = v
			}
		case fProperties:
			if k == jsonscan.KindObject {
				props = v
			}
		case fRecords:
			if k == jsonscan.KindArray {
				records, recordsOff = v, it.ValOff
			}
		case fDeviceId:
			if k == jsonscan.KindString {
				ev.DeviceID = d.str(v, k)
				haveDevice = ev.DeviceID != ""
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
	if err := it.Rest(); err != nil {
		d.rep.Read++
		d.skip(reasonBadJSON, line)
		return
	}
	if seen&(1<<fActionType|1<<fDeviceId) == 0 {
		// An envelope: a Streaming API record or an Event Hub batch.
		if props != nil {
			env := envOwn
			if env == nil {
				env = envTime
			}
			d.row(props, line, env, depth+1)
			return
		}
		if records != nil {
			d.batch(b, records, recordsOff, line, depth)
			return
		}
	}
	d.rep.Read++
	if !haveDevice {
		d.skip(reasonMissingDevice, line)
		return
	}
	tv, tk := ts, tsK
	if tv == nil || tk == jsonscan.KindNull {
		tv, tk = tg, tgK
	}
	if tv == nil || tk == jsonscan.KindNull {
		tv, tk = envTime, jsonscan.KindString
	}
	t, st := d.timeOf(tv, tk)
	switch st {
	case fieldMissing:
		d.skip(reasonMissingTime, line)
		return
	case fieldBad:
		d.skip(reasonBadTime, line)
		return
	}
	if d.f.window && !inWindow(t, d.f.from, d.f.to) {
		return
	}
	ev.Time = t
	ev.Raw = d.keep(b)
	ev.Loc = correlation.Location{Source: d.src, Line: line}
	d.out = append(d.out, ev)
	d.rep.Passed++
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
	return string(t)
}

// addr parses an address field; the text is kept whether it parses or not.
func (d *eventDecoder) addr(v []byte, kind byte) (netip.Addr, string) {
	t, st := scalarText(v, kind, d.scratch[:0])
	if st != fieldOK {
		return netip.Addr{}, ""
	}
	a, _ := parseAddr(bytes.TrimSpace(t))
	return a, string(t)
}

// Event fields the full decode reads.
const (
	fNone = iota
	fTimestamp
	fTimeGenerated
	fEnvTime
	fProperties
	fRecords
	fDeviceId
	fDeviceName
	fActionType
	fRemoteIP
	fRemotePort
	fLocalIP
	fLocalPort
	fProtocol
	fReportId
	fFileName
	fFolderPath
	fCommandLine
	fPID
	fSHA1
	fSHA256
	fMD5
	fAccountName
	fAccountDomain
	fParentName
	fParentPID
)

func eventField(k []byte) int {
	switch string(k) {
	case "Timestamp":
		return fTimestamp
	case "TimeGenerated":
		return fTimeGenerated
	case "time":
		return fEnvTime
	case "properties":
		return fProperties
	case "records":
		return fRecords
	case "DeviceId":
		return fDeviceId
	case "DeviceName":
		return fDeviceName
	case "ActionType":
		return fActionType
	case "RemoteIP":
		return fRemoteIP
	case "RemotePort":
		return fRemotePort
	case "LocalIP":
		return fLocalIP
	case "LocalPort":
		return fLocalPort
	case "Protocol":
		return fProtocol
	case "ReportId":
		return fReportId
	case "InitiatingProcessFileName":
		return fFileName
	case "InitiatingProcessFolderPath":
		return fFolderPath
	case "InitiatingProcessCommandLine":
		return fCommandLine
	case "InitiatingProcessId":
		return fPID
	case "InitiatingProcessSHA1":
		return fSHA1
	case "InitiatingProcessSHA256":
		return fSHA256
	case "InitiatingProcessMD5":
		return fMD5
	case "InitiatingProcessAccountName":
		return fAccountName
	case "InitiatingProcessAccountDomain":
		return fAccountDomain
	case "InitiatingProcessParentFileName":
		return fParentName
	case "InitiatingProcessParentId":
		return fParentPID
	}
	return fNone
}

// shapeReason says why a trimmed, non-empty row cannot be decoded as a row
// object, or "" when it can.
func shapeReason(b []byte, depth int) string {
	switch {
	case depth > maxNesting:
		return reasonTooDeep
	case b[0] == '[':
		return reasonNotObject
	case b[0] != '{':
		return reasonBadJSON
	}
	return ""
}

// eachRecord walks the records array of an Event Hub batch that starts at
// off in b (the row starting on line): each object goes to row with its own
// line; anything else, and a broken array, goes to bad with a reason.
func eachRecord(b, records []byte, off, line int, row func(rec []byte, line int), bad func(reason string, line int)) {
	it := jsonscan.NewArrIter(records)
	for it.Next() {
		l := line + jsonscan.NewlinesBefore(b, off+it.Off)
		if it.Kind != jsonscan.KindObject {
			bad(reasonNotObject, l)
			continue
		}
		row(it.Val, l)
	}
	if it.Err != nil {
		bad(reasonBadJSON, line)
	}
}
