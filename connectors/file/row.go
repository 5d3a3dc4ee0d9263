package file

import (
	"time"

	"github.com/edgewatch/edgewatch/connectors"
	"github.com/edgewatch/edgewatch/connectors/internal/jsonscan"
	"github.com/edgewatch/edgewatch/correlation"
)

// What both row decoders share: how a row is counted, how the containers
// around rows are opened (Event Hub batches, Streaming API records), how a
// row's table and time are found.

// Skip reasons (the keys of connectors.Report.Skipped).
const (
	reasonBadJSON         = "bad JSON"
	reasonBadDocument     = "bad JSON document (rest of file not read)"
	reasonNotObject       = "row is not a JSON object"
	reasonBadCSV          = "bad CSV row"
	reasonTooLarge        = "row too large"
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

// maxNesting bounds batch -> record -> properties unwrapping.
const maxNesting = 4

// rowCtx is what the records around a row hand down to it.
type rowCtx struct {
	line  int // 1-based line where the row starts
	depth int // containers around the row
	// envTime is the enclosing Streaming API record's time, the row's time
	// when it has none of its own.
	envTime []byte
	// rec is the record the row came in: the event's Raw. nil means the
	// row is a record of its own.
	rec []byte
	// tableOK: an enclosing record named the table read (its category).
	tableOK bool
}

// rowCounter counts what becomes of rows. Each row ends in exactly one of
// skipRow, filtered, passed and otherTable; a container (an Event Hub batch,
// a Streaming API record) is not a row, the rows it holds are.
type rowCounter struct {
	src  string
	want *table
	rep  connectors.Report
}

// skipRow counts a row that was read and could not be used.
func (rc *rowCounter) skipRow(reason string, line int) {
	rc.rep.Read++
	rc.rep.Skip(reason, correlation.Location{Source: rc.src, Line: line})
}

// filtered counts a row that was read and is not asked for (outside the
// window, or, pushed down, one that cannot match).
func (rc *rowCounter) filtered() { rc.rep.Read++ }

// drop counts a row the push-down refused: a skip when there is a reason,
// filtered otherwise.
func (rc *rowCounter) drop(reason string, line int) {
	if reason != "" {
		rc.skipRow(reason, line)
		return
	}
	rc.filtered()
}

// passed counts a row handed to the caller.
func (rc *rowCounter) passed() {
	rc.rep.Read++
	rc.rep.Passed++
}

// otherTable counts a row of another table.
func (rc *rowCounter) otherTable(name []byte) {
	rc.rep.OtherTable(string(name))
}

// objectRow trims a row and checks that it can be an object; a row that
// cannot is counted. ok is false for blank rows too.
func (rc *rowCounter) objectRow(row []byte, line, depth int) (b []byte, ok bool) {
	b = jsonscan.TrimSpace(row)
	if len(b) == 0 {
		return nil, false
	}
	if reason := shapeReason(b, depth); reason != "" {
		rc.skipRow(reason, line)
		return nil, false
	}
	return b, true
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

// Fields the decoders read, numbered for duplicate detection (the first
// occurrence of a key wins). The first group is the shape of a row: its
// time, its table marker, the members of a container.
const (
	fNone = iota
	fTimestamp
	fTimeGenerated
	fEnvTime    // "time" of a Streaming API record
	fCategory   // "category" of a Streaming API record: AdvancedHunting-<Table>
	fType       // "Type" of a Log Analytics row: the table
	fProperties // "properties" of a Streaming API record: the row
	fRecords    // "records" of an Event Hub batch
	fDeviceId
	fDeviceName
	// DeviceNetworkEvents
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
	// DeviceInfo
	fIsInternetFacing
	fPublicIP
	fOSPlatform
	fMachineGroup
	fAdditionalFields
	numFields
)

// fieldOf numbers a key (escapes decoded); fNone for keys no decoder reads.
func fieldOf(k []byte) int {
	switch string(k) {
	case "Timestamp":
		return fTimestamp
	case "TimeGenerated":
		return fTimeGenerated
	case "time":
		return fEnvTime
	case "category":
		return fCategory
	case "Type":
		return fType
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
	case "IsInternetFacing":
		return fIsInternetFacing
	case "PublicIP":
		return fPublicIP
	case "OSPlatform":
		return fOSPlatform
	case "MachineGroup":
		return fMachineGroup
	case "AdditionalFields":
		return fAdditionalFields
	}
	return fNone
}

// escapedField returns the field of a key written with escapes (rare;
// callers take fieldOf(key) for the others): the key is decoded into *kbuf,
// and one that does not decode is fNone.
func escapedField(key []byte, kbuf *[]byte) int {
	k, ok := jsonscan.Unescape(key, (*kbuf)[:0])
	if !ok {
		return fNone
	}
	*kbuf = k[:0]
	return fieldOf(k)
}

// shape holds the members that place a row: its time columns, its table
// marker, and what makes an object a container rather than a row. val and
// kind are indexed by field (fTimestamp..fRecords); the first occurrence of
// a key wins.
type shape struct {
	seen       uint8
	val        [fRecords + 1][]byte
	kind       [fRecords + 1]byte
	recordsOff int
}

// isShape reports whether f is a shape field (see take).
func isShape(f int) bool { return f != fNone && f <= fRecords }

// take keeps the current member as shape field f (isShape(f)).
func (sh *shape) take(f int, it *jsonscan.ObjIter) {
	if sh.seen&(1<<f) == 0 {
		sh.seen |= 1 << f
		sh.val[f], sh.kind[f] = it.Val, it.Kind
		if f == fRecords {
			sh.recordsOff = it.ValOff
		}
	}
}

// of returns field f's value when it is of kind k, else nil.
func (sh *shape) of(f int, k byte) []byte {
	if sh.kind[f] != k {
		return nil
	}
	return sh.val[f]
}

// envTime is the Streaming API record's time, props its row, records the
// Event Hub batch's records: nil when absent or of another kind.
func (sh *shape) envTime() []byte { return sh.of(fEnvTime, jsonscan.KindString) }
func (sh *shape) props() []byte   { return sh.of(fProperties, jsonscan.KindObject) }
func (sh *shape) records() []byte { return sh.of(fRecords, jsonscan.KindArray) }

// time returns a row's time: Timestamp, else TimeGenerated, else the
// enclosing record's time; reason is a skip reason when there is none that
// parses.
func (sh *shape) time(envTime, scratch []byte) (t time.Time, reason string) {
	tv, tk := sh.val[fTimestamp], sh.kind[fTimestamp]
	if tv == nil || tk == jsonscan.KindNull {
		tv, tk = sh.val[fTimeGenerated], sh.kind[fTimeGenerated]
	}
	if tv == nil || tk == jsonscan.KindNull {
		tv, tk = envTime, jsonscan.KindString
	}
	t, st := timeOf(tv, tk, scratch)
	switch st {
	case fieldMissing:
		return t, reasonMissingTime
	case fieldBad:
		return t, reasonBadTime
	}
	return t, ""
}

// otherTableRow counts a row whose Type names another table than the one
// read (unless an enclosing record already named the table read).
func (rc *rowCounter) otherTableRow(sh *shape, tableOK bool) bool {
	if tableOK || sh.val[fType] == nil {
		return false
	}
	var buf [64]byte
	name := markerTable(sh.val[fType], sh.kind[fType], &buf)
	if name == nil || rc.want.is(name) {
		return false
	}
	rc.otherTable(name)
	return true
}

// container opens an object that is not a row (isRow false) and reports
// whether it was a container: for a Streaming API record it returns the row
// it holds (its properties) with that row's context (the record's time as
// the default time, its category as the table); an Event Hub batch's
// records go to row one by one. A record of another table is counted, and
// no row returned. The caller decodes a returned row itself: the common
// case stays a direct call.
func (rc *rowCounter) container(b []byte, sh *shape, isRow bool, c rowCtx, row func([]byte, rowCtx)) (props []byte, inner rowCtx, ok bool) {
	if isRow {
		return nil, inner, false
	}
	props, records := sh.props(), sh.records()
	switch {
	case props != nil:
		inner = rowCtx{line: c.line, depth: c.depth + 1, envTime: sh.envTime(), rec: c.rec, tableOK: c.tableOK}
		if inner.envTime == nil {
			inner.envTime = c.envTime
		}
		if !c.tableOK && string(sh.val[fCategory]) == rc.want.category {
			inner.tableOK = true
		} else if !c.tableOK {
			var buf [64]byte
			if name := markerTable(sh.val[fCategory], sh.kind[fCategory], &buf); name != nil {
				if !rc.want.is(name) {
					rc.otherTable(name)
					return nil, inner, true
				}
				inner.tableOK = true
			}
		}
		return props, inner, true
	case records != nil:
		eachRecord(b, records, sh.recordsOff, c.line,
			func(rec []byte, l int) { row(rec, rowCtx{line: l, depth: c.depth + 1, tableOK: c.tableOK}) },
			rc.skipRow)
		return nil, inner, true
	}
	return nil, inner, false
}

// elsewhere reports whether b is not a row of the table read: a container,
// whose rows it hands to row, or a row of another table, which it counts.
func (rc *rowCounter) elsewhere(b []byte, sh *shape, isRow bool, c rowCtx, row func([]byte, rowCtx)) bool {
	if props, inner, ok := rc.container(b, sh, isRow, c, row); ok {
		if props != nil {
			row(props, inner)
		}
		return true
	}
	return rc.otherTableRow(sh, c.tableOK)
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
