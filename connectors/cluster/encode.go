package cluster

import (
	"encoding/json"
	"slices"
)

// trustedJSON is JSON the package built itself (terms chunks of
// addresses: appendJSONStrings). appendJSON copies it as it is, where
// json.Marshal would re-validate and re-compact it: on an indicators-first
// listing that is two megabytes of terms, a third of building the request.
type trustedJSON []byte

// MarshalJSON makes json.Marshal (tests, logs) write it as JSON too.
func (t trustedJSON) MarshalJSON() ([]byte, error) { return t, nil }

// appendJSON appends v as json.Marshal writes it. The query trees of this
// package (jsonObj, []any, strings, booleans, nil, trustedJSON) are written
// directly, without reflection; anything else, numbers included, goes
// through json.Marshal.
func appendJSON(dst []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case trustedJSON:
		return append(dst, v...), nil
	case string:
		return appendJSONString(dst, v), nil
	case bool:
		if v {
			return append(dst, "true"...), nil
		}
		return append(dst, "false"...), nil
	case jsonObj:
		if v == nil {
			return append(dst, "null"...), nil
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys) // json.Marshal sorts map keys
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(appendJSONString(dst, k), ':')
			var err error
			if dst, err = appendJSON(dst, v[k]); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	case []any:
		if v == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '[')
		for i, e := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = appendJSON(dst, e); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	}
	b, err := json.Marshal(v)
	return append(dst, b...), err
}

// appendJSONString appends s quoted as json.Marshal quotes it.
func appendJSONString(dst []byte, s string) []byte {
	if plainJSON(s) {
		return append(append(append(dst, '"'), s...), '"')
	}
	b, _ := json.Marshal(s) // a string always marshals
	return append(dst, b...)
}

// appendJSONStrings appends values as a JSON array of strings, as
// json.Marshal writes it. Addresses and CIDRs need no escaping and are
// copied as they are, which is what makes a 120k-term list cheap.
func appendJSONStrings(dst []byte, values []string) []byte {
	n := 2
	for _, v := range values {
		n += len(v) + 3
	}
	dst = slices.Grow(dst, n)
	dst = append(dst, '[')
	for i, v := range values {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, v)
	}
	return append(dst, ']')
}

// plainJSON reports whether s is printable ASCII that json.Marshal writes
// unchanged between quotes (it escapes quotes, backslashes and <, >, &).
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}
