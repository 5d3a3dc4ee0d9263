package report

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/buger/jsonparser"
)

// Alert is the part of an edgewatch alert document the report shows. Field
// comments name the document fields (correlation.Alert's JSON form).
type Alert struct {
	Timestamp      time.Time // @timestamp
	EventID        string    // event.id
	SeverityScore  int       // event.severity (21/47/73/99)
	Severity       string    // edgewatch.severity: low | medium | high | critical
	HostName       string    // host.name
	HostID         string    // host.id
	SourceIP       string    // source.ip: the threat-intel address
	SourcePort     int       // source.port
	DestIP         string    // destination.ip
	DestPort       int       // destination.port: the targeted local port
	Process        string    // process.name: the initiating process
	IndicatorCount int       // edgewatch.indicator.count: IPsum count
	IndicatorLevel int       // edgewatch.indicator.level
	Reason         string    // edgewatch.internet_facing.reason
	Rule           string    // rule.name
	RetroHunt      bool      // edgewatch.retro_hunt
	// A grouped alert (--group-by) stands for Events network events, the
	// first at GroupStart and the last at GroupEnd
	// (edgewatch.suppression.docs_count, .start, .end); Events is 0 for an
	// alert of one event.
	Events               int
	GroupStart, GroupEnd time.Time
}

// EventCount is how many network events the alert stands for: its group's
// count, 1 for an alert that is not grouped.
func (a Alert) EventCount() int { return max(a.Events, 1) }

// Severities in display order, most severe first.
var Severities = []string{"critical", "high", "medium", "low"}

// severityOf maps event.severity to the edgewatch.severity keyword when the
// keyword is missing.
func severityOf(score int) string {
	switch {
	case score >= 99:
		return "critical"
	case score >= 73:
		return "high"
	case score >= 47:
		return "medium"
	default:
		return "low"
	}
}

// The document fields DecodeAlert reads, as indexes into alertFieldNames
// and alertPaths.
const (
	fTimestamp = iota
	fEventID
	fEventSeverity
	fRule
	fHostID
	fHostName
	fSourceIP
	fSourcePort
	fDestIP
	fDestPort
	fProcess
	fSeverity
	fRetroHunt
	fReason
	fIndicatorCount
	fIndicatorLevel
	fGroupEvents
	fGroupStart
	fGroupEnd
	nAlertFields
)

// alertFieldNames are the document fields DecodeAlert reads, dotted.
var alertFieldNames = [nAlertFields]string{
	fTimestamp:      "@timestamp",
	fEventID:        "event.id",
	fEventSeverity:  "event.severity",
	fRule:           "rule.name",
	fHostID:         "host.id",
	fHostName:       "host.name",
	fSourceIP:       "source.ip",
	fSourcePort:     "source.port",
	fDestIP:         "destination.ip",
	fDestPort:       "destination.port",
	fProcess:        "process.name",
	fSeverity:       "edgewatch.severity",
	fRetroHunt:      "edgewatch.retro_hunt",
	fReason:         "edgewatch.internet_facing.reason",
	fIndicatorCount: "edgewatch.indicator.count",
	fIndicatorLevel: "edgewatch.indicator.level",
	fGroupEvents:    "edgewatch.suppression.docs_count",
	fGroupStart:     "edgewatch.suppression.start",
	fGroupEnd:       "edgewatch.suppression.end",
}

// alertPaths are alertFieldNames split for jsonparser.EachKey.
var alertPaths = func() [][]string {
	out := make([][]string, len(alertFieldNames))
	for i, name := range alertFieldNames {
		out[i] = strings.Split(name, ".")
	}
	return out
}()

// AlertFields are the document fields DecodeAlert reads, dotted
// ("event.id"): a reader of the alert index fetches only these.
func AlertFields() []string { return slices.Clone(alertFieldNames[:]) }

// Decoding errors.
var (
	ErrNotObject   = errors.New("not a JSON object")
	ErrTruncated   = errors.New("truncated JSON object")
	ErrNoTimestamp = errors.New("alert has no @timestamp")
	ErrNoSourceIP  = errors.New("alert has no valid source.ip")
)

