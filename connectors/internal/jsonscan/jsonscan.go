package jsonscan

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrSyntax reports input that is not well-formed JSON.
var ErrSyntax = errors.New("malformed JSON")

// Value kinds reported by the scanner (the first byte of the value, except
// numbers, which are all '0').
const (
	KindString = '"'
	KindObject = '{'
	KindArray  = '['
	KindNumber = '0'
	KindTrue   = 't'
	KindFalse  = 'f'
	KindNull   = 'n'
)

// IsSpace reports JSON whitespace.
func IsSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// SkipSpace returns the first non-whitespace offset at or after i.
func SkipSpace(b []byte, i int) int {
	for i < len(b) && IsSpace(b[i]) {
		i++
	}
	return i
}

// TrimSpace trims JSON whitespace from both ends.
func TrimSpace(b []byte) []byte {
	i := SkipSpace(b, 0)
	j := len(b)
	for j > i && IsSpace(b[j-1]) {
		j--
	}
	return b[i:j]
}

// ScanString returns the index just past the closing quote of the string
// that starts at b[i] == '"', and whether it contains a backslash escape.
//
// It looks at eight bytes at a time for a quote or a backslash (SWAR: one
// 64-bit load and a few integer operations per word). Keys and values are
// short, so this beats two bytes.IndexByte calls, whose vector set-up costs
// more than the search itself, and it reads each byte once.
func ScanString(b []byte, i int) (end int, escaped bool, err error) {
	j := i + 1
	for j+8 <= len(b) {
		x := binary.LittleEndian.Uint64(b[j:])
		m := zeroBytes(x^quotes) | zeroBytes(x^backslashes)
		if m == 0 {
			j += 8
			continue
		}
		k := j + bits.TrailingZeros64(m)>>3
		if b[k] == '"' {
			return k + 1, escaped, nil
		}
		escaped = true
		j = k + 2 // the backslash and the byte it escapes
	}
	for j < len(b) {
		switch b[j] {
		case '"':
			return j + 1, escaped, nil
		case '\\':
			escaped = true
			j += 2
		default:
			j++
		}
	}
	return 0, false, ErrSyntax
}

const (
	ones        = 0x0101010101010101
	highs       = 0x8080808080808080
	quotes      = '"' * ones
	backslashes = '\\' * ones
)

// zeroBytes has the high bit of each zero byte of x set. Bits above the
// first zero byte may be set wrongly (a borrow), but the lowest set bit is
// always exact, which is all ScanString asks of it.
func zeroBytes(x uint64) uint64 { return (x - ones) &^ x & highs }

// skipString is ScanString for a caller that needs only the end: a value
// being skipped. Values run longer than keys, and the vector search of
// bytes.IndexByte pays off on them: it looks for the quote alone and counts
// the backslashes before it, which are rare.
func skipString(b []byte, i int) (end int, err error) {
	j := i + 1
	for {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return 0, ErrSyntax
		}
		q := j + k
		n := 0 // backslashes right before the quote: odd means escaped
		for p := q - 1; p > i && b[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			return q + 1, nil
		}
		j = q + 1
	}
}

// ScanValue returns the end of the JSON value starting at b[i] (no leading
// space) and its kind.
func ScanValue(b []byte, i int) (end int, kind byte, err error) {
	if i >= len(b) {
		return 0, 0, ErrSyntax
	}
	switch c := b[i]; c {
	case '"':
		end, err = skipString(b, i)
		return end, KindString, err
	case '{', '[':
		end, err = ScanContainer(b, i)
		return end, c, err
	case 't':
		return scanLiteral(b, i, "true", KindTrue)
	case 'f':
		return scanLiteral(b, i, "false", KindFalse)
	case 'n':
		return scanLiteral(b, i, "null", KindNull)
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			j := i + 1
			for j < len(b) && isNumberByte(b[j]) {
				j++
			}
			return j, KindNumber, nil
		}
		return 0, 0, ErrSyntax
	}
}

func isNumberByte(c byte) bool {
	return (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'
}

func scanLiteral(b []byte, i int, lit string, kind byte) (int, byte, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, 0, ErrSyntax
	}
	return i + len(lit), kind, nil
}

// maxDepth bounds container nesting so hostile input cannot blow the stack
// of brackets we keep.
const maxDepth = 512

// ScanContainer skips the object or array starting at b[i], checking that
// brackets pair up, and returns the index just past its end.
func ScanContainer(b []byte, i int) (int, error) {
	var stack [maxDepth]byte
	depth := 0
	for j := i; j < len(b); j++ {
		switch c := b[j]; c {
		case '"':
			end, err := skipString(b, j)
			if err != nil {
				return 0, err
			}
			j = end - 1
		case '{', '[':
			if depth == maxDepth {
				return 0, ErrSyntax
			}
			stack[depth] = c
			depth++
		case '}', ']':
			if depth == 0 {
				return 0, ErrSyntax
			}
			depth--
			if open := stack[depth]; (open == '{') != (c == '}') {
				return 0, ErrSyntax
			}
			if depth == 0 {
				return j + 1, nil
			}
		}
	}
	return 0, ErrSyntax
}

// ObjIter walks the members of one JSON object.
//
//	it := NewObjIter(b)
//	for it.Next() { use(it.Key, it.Val, it.Kind) }
//	if it.Err != nil { ... }
type ObjIter struct {
	cursor
	Key    []byte // raw key, without quotes (escapes not decoded)
	KeyEsc bool   // key contains a backslash escape
	Val    []byte // raw value
	ValOff int    // offset of val in b
	Kind   byte
}

