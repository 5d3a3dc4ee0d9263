package gen

import (
	"strconv"

	"github.com/edgewatch/edgewatch/internal/jsonenc"
)

// value kinds of a row cell.
const (
	vAbsent = iota
	vString
	vNumber
	vBool
	vRaw // pre-encoded JSON (an object), written as is in JSON and as its text in CSV
)

// row is one table row with a fixed column list (the table's schema). It is
// reused between rows: reset, set the cells, encode.
type row struct {
	cols []string
	kind []uint8
	str  []string
	num  []int64
	raw  [][]byte
}

func newRow(cols []string) *row {
	n := len(cols)
	return &row{cols: cols, kind: make([]uint8, n), str: make([]string, n), num: make([]int64, n), raw: make([][]byte, n)}
}

func (r *row) reset() {
	clear(r.kind)
}

func (r *row) setStr(c int, s string) { r.kind[c], r.str[c] = vString, s }
func (r *row) setNum(c int, n int64)  { r.kind[c], r.num[c] = vNumber, n }
func (r *row) setRaw(c int, b []byte) { r.kind[c], r.raw[c] = vRaw, b }
func (r *row) setBool(c int, b bool) {
	r.kind[c] = vBool
	r.num[c] = 0
	if b {
		r.num[c] = 1
	}
}

// appendJSON appends the row as a JSON object; absent cells are left out.
func (r *row) appendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	first := true
	for c, k := range r.kind {
		if k == vAbsent {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, '"')
		dst = append(dst, r.cols[c]...)
		dst = append(dst, '"', ':')
		dst = r.appendValue(dst, c)
	}
	return append(dst, '}')
}

func (r *row) appendValue(dst []byte, c int) []byte {
	switch r.kind[c] {
	case vString:
		return jsonenc.AppendString(dst, r.str[c])
	case vNumber:
		return strconv.AppendInt(dst, r.num[c], 10)
	case vBool:
		if r.num[c] == 1 {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	case vRaw:
		return append(dst, r.raw[c]...)
	}
	return append(dst, "null"...)
}

// appendCSV appends the row as a CSV record in column order.
func (r *row) appendCSV(dst []byte) []byte {
	for c, k := range r.kind {
		if c > 0 {
			dst = append(dst, ',')
		}
		switch k {
		case vString:
			dst = appendCSVField(dst, r.str[c])
		case vNumber:
			dst = strconv.AppendInt(dst, r.num[c], 10)
		case vBool:
			if r.num[c] == 1 {
				dst = append(dst, "true"...)
			} else {
				dst = append(dst, "false"...)
			}
		case vRaw:
			dst = appendCSVField(dst, string(r.raw[c]))
		}
	}
	return append(dst, '\r', '\n')
}

// appendCSVHeader appends the column names.
func appendCSVHeader(dst []byte, cols []string) []byte {
	for i, c := range cols {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendCSVField(dst, c)
	}
	return append(dst, '\r', '\n')
}

func appendCSVField(dst []byte, s string) []byte {
	quote := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ',', '"', '\n', '\r':
			quote = true
		}
	}
	if !quote && (len(s) == 0 || (s[0] != ' ' && s[len(s)-1] != ' ')) {
		return append(dst, s...)
	}
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			dst = append(dst, '"')
		}
		dst = append(dst, s[i])
	}
	return append(dst, '"')
}

const hexDigits = "0123456789abcdef"
