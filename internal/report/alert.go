package report

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
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

// alertPaths are the document fields DecodeAlert reads, in the order of the
// switch in DecodeAlert.
var alertPaths = [][]string{
	{"@timestamp"},
	{"event", "id"},
	{"event", "severity"},
	{"rule", "name"},
	{"host", "id"},
	{"host", "name"},
	{"source", "ip"},
	{"source", "port"},
	{"destination", "ip"},
	{"destination", "port"},
	{"process", "name"},
	{"edgewatch", "severity"},
	{"edgewatch", "retro_hunt"},
	{"edgewatch", "internet_facing", "reason"},
	{"edgewatch", "indicator", "count"},
	{"edgewatch", "indicator", "level"},
	{"edgewatch", "suppression", "docs_count"},
	{"edgewatch", "suppression", "start"},
	{"edgewatch", "suppression", "end"},
}

// AlertFields are the document fields DecodeAlert reads, dotted
// ("event.id"): a reader of the alert index fetches only these.
func AlertFields() []string {
	out := make([]string, len(alertPaths))
	for i, p := range alertPaths {
		out[i] = strings.Join(p, ".")
	}
	return out
}

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
	var (
		a            Alert
		ts, sip      string
		gstart, gend string
		firstErr     error
	)
	fail := func(path []string, err error) {
		if firstErr == nil {
			firstErr = fmt.Errorf("field %s: %w", strings.Join(path, "."), err)
		}
	}
	str := func(v []byte, t jsonparser.ValueType, path []string) string {
		if t == jsonparser.Null {
			return ""
		}
		if t != jsonparser.String {
			fail(path, fmt.Errorf("want a string, got %s", t))
			return ""
		}
		s, err := jsonparser.ParseString(v)
		if err != nil {
			fail(path, err)
		}
		return s
	}
	num := func(v []byte, t jsonparser.ValueType, path []string) int {
		if t == jsonparser.Null {
			return 0
		}
		if t != jsonparser.Number {
			fail(path, fmt.Errorf("want a number, got %s", t))
			return 0
		}
		n, err := jsonparser.ParseInt(v)
		if err != nil {
			f, ferr := jsonparser.ParseFloat(v)
			if ferr != nil {
				fail(path, err)
			}
			return int(f)
		}
		return int(n)
	}
	jsonparser.EachKey(doc, func(idx int, v []byte, t jsonparser.ValueType, err error) {
		if err != nil {
			fail(alertPaths[idx], err)
			return
		}
		p := alertPaths[idx]
		switch idx {
		case 0:
			ts = str(v, t, p)
		case 1:
			a.EventID = str(v, t, p)
		case 2:
			a.SeverityScore = num(v, t, p)
		case 3:
			a.Rule = str(v, t, p)
		case 4:
			a.HostID = str(v, t, p)
		case 5:
			a.HostName = str(v, t, p)
		case 6:
			sip = str(v, t, p)
		case 7:
			a.SourcePort = num(v, t, p)
		case 8:
			a.DestIP = str(v, t, p)
		case 9:
			a.DestPort = num(v, t, p)
		case 10:
			a.Process = str(v, t, p)
		case 11:
			a.Severity = str(v, t, p)
		case 12:
			a.RetroHunt = t == jsonparser.Boolean && string(v) == "true"
		case 13:
			a.Reason = str(v, t, p)
		case 14:
			a.IndicatorCount = num(v, t, p)
		case 15:
			a.IndicatorLevel = num(v, t, p)
		case 16:
			a.Events = num(v, t, p)
		case 17:
			gstart = str(v, t, p)
		case 18:
			gend = str(v, t, p)
		}
	}, alertPaths...)
	if firstErr != nil {
		return Alert{}, fmt.Errorf("decode alert: %w", firstErr)
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
