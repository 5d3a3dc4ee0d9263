package correlation

import (
	"unicode/utf8"
)

// maxRawDepth is the deepest nesting rawObject accepts, encoding/json's
// own limit.
const maxRawDepth = 10000

// rawObject reports whether b is one JSON object (RFC 8259, surrounding
// whitespace allowed) in valid UTF-8: what defender.network_event may hold
// verbatim. It accepts exactly what json.Valid accepts, restricted to an
// object at the top and to valid UTF-8 (json.Valid lets invalid UTF-8
// through inside strings; a document with it is not JSON text, and
// Elasticsearch refuses it). It allocates nothing for nesting up to 64
// levels and is several times faster than json.Valid, which matters at one
// call per alert.
func rawObject(b []byte) bool {
	return validObject(b) && utf8.Valid(b)
}

// validObject is rawObject without the UTF-8 check.
func validObject(b []byte) bool {
	var stk [64]byte
	stack := stk[:0]
	i := rawJSONWS(b, 0)
	if i == len(b) || b[i] != '{' {
		return false
	}
	for {
		// One value starts at b[i] (after whitespace).
		i = rawJSONWS(b, i)
		if i >= len(b) {
			return false
		}
		switch c := b[i]; {
		case c == '{' || c == '[':
			if len(stack) >= maxRawDepth { // nested deeper than encoding/json allows
				return false
			}
			end := byte('}')
			if c == '[' {
				end = ']'
			}
			if i = rawJSONWS(b, i+1); i < len(b) && b[i] == end {
				i++
				break // {} or [] is a whole value
			}
			stack = append(stack, c)
			if c == '{' {
				if i = rawJSONKey(b, i); i < 0 {
					return false
				}
			}
			continue
		default: // a string, number or literal (facingfields.go's scanner)
			if i = scanFlatValue(b, i); i < 0 {
				return false
			}
		}
		// A value ended: close containers until one continues.
		for {
			i = rawJSONWS(b, i)
			if len(stack) == 0 {
				return i == len(b)
			}
			if i >= len(b) {
				return false
			}
			top := stack[len(stack)-1]
			if b[i] == ',' {
				i++
				if top == '{' {
					if i = rawJSONKey(b, rawJSONWS(b, i)); i < 0 {
						return false
					}
				}
				break
			}
			if top == '{' && b[i] == '}' || top == '[' && b[i] == ']' {
				stack = stack[:len(stack)-1]
				i++
				continue
			}
			return false
		}
	}
}

// rawJSONKey scans `"key" :` at b[i] and returns the index after the colon,
// or -1.
func rawJSONKey(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	if i = scanFlatValue(b, i); i < 0 {
		return -1
	}
	i = rawJSONWS(b, i)
	if i >= len(b) || b[i] != ':' {
		return -1
	}
	return i + 1
}

func rawJSONWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}