// cursor is where an iterator stands in the object or array it walks; Err
// is the iterator's error.
type cursor struct {
	b     []byte
	pos   int
	first bool
	done  bool
	Err   error
}

// start stands c after the opening delimiter open of b (leading whitespace
// allowed); a b that does not start with open fails at once.
func (c *cursor) start(b []byte, open byte) {
	c.b, c.first = b, true
	c.pos = SkipSpace(b, 0) + 1
	if c.pos > len(b) || b[c.pos-1] != open {
		c.Err, c.done = ErrSyntax, true
	}
}

// fail stops the walk with ErrSyntax; false, for Next to return.
func (c *cursor) fail() bool {
	c.Err = ErrSyntax
	c.done = true
	return false
}

// at is where the next token stands (whitespace skipped); false when the
// walk is over, or fails because the input ends there.
func (c *cursor) at() (int, bool) {
	if c.done {
		return 0, false
	}
	i := SkipSpace(c.b, c.pos)
	if i >= len(c.b) {
		return 0, c.fail()
	}
	return i, true
}

// NewObjIter starts walking the object b (leading whitespace allowed).
func NewObjIter(b []byte) ObjIter {
	var it ObjIter
	it.start(b, '{')
	return it
}

// Next moves to the next member; false at the end or on an error (Err).
func (it *ObjIter) Next() bool {
	i, ok := it.at()
	if !ok {
		return false
	}
	b := it.b
	if b[i] == '}' { // "{}" or the end after a value; "{...,}" fails below
		it.pos = i + 1
		it.done = true
		return false
	}
	if !it.first {
		if b[i] != ',' {
			return it.fail()
		}
		i = SkipSpace(b, i+1)
		if i >= len(b) {
			return it.fail()
		}
	}
	it.first = false
	if b[i] != '"' {
		return it.fail()
	}
	end, esc, err := ScanString(b, i)
	if err != nil {
		return it.fail()
	}
	it.Key = b[i+1 : end-1]
	it.KeyEsc = esc
	i = SkipSpace(b, end)
	if i >= len(b) || b[i] != ':' {
		return it.fail()
	}
	i = SkipSpace(b, i+1)
	vend, kind, err := ScanValue(b, i)
	if err != nil {
		return it.fail()
	}
	it.Val = b[i:vend]
	it.ValOff = i
	it.Kind = kind
	it.pos = vend
	return true
}

// rest checks that nothing but whitespace follows the object (call after
// next returned false with no error).
func (it *ObjIter) Rest() error {
	if it.Err != nil {
		return it.Err
	}
	if SkipSpace(it.b, it.pos) != len(it.b) {
		return ErrSyntax
	}
	return nil
}

// ArrIter walks the elements of one JSON array.
type ArrIter struct {
	cursor
	Val  []byte
	Off  int // offset of val in b
	Kind byte
}

// NewArrIter starts walking the array b (leading whitespace allowed).
func NewArrIter(b []byte) ArrIter {
	var it ArrIter
	it.start(b, '[')
	return it
}

// Next moves to the next element; false at the end or on an error (Err).
func (it *ArrIter) Next() bool {
	i, ok := it.at()
	if !ok {
		return false
	}
	b := it.b
	if b[i] == ']' && it.first {
		it.pos, it.done = i+1, true
		return false
	}
	if !it.first {
		if b[i] == ']' {
			it.pos, it.done = i+1, true
			return false
		}
		if b[i] != ',' {
			return it.fail()
		}
		i = SkipSpace(b, i+1)
	}
	it.first = false
	end, kind, err := ScanValue(b, i)
	if err != nil {
		return it.fail()
	}
	it.Val, it.Off, it.Kind, it.pos = b[i:end], i, kind, end
	return true
}

// Unquote returns the content of the JSON string value v (with quotes),
// decoding escapes into scratch when there are any.
func Unquote(v []byte, scratch []byte) ([]byte, bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return nil, false
	}
	s := v[1 : len(v)-1]
	if bytes.IndexByte(s, '\\') < 0 {
		return s, true
	}
	return Unescape(s, scratch[:0])
}

// Unescape decodes JSON string escapes in s, appending to dst.
func Unescape(s, dst []byte) ([]byte, bool) {
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			j := bytes.IndexByte(s[i:], '\\')
			if j < 0 {
				return append(dst, s[i:]...), true
			}
			dst = append(dst, s[i:i+j]...)
			i += j
			continue
		}
		if i+1 >= len(s) {
			return nil, false
		}
		switch s[i+1] {
		case '"', '\\', '/':
			dst = append(dst, s[i+1])
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := hex4(s, i+2)
			if !ok {
				return nil, false
			}
			i += 6
			if utf16.IsSurrogate(r) {
				if r2, ok := hex4(s, i+2); ok && i+1 < len(s) && s[i] == '\\' && s[i+1] == 'u' {
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						i += 6
						dst = utf8.AppendRune(dst, dec)
						continue
					}
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default:
			return nil, false
		}
		i += 2
	}
	return dst, true
}

func hex4(s []byte, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range s[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// NewlinesBefore returns how many newlines b holds before offset off.
func NewlinesBefore(b []byte, off int) int {
	if off > len(b) {
		off = len(b)
	}
	return bytes.Count(b[:off], []byte{'\n'})
}
