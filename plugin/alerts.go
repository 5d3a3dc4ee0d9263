package plugin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"iter"
	"time"
)

// AlertBatch is a batch of alerts as it crosses the plugin boundary: their
// ECS documents, encoded once by the plugin, as NDJSON, and their display
// columns when the host asked for them. The host writes NDJSON to a file
// or stdout as it is: it never decodes or re-encodes a document.
type AlertBatch struct {
	// NDJSON holds the documents, each on one line ending in '\n'.
	NDJSON []byte
	// Rows are the documents' display columns in order (Rows[i] is line
	// i's), or nil. A plugin fills them; a host receives them when it asked
	// (RunRequest.AlertRows), and always from a plugin that predates the
	// NDJSON encoding.
	Rows []Row
	// Count is how many documents NDJSON holds when the plugin knows it
	// (its engine does), sparing a count of the lines; 0 when unknown. It
	// stays in the plugin process.
	Count int
}

// Row holds an alert's display columns: the seed query's projection
// (Timestamp, DeviceName, ThreatIntelligenceIP, LocalPort,
// InitiatingProcessFileName) plus RemotePort, the IPsum count, severity,
// the finding id and the indicator's feed and provider.
type Row struct {
	Timestamp                 time.Time
	DeviceName                string
	ThreatIntelligenceIP      string
	LocalPort                 int
	InitiatingProcessFileName string
	RemotePort                int
	IPsumCount                int
	Severity                  string
	ID                        string // event.id
	Feed                      string // threat.feed.name
	Provider                  string // threat.indicator.provider
}

// Alert is one alert given on its own: its ECS document (one JSON value)
// and its display columns. NewAlertBatch packs alerts into a batch,
// AlertBatch.Alerts unpacks one.
type Alert struct {
	Document json.RawMessage
	Row      Row
}

var newline = []byte{'\n'}

// NewAlertBatch packs alerts into a batch, one document per line. A
// document that spans lines (a pretty-printed _source) has its line breaks
// turned into spaces, which are whitespace between JSON tokens (a JSON
// string cannot hold a raw line break). Rows are kept.
func NewAlertBatch(alerts []Alert) AlertBatch {
	size := 0
	for i := range alerts {
		size += len(alerts[i].Document) + 1
	}
	b := AlertBatch{NDJSON: make([]byte, 0, size), Rows: make([]Row, len(alerts))}
	for i := range alerts {
		b.NDJSON = appendLine(b.NDJSON, alerts[i].Document)
		b.Rows[i] = alerts[i].Row
	}
	return b
}

// appendLine appends doc and a newline to dst, with any line break inside
// doc turned into a space.
func appendLine(dst, doc []byte) []byte {
	start := len(dst)
	dst = append(dst, doc...)
	if bytes.IndexByte(doc, '\n') >= 0 {
		for i := start; i < len(dst); i++ {
			if dst[i] == '\n' {
				dst[i] = ' '
			}
		}
	}
	return append(dst, '\n')
}

// Len is the number of alerts in b: Count when set, else its lines.
func (b AlertBatch) Len() int {
	if b.Count > 0 {
		return b.Count
	}
	return bytes.Count(b.NDJSON, newline)
}

// Documents yields each alert's index and document (without its newline),
// in order. The documents alias b.NDJSON.
func (b AlertBatch) Documents() iter.Seq2[int, []byte] {
	return func(yield func(int, []byte) bool) {
		rest := b.NDJSON
		for i := 0; len(rest) > 0; i++ {
			n := bytes.IndexByte(rest, '\n')
			if n < 0 {
				n = len(rest) // a batch that breaks the invariant (see check)
			}
			if !yield(i, rest[:n:n]) {
				return
			}
			rest = rest[min(n+1, len(rest)):]
		}
	}
}

// Alerts unpacks b into one Alert per document (the documents alias
// b.NDJSON; rows are zero when b has none).
func (b AlertBatch) Alerts() []Alert {
	out := make([]Alert, 0, b.Len())
	for i, doc := range b.Documents() {
		a := Alert{Document: doc}
		if i < len(b.Rows) {
			a.Row = b.Rows[i]
		}
		out = append(out, a)
	}
	return out
}

// check reports a batch that breaks AlertBatch's invariants: NDJSON that
// does not end in a newline, or rows that are not one per document.
func (b AlertBatch) check() error {
	if len(b.NDJSON) > 0 && b.NDJSON[len(b.NDJSON)-1] != '\n' {
		return fmt.Errorf("alert batch of %d bytes does not end in a newline", len(b.NDJSON))
	}
	if b.Rows != nil {
		if n := bytes.Count(b.NDJSON, newline); n != len(b.Rows) {
			return fmt.Errorf("alert batch has %d documents and %d rows", n, len(b.Rows))
		}
	}
	return nil
}

// split cuts b into batches of at most max bytes at line boundaries; a
// single document larger than max is a batch of its own. Rows follow
// their documents. b is valid (check).
func (b AlertBatch) split(max int) iter.Seq[AlertBatch] {
	return func(yield func(AlertBatch) bool) {
		rest, rows := b.NDJSON, b.Rows
		for len(rest) > 0 {
			n := len(rest)
			if n > max {
				n = bytes.LastIndexByte(rest[:max], '\n') + 1
				if n == 0 { // the first document alone is larger than max
					n = bytes.IndexByte(rest, '\n') + 1
				}
			}
			part := AlertBatch{NDJSON: rest[:n:n]}
			if rows != nil {
				k := len(rows)
				if n < len(rest) {
					k = bytes.Count(part.NDJSON, newline)
				}
				part.Rows, rows = rows[:k:k], rows[k:]
			}
			if !yield(part) {
				return
			}
			rest = rest[n:]
		}
	}
}
