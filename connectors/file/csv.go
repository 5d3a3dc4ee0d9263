package file

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/edgewatch/edgewatch/connectors"
	"github.com/edgewatch/edgewatch/connectors/internal/jsonscan"
	"github.com/edgewatch/edgewatch/internal/jsonenc"
)

// CSV exports (Defender portal "Export" of an Advanced Hunting result, or a
// Log Analytics export) carry a header row of column names. Each data row is
// turned into the JSON object an Advanced Hunting row would be, so the same
// decoders apply and the alert keeps a faithful copy of the row (its Raw):
// one member per non-empty cell, in column order, compact; known numeric and
// boolean columns become numbers and booleans when they parse, everything
// else stays a string holding the cell's bytes as they are (invalid UTF-8
// included: the decoded fields replace it, Raw keeps it).

var csvNumeric = map[string]bool{
	"LocalPort": true, "RemotePort": true, "ReportId": true,
	"InitiatingProcessId": true, "InitiatingProcessParentId": true,
	"InitiatingProcessFileSize": true, "InitiatingProcessSessionId": true,
	"OSBuild": true,
}

var csvBool = map[string]bool{
	"IsInternetFacing": true, "IsAzureADJoined": true, "IsExcluded": true,
	"IsInitiatingProcessRemoteSession": true,
}

// csvHeader holds a CSV export's columns.
type csvHeader struct {
	cols    []string
	kinds   []byte // jsonscan.KindNumber, KindTrue (boolean) or 0 (string)
	typeCol int    // the Type column (a Log Analytics export of several tables), or -1
}

func newCSVHeader(header []string) csvHeader {
	h := csvHeader{cols: make([]string, len(header)), kinds: make([]byte, len(header)), typeCol: -1}
	for i, c := range header {
		c = strings.TrimSpace(strings.TrimPrefix(c, "\ufeff"))
		h.cols[i] = c
		switch {
		case csvNumeric[c]:
			h.kinds[i] = jsonscan.KindNumber
		case csvBool[c]:
			h.kinds[i] = jsonscan.KindTrue
		case c == "Type" && h.typeCol < 0:
			h.typeCol = i
		}
	}
	return h
}

// appendRow appends a data row as a JSON object (see above).
func (h *csvHeader) appendRow(buf []byte, rec []string) []byte {
	buf = append(buf, '{')
	for i, v := range rec {
		if v == "" {
			continue
		}
		if len(buf) > 1 {
			buf = append(buf, ',')
		}
		buf = jsonenc.AppendString(buf, h.cols[i])
		buf = append(buf, ':')
		switch h.kinds[i] {
		case jsonscan.KindNumber:
			if _, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
				buf = append(buf, strings.TrimSpace(v)...)
				continue
			}
		case jsonscan.KindTrue:
			switch strings.ToLower(strings.TrimSpace(v)) {
			case "true", "1":
				buf = append(buf, "true"...)
				continue
			case "false", "0":
				buf = append(buf, "false"...)
				continue
			}
		}
		buf = jsonenc.AppendString(buf, v)
	}
	return append(buf, '}')
}