// DecodeAlert decodes one alert document. It accepts the document itself or
// a search hit / export line wrapping it in "_source". It reads only the
// fields the report shows (with jsonparser, several times faster than
// encoding/json on alert documents, which carry the raw Defender row).
func DecodeAlert(doc []byte) (Alert, error) {
	doc = bytes.TrimSpace(doc)
	if len(doc) == 0 || doc[0] != '{' {
		return Alert{}, ErrNotObject
	}
	if doc[len(doc)-1] != '}' {
		return Alert{}, ErrTruncated
	}
	if bytes.Contains(doc, []byte(`"_source"`)) {
		if src, typ, _, err := jsonparser.Get(doc, "_source"); err == nil && typ == jsonparser.Object {
			doc = src
		}
	}
	var f alertFields
	jsonparser.EachKey(doc, f.set, alertPaths...)
	a := Alert{
		EventID:        f.str(fEventID),
		SeverityScore:  f.num(fEventSeverity),
		Rule:           f.str(fRule),
		HostID:         f.str(fHostID),
		HostName:       f.str(fHostName),
		SourcePort:     f.num(fSourcePort),
		DestIP:         f.str(fDestIP),
		DestPort:       f.num(fDestPort),
		Process:        f.str(fProcess),
		Severity:       f.str(fSeverity),
		RetroHunt:      f.flag(fRetroHunt),
		Reason:         f.str(fReason),
		IndicatorCount: f.num(fIndicatorCount),
		IndicatorLevel: f.num(fIndicatorLevel),
		Events:         f.num(fGroupEvents),
	}
	ts, sip := f.str(fTimestamp), f.str(fSourceIP)
	gstart, gend := f.str(fGroupStart), f.str(fGroupEnd)
	if err := f.err(); err != nil {
		return Alert{}, fmt.Errorf("decode alert: %w", err)
	}
	if ts == "" {
		return Alert{}, ErrNoTimestamp
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return Alert{}, fmt.Errorf("decode alert: @timestamp: %w", err)
	}
	a.Timestamp = t.UTC()
	for _, g := range []struct {
		text string
		dst  *time.Time
	}{{gstart, &a.GroupStart}, {gend, &a.GroupEnd}} {
		if g.text == "" {
			continue
		}
		gt, err := time.Parse(time.RFC3339Nano, g.text)
		if err != nil {
			return Alert{}, fmt.Errorf("decode alert: edgewatch.suppression: %w", err)
		}
		*g.dst = gt.UTC()
	}
	ip, err := netip.ParseAddr(sip)
	if err != nil {
		return Alert{}, ErrNoSourceIP
	}
	a.SourceIP = ip.Unmap().String()
	switch a.Severity {
	case "critical", "high", "medium", "low":
	default:
		a.Severity = severityOf(a.SeverityScore)
	}
	return a, nil
}

// alertFields holds the values of one document's alertPaths as
// jsonparser.EachKey finds them, and the first error in reading them.
type alertFields struct {
	vals      [nAlertFields]fieldValue
	found     int        // how many fields EachKey has found
	bad       fieldValue // the first bad field in document order
	badAt     int        // bad's field index
	malformed error      // JSON that is broken outside any field
}

// fieldValue is one field's value; at is its place in the document, 1 for
// the first field EachKey found (0: the document does not have the field).
type fieldValue struct {
	raw []byte
	typ jsonparser.ValueType
	err error
	at  int
}

// set is the jsonparser.EachKey callback.
func (f *alertFields) set(idx int, v []byte, t jsonparser.ValueType, err error) {
	if idx < 0 { // EachKey's word for malformed JSON on the way to a field
		f.malformed = err
		return
	}
	f.found++
	f.vals[idx] = fieldValue{raw: v, typ: t, err: err, at: f.found}
}

// fail keeps err as the error of field idx if no field before it in the
// document is bad.
func (f *alertFields) fail(idx int, err error) {
	v := f.vals[idx]
	if f.bad.err == nil || v.at < f.bad.at {
		v.err = err
		f.bad, f.badAt = v, idx
	}
}

// err is the document's error: malformed JSON, else the first bad field's
// error.
func (f *alertFields) err() error {
	if f.malformed != nil {
		return f.malformed
	}
	if f.bad.err == nil {
		return nil
	}
	return fmt.Errorf("field %s: %w", alertFieldNames[f.badAt], f.bad.err)
}

// value is field idx if it is present, not null and of type want.
func (f *alertFields) value(idx int, want jsonparser.ValueType) (fieldValue, bool) {
	v := f.vals[idx]
	switch {
	case v.err != nil:
		f.fail(idx, v.err)
		return v, false
	case v.at == 0 || v.typ == jsonparser.Null:
		return v, false
	case v.typ != want:
		f.fail(idx, fmt.Errorf("want a %s, got %s", want, v.typ))
		return v, false
	}
	return v, true
}

// str reads a string field: "" when it is missing or null.
func (f *alertFields) str(idx int) string {
	v, ok := f.value(idx, jsonparser.String)
	if !ok {
		return ""
	}
	s, err := jsonparser.ParseString(v.raw)
	if err != nil {
		f.fail(idx, err)
	}
	return s
}

// num reads a number field, a fraction cut to an int: 0 when it is missing
// or null.
func (f *alertFields) num(idx int) int {
	v, ok := f.value(idx, jsonparser.Number)
	if !ok {
		return 0
	}
	n, err := jsonparser.ParseInt(v.raw)
	if err != nil {
		x, ferr := jsonparser.ParseFloat(v.raw)
		if ferr != nil {
			f.fail(idx, err)
		}
		return int(x)
	}
	return int(n)
}

// flag reads a boolean field: false unless it is true.
func (f *alertFields) flag(idx int) bool {
	v := f.vals[idx]
	if v.err != nil {
		f.fail(idx, v.err)
		return false
	}
	return v.typ == jsonparser.Boolean && string(v.raw) == "true"
}
