package file

import (
	"bytes"
	"errors"
	"unicode/utf16"
	"unicode/utf8"
)

// This file is a small, allocation-free JSON scanner: it walks the members of
// one object (or the elements of one array) and hands back the raw bytes of
// each key and value. It checks the structure it walks (quotes, colons,
// commas, balanced brackets) but does not build anything; the row decoders
// pick the few fields they need out of the raw values.

var errSyntax = errors.New("malformed JSON")

// Value kinds reported by the scanner (the first byte of the value, except
// numbers, which are all '0').
const (
	kindString = '"'
	kindObject = '{'
	kindArray  = '['
	kindNumber = '0'
	kindTrue   = 't'
	kindFalse  = 'f'
	kindNull   = 'n'
)

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// trimSpace trims JSON whitespace from both ends.
func trimSpace(b []byte) []byte {
	i := skipSpace(b, 0)
	j := len(b)
	for j > i && isSpace(b[j-1]) {
		j--
	}
	return b[i:j]
}

// scanString returns the index just past the closing quote of the string
// that starts at b[i] == '"', and whether it contains a backslash escape.
func scanString(b []byte, i int) (end int, escaped bool, err error) {
	j := i + 1
	for {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return 0, false, errSyntax
		}
		q := j + k
		// Count the backslashes right before the quote: odd means escaped.
		n := 0
		for p := q - 1; p > i && b[p] == '\\'; p-- {
			n++
		}
		if n > 0 {
			escaped = true
		}
		if n%2 == 0 {
			if !escaped && bytes.IndexByte(b[i+1:q], '\\') >= 0 {
				escaped = true
			}
			return q + 1, escaped, nil
		}
		j = q + 1
	}
}

// scanValue returns the end of the JSON value starting at b[i] (no leading
// space) and its kind.
func scanValue(b []byte, i int) (end int, kind byte, err error) {
	if i >= len(b) {
		return 0, 0, errSyntax
	}
	switch c := b[i]; c {
	case '"':
		end, _, err = scanString(b, i)
		return end, kindString, err
	case '{', '[':
		end, err = scanContainer(b, i)
		return end, c, err
	case 't':
		return scanLiteral(b, i, "true", kindTrue)
	case 'f':
		return scanLiteral(b, i, "false", kindFalse)
	case 'n':
		return scanLiteral(b, i, "null", kindNull)
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			j := i + 1
			for j < len(b) && isNumberByte(b[j]) {
				j++
			}
			return j, kindNumber, nil
		}
		return 0, 0, errSyntax
	}
}

func isNumberByte(c byte) bool {
	return (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'
}

func scanLiteral(b []byte, i int, lit string, kind byte) (int, byte, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, 0, errSyntax
	}
	return i + len(lit), kind, nil
}

// maxDepth bounds container nesting so hostile input cannot blow the stack
// of brackets we keep.
const maxDepth = 512

// scanContainer skips the object or array starting at b[i], checking that
// brackets pair up, and returns the index just past its end.
func scanContainer(b []byte, i int) (int, error) {
	var stack [maxDepth]byte
	depth := 0
	for j := i; j < len(b); j++ {
		switch c := b[j]; c {
		case '"':
			end, _, err := scanString(b, j)
			if err != nil {
				return 0, err
			}
			j = end - 1
		case '{', '[':
			if depth == maxDepth {
				return 0, errSyntax
			}
			stack[depth] = c
			depth++
		case '}', ']':
			if depth == 0 {
				return 0, errSyntax
			}
			depth--
			if open := stack[depth]; (open == '{') != (c == '}') {
				return 0, errSyntax
			}
			if depth == 0 {
				return j + 1, nil
			}
		}
	}
	return 0, errSyntax
}

// objIter walks the members of one JSON object.
//
//	it := newObjIter(b)
//	for it.next() { use(it.key, it.val, it.kind) }
//	if it.err != nil { ... }
type objIter struct {
	b      []byte
	pos    int
	first  bool
	done   bool
	err    error
	key    []byte // raw key, without quotes (escapes not decoded)
	keyEsc bool   // key contains a backslash escape
	val    []byte // raw value
	valOff int    // offset of val in b
	kind   byte
}

func newObjIter(b []byte) objIter {
	it := objIter{b: b, first: true}
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		it.err = errSyntax
		it.done = true
		return it
	}
	it.pos = i + 1
	return it
}

func (it *objIter) fail() bool {
	it.err = errSyntax
	it.done = true
	return false
}

func (it *objIter) next() bool {
	if it.done {
		return false
	}
	b := it.b
	i := skipSpace(b, it.pos)
	if i >= len(b) {
		return it.fail()
	}
	if b[i] == '}' { // "{}" or the end after a value; "{...,}" fails below
		it.pos = i + 1
		it.done = true
		return false
	}
	if !it.first {
		if b[i] != ',' {
			return it.fail()
		}
		i = skipSpace(b, i+1)
		if i >= len(b) {
			return it.fail()
		}
	}
	it.first = false
	if b[i] != '"' {
		return it.fail()
	}
	end, esc, err := scanString(b, i)
	if err != nil {
		return it.fail()
	}
	it.key = b[i+1 : end-1]
	it.keyEsc = esc
	i = skipSpace(b, end)
	if i >= len(b) || b[i] != ':' {
		return it.fail()
	}
	i = skipSpace(b, i+1)
	vend, kind, err := scanValue(b, i)
	if err != nil {
		return it.fail()
	}
	it.val = b[i:vend]
	it.valOff = i
	it.kind = kind
	it.pos = vend
	return true
}

// rest checks that nothing but whitespace follows the object (call after
// next returned false with no error).
func (it *objIter) rest() error {
	if it.err != nil {
		return it.err
	}
	if skipSpace(it.b, it.pos) != len(it.b) {
		return errSyntax
	}
	return nil
}

// arrIter walks the elements of one JSON array.
type arrIter struct {
	b     []byte
	pos   int
	first bool
	done  bool
	err   error
	val   []byte
	off   int // offset of val in b
	kind  byte
}

func newArrIter(b []byte) arrIter {
	it := arrIter{b: b, first: true}
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		it.err = errSyntax
		it.done = true
		return it
	}
	it.pos = i + 1
	return it
}

func (it *arrIter) next() bool {
	if it.done {
		return false
	}
	b := it.b
	i := skipSpace(b, it.pos)
	if i >= len(b) {
		it.err, it.done = errSyntax, true
		return false
	}
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
			it.err, it.done = errSyntax, true
			return false
		}
		i = skipSpace(b, i+1)
	}
	it.first = false
	end, kind, err := scanValue(b, i)
	if err != nil {
		it.err, it.done = errSyntax, true
		return false
	}
	it.val, it.off, it.kind, it.pos = b[i:end], i, kind, end
	return true
}

// unquote returns the content of the JSON string value v (with quotes),
// decoding escapes into scratch when there are any.
func unquote(v []byte, scratch []byte) ([]byte, bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return nil, false
	}
	s := v[1 : len(v)-1]
	if bytes.IndexByte(s, '\\') < 0 {
		return s, true
	}
	return unescape(s, scratch[:0])
}

// unescape decodes JSON string escapes in s, appending to dst.
func unescape(s, dst []byte) ([]byte, bool) {
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

// newlinesBefore returns how many newlines b holds before offset off.
func newlinesBefore(b []byte, off int) int {
	if off > len(b) {
		off = len(b)
	}
	return bytes.Count(b[:off], []byte{'\n'})
}