// csvRows reads a CSV input and calls row with each data row as a JSON
// object and its line number; rows that do not parse and lines longer than
// maxRow go to dec.skipRow. A header without a column every row of dec's
// table needs ends the read with an input error naming the columns, at once,
// or, when the export has a Type column (several tables), at the first row
// of that table. Errors from row are returned as they are.
func csvRows(in *input, dec rowDecoder, maxRow int, row func(b []byte, line int) error) error {
	lim := &lineLimiter{r: in.r, max: maxRow, line: 1}
	cr := csv.NewReader(lim)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	readErr := func(err error, line int) error {
		if errors.Is(err, errRecordTooLarge) {
			return fmt.Errorf("%s:%d: %w: a CSV record longer than %d bytes (a quoted field left open?)", in.path, line, connectors.ErrInput, maxRow)
		}
		return in.wrapErr(err)
	}
	lim.startRecord()
	record, err := cr.Read()
	if err == io.EOF {
		for _, l := range lim.dropped { // over-long lines and nothing else
			dec.skipRow(reasonTooLarge, l)
		}
		return nil
	}
	if err != nil {
		return readErr(err, lim.recordLine)
	}
	if line, _ := cr.FieldPos(0); len(lim.dropped) > 0 && lim.dropped[0] < line {
		return fmt.Errorf("%s:%d: %w: a line longer than %d bytes where the CSV header should be", in.path, lim.dropped[0], connectors.ErrInput, maxRow)
	}
	h := newCSVHeader(record)
	want := dec.table()
	missing := want.missing(h.cols)
	if len(missing) > 0 {
		dec.missingColumns(missing)
		if h.typeCol < 0 {
			return fmt.Errorf("%s: %w: the CSV header has no %s column: no %s row can be used", in.path, connectors.ErrInput, strings.Join(missing, ", "), want.name)
		}
	}
	tooLarge := func(before int) {
		for len(lim.dropped) > 0 && lim.dropped[0] < before {
			dec.skipRow(reasonTooLarge, lim.dropped[0])
			lim.dropped = lim.dropped[1:]
		}
	}
	var buf []byte
	for {
		lim.startRecord()
		record, err = cr.Read()
		if err == io.EOF {
			tooLarge(lim.line + 1)
			return nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) && !errors.Is(err, errRecordTooLarge) {
				tooLarge(pe.StartLine)
				dec.skipRow(reasonBadCSV, pe.StartLine)
				continue
			}
			return readErr(err, lim.recordLine)
		}
		line, _ := cr.FieldPos(0)
		tooLarge(line)
		if len(record) != len(h.cols) {
			if len(record) == 1 && strings.TrimSpace(record[0]) == "" {
				continue // blank line
			}
			dec.skipRow(reasonBadCSV, line)
			continue
		}
		if len(missing) > 0 {
			if name := tableName([]byte(record[h.typeCol])); name == nil || want.is(name) {
				return fmt.Errorf("%s:%d: %w: a %s row, but the CSV header has no %s column", in.path, line, connectors.ErrInput, want.name, strings.Join(missing, ", "))
			}
		}
		buf = h.appendRow(buf[:0], record)
		if err := row(buf, line); err != nil {
			return err
		}
	}
}

// errRecordTooLarge: a CSV record spans more than the maximum row size.
var errRecordTooLarge = errors.New("CSV record too large")

// lineLimiter hands a CSV reader its input one physical line per Read, each
// at most max bytes (without its newline): a longer line is read past, its
// number recorded in dropped, and an empty line (which the CSV reader skips)
// handed out in its place. A record spanning lines (a quoted field) of more
// than max bytes in all is errRecordTooLarge. Memory stays within max plus
// the bufio buffer.
type lineLimiter struct {
	r          *bufio.Reader
	max        int
	line       int    // number of the next line
	pending    []byte // what is left of the current line
	buf        []byte
	record     int // bytes of the lines handed out since startRecord
	recordLine int // the line where the current record starts
	dropped    []int
	err        error // sticky
}

var newline = []byte{'\n'}

// startRecord starts counting a new record's bytes.
func (l *lineLimiter) startRecord() {
	l.record, l.recordLine = 0, l.line
}

func (l *lineLimiter) Read(p []byte) (int, error) {
	for len(l.pending) == 0 {
		if l.err != nil {
			return 0, l.err
		}
		l.err = l.nextLine()
	}
	n := copy(p, l.pending)
	l.pending = l.pending[n:]
	return n, nil
}

// nextLine reads the next physical line into pending. It returns the error
// that ended the input (io.EOF at its end) after the last line.
func (l *lineLimiter) nextLine() error {
	l.buf = l.buf[:0]
	over := false
	for {
		frag, err := l.r.ReadSlice('\n')
		if !over {
			l.buf = append(l.buf, frag...)
			if n := len(bytesTrimNewline(l.buf)); n > l.max {
				over, l.buf = true, l.buf[:0]
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil && err != io.EOF {
			return err // a line cut short by a read error is not handed out
		}
		ended := len(frag) > 0 && frag[len(frag)-1] == '\n'
		switch {
		case over:
			l.dropped = append(l.dropped, l.line)
			l.line++
			if ended {
				l.pending = newline
			}
		case ended || len(l.buf) > 0:
			l.line++
			l.record += len(bytesTrimNewline(l.buf))
			if l.record > l.max {
				return errRecordTooLarge
			}
			l.pending = l.buf
		}
		return err
	}
}

func bytesTrimNewline(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		return b[:n-1]
	}
	return b
}
