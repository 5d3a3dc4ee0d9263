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
func (rc *rowCounter) objectRow(row []byte, c rowCtx) (b []byte, ok bool) {
	b = jsonscan.TrimSpace(row)
	if len(b) == 0 {
		return nil, false
	}
	if reason := shapeReason(b, c.depth); reason != "" {
		rc.skipRow(reason, c.line)
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

// members walks the members of an object with their field numbers: keys
// with escapes are decoded first, keys that do not decode are passed over.
type members struct {
	jsonscan.ObjIter
	F    int // the current member's field (fNone for keys no decoder reads)
	kbuf [64]byte
}

func newMembers(b []byte) members {
	return members{ObjIter: jsonscan.NewObjIter(b)}
}

// Next moves to the next member; false at the end or on an error (Err).
func (m *members) Next() bool {
	for m.ObjIter.Next() {
		key := m.Key
		if m.KeyEsc {
			k, ok := jsonscan.Unescape(m.Key, m.kbuf[:0])
			if !ok {
				continue
			}
			key = k
		}
		m.F = fieldOf(key)
		return true
	}
	return false
}

// shape holds the members that place a row: its time columns, its table
// marker, and what makes an object a container rather than a row.
type shape struct {
	seen           uint8 // bit per shape field: the first occurrence wins
	ts, tg, typ    []byte
	tsK, tgK, typK byte
	envTime        []byte // a string
	category       []byte
	categoryK      byte
	props, records []byte // an object, an array
	recordsOff     int
}

// take keeps the current member when it is a shape field f and reports
// whether it was one.
func (sh *shape) take(f int, it *jsonscan.ObjIter) bool {
	if f == fNone || f > fRecords {
		return false
	}
	if sh.seen&(1<<f) != 0 {
		return true
	}
	sh.seen |= 1 << f
	v, k := it.Val, it.Kind
	switch f {
	case fTimestamp:
		sh.ts, sh.tsK = v, k
	case fTimeGenerated:
		sh.tg, sh.tgK = v, k
	case fType:
		sh.typ, sh.typK = v, k
	case fCategory:
		sh.category, sh.categoryK = v, k
	case fEnvTime:
		if k == jsonscan.KindString {
			sh.envTime = v
		}
	case fProperties:
		if k == jsonscan.KindObject {
			sh.props = v
		}
	case fRecords:
		if k == jsonscan.KindArray {
			sh.records, sh.recordsOff = v, it.ValOff
		}
	}
	return true
}

// time returns a row's time: Timestamp, else TimeGenerated, else the
// enclosing record's time; reason is a skip reason when there is none that
// parses.
func (sh *shape) time(envTime, scratch []byte) (t time.Time, reason string) {
	tv, tk := sh.ts, sh.tsK
	if tv == nil || tk == jsonscan.KindNull {
		tv, tk = sh.tg, sh.tgK
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
func (rc *rowCounter) otherTableRow(sh *shape, c rowCtx) bool {
	if c.tableOK || sh.typ == nil {
		return false
	}
	var buf [64]byte
	name := markerTable(sh.typ, sh.typK, &buf)
	if name == nil || rc.want.is(name) {
		return false
	}
	rc.otherTable(name)
	return true
}

// descend hands the rows of a container to row and reports whether b (an
// object that is not a row: isRow false) was one: a Streaming API record
// (its properties are the row, its time the row's default time, its
// category the row's table) or an Event Hub batch (each record a row of its
// own). A record of another table is counted, not descended into.
func (rc *rowCounter) descend(b []byte, sh *shape, isRow bool, c rowCtx, row func([]byte, rowCtx)) bool {
	if isRow {
		return false
	}
	switch {
	case sh.props != nil:
		inner := rowCtx{line: c.line, depth: c.depth + 1, envTime: sh.envTime, rec: c.rec, tableOK: c.tableOK}
		if inner.envTime == nil {
			inner.envTime = c.envTime
		}
		if !c.tableOK {
			var buf [64]byte
			if name := markerTable(sh.category, sh.categoryK, &buf); name != nil {
				if !rc.want.is(name) {
					rc.otherTable(name)
					return true
				}
				inner.tableOK = true
			}
		}
		row(sh.props, inner)
	case sh.records != nil:
		eachRecord(b, sh.records, sh.recordsOff, c.line,
			func(rec []byte, l int) { row(rec, rowCtx{line: l, depth: c.depth + 1, tableOK: c.tableOK}) },
			rc.skipRow)
	default:
		return false
	}
	return true
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
