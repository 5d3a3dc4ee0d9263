package cluster

import (
	"bytes"
	"errors"
)

// A small JSON scanner for search answers. jsonparser, which it replaces on
// the hot path, finds the end of every value it hands over by walking it
// byte by byte, and nested calls walk the same bytes again: a page of hits
// was read five times over. Here a string's end is found with
// bytes.IndexByte, and each level hands out raw values (strings with their
// quotes) that the next level scans once. The answers come from a server
// and are valid JSON in practice; malformed structure is still an error,
// never a panic or a wrong slice, but scalars are only delimited, not
// validated.

var errBadJSON = errors.New("malformed JSON")

// isSpace reports JSON whitespace.
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// skipSpace returns the first non-whitespace offset at or after i.
func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// skipString returns the offset just past the string whose opening quote
// is at b[i], or -1 when it is not terminated.
func skipString(b []byte, i int) int {
	i++
	for {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return -1
		}
		i += j
		// An odd run of backslashes before the quote escapes it.
		n := 0
		for k := i - 1; k >= 0 && b[k] == '\\'; k-- {
			n++
		}
		i++
		if n%2 == 0 {
			return i
		}
	}
}

// skipValue returns the offset just past the value starting at b[i] (no
// leading whitespace), or -1 when it is malformed.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		// The closers expected, innermost last.
		var buf [32]byte
		stack := buf[:0]
		for ; i < len(b); i++ {
			switch c := b[i]; c {
			case '"':
				j := skipString(b, i)
				if j < 0 {
					return -1
				}
				i = j - 1
			case '{':
				stack = append(stack, '}')
			case '[':
				stack = append(stack, ']')
			case '}', ']':
				if len(stack) == 0 || stack[len(stack)-1] != c {
					return -1
				}
				stack = stack[:len(stack)-1]
				if len(stack) == 0 {
					return i + 1
				}
			}
		}
		return -1
	}
	// A number or a literal: up to the next delimiter.
	j := i
	for j < len(b) && !isSpace(b[j]) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ':' {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

// eachMember calls fn with each member of the object obj: the key as it is
// written (without quotes, escapes left in) and the raw value.
func eachMember(obj []byte, fn func(key, val []byte) error) error {
	i, empty, err := first(obj, '{', '}')
	if err != nil || empty {
		return err
	}
	for {
		if i >= len(obj) || obj[i] != '"' {
			return errBadJSON
		}
		end := skipString(obj, i)
		if end < 0 {
			return errBadJSON
		}
		key := obj[i+1 : end-1]
		i = skipSpace(obj, end)
		if i >= len(obj) || obj[i] != ':' {
			return errBadJSON
		}
		i = skipSpace(obj, i+1)
		end = skipValue(obj, i)
		if end < 0 {
			return errBadJSON
		}
		if err := fn(key, obj[i:end:end]); err != nil {
			return err
		}
		var done bool
		if i, done, err = next(obj, end, '}'); err != nil || done {
			return err
		}
	}
}

// eachElement calls fn with each raw element of the array arr.
func eachElement(arr []byte, fn func(val []byte) error) error {
	i, empty, err := first(arr, '[', ']')
	if err != nil || empty {
		return err
	}
	for {
		end := skipValue(arr, i)
		if end < 0 {
			return errBadJSON
		}
		if err := fn(arr[i:end:end]); err != nil {
			return err
		}
		var done bool
		if i, done, err = next(arr, end, ']'); err != nil || done {
			return err
		}
	}
}

// first opens the object or array b: i is its first member's or element's
// start, empty says it has none.
func first(b []byte, opener, closer byte) (i int, empty bool, err error) {
	i = skipSpace(b, 0)
	if i >= len(b) || b[i] != opener {
		return i, false, errBadJSON
	}
	i = skipSpace(b, i+1)
	return i, i < len(b) && b[i] == closer, nil
}

// next reads what follows a member or element ending at b[end]: a comma
// (i is the next one's start) or the closer (done).
func next(b []byte, end int, closer byte) (i int, done bool, err error) {
	i = skipSpace(b, end)
	switch {
	case i >= len(b):
		return i, false, errBadJSON
	case b[i] == ',':
		return skipSpace(b, i+1), false, nil
	case b[i] == closer:
		return i, true, nil
	}
	return i, false, errBadJSON
}
