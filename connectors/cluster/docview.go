package cluster

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/edgewatch/edgewatch/connectors/internal/jsonscan"
	"github.com/edgewatch/edgewatch/correlation"
)

// docView reads values out of one searchHit's _source by dotted path. It scans
// only the objects a path walks through, once each, keeping each member as a
// slice of the document (no value is decoded until it is asked for), and it
// finds a value whether the document nests its objects ({"host":{"id":…}})
// or uses dotted keys ({"host.id":…}), or mixes both, as Elasticsearch
// allows.
type docView struct {
	root json.RawMessage
	top  []member
	objs []scanned // nested objects scanned so far, by path prefix
}

// member is one key of an object and its raw JSON value.
type member struct {
	key []byte
	val []byte
}

type scanned struct {
	key     string
	members []member
}

var errNotObject = errors.New("document is not a JSON object")

func newDocView(src json.RawMessage) (*docView, error) {
	d := &docView{root: src}
	m, err := scanObject(src)
	if err != nil {
		return nil, err
	}
	d.top = m
	return d, nil
}

// scanObject lists the members of the object raw.
func scanObject(raw []byte) ([]member, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, errNotObject
	}
	members := make([]member, 0, 16)
	it := jsonscan.NewObjIter(raw)
	for it.Next() {
		key := it.Key
		if it.KeyEsc {
			k, ok := jsonscan.Unescape(key, nil) // a new buffer
			if !ok {
				return nil, fmt.Errorf("decode document: %w", jsonscan.ErrSyntax)
			}
			key = k
		}
		members = append(members, member{key: key, val: it.Val})
	}
	if it.Err != nil {
		return nil, fmt.Errorf("decode document: %w", it.Err)
	}
	return members, nil
}

// object scans raw as an object, cached under key.
func (d *docView) object(key string, raw json.RawMessage) ([]member, error) {
	for i := range d.objs {
		if d.objs[i].key == key {
			return d.objs[i].members, nil
		}
	}
	m, err := scanObject(raw)
	if err != nil {
		return nil, err
	}
	d.objs = append(d.objs, scanned{key: key, members: m})
	return m, nil
}

// get returns the raw JSON value at path; ok is false when it is absent or
// null. An empty path is the whole document.
func (d *docView) get(path string) (json.RawMessage, bool) {
	if path == "" {
		return d.root, true
	}
	var v json.RawMessage
	var ok bool
	if strings.IndexByte(path, '.') < 0 {
		v, ok = lookup(d.top, path)
	} else {
		v, ok = d.walk("", d.top, strings.Split(path, "."))
	}
	if !ok || isNull(v) {
		return nil, false
	}
	return v, true
}

// lookup finds key among members; the last one wins, as in encoding/json.
func lookup(members []member, key string) ([]byte, bool) {
	for i := len(members) - 1; i >= 0; i-- {
		if string(members[i].key) == key {
			return members[i].val, true
		}
	}
	return nil, false
}

func (d *docView) walk(prefix string, obj []member, segs []string) (json.RawMessage, bool) {
	// Try the shortest key first (nested objects are the common case), then
	// longer dotted keys.
	for k := 1; k <= len(segs); k++ {
		key := strings.Join(segs[:k], ".")
		v, ok := lookup(obj, key)
		if !ok {
			continue
		}
		if k == len(segs) {
			return v, true
		}
		sub := prefix + "\x00" + key
		m, err := d.object(sub, v)
		if err != nil {
			continue // a scalar where an object was expected
		}
		if r, ok := d.walk(sub, m, segs[k:]); ok {
			return r, true
		}
	}
	return nil, false
}

func isNull(v json.RawMessage) bool {
	v = bytes.TrimSpace(v)
	return len(v) == 0 || string(v) == "null"
}

// first returns the first element of a JSON array, or v itself.
func firstElem(v json.RawMessage) json.RawMessage {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || v[0] != '[' {
		return v
	}
	var arr []json.RawMessage
	if err := json.Unmarshal(v, &arr); err != nil || len(arr) == 0 {
		return nil
	}
	return bytes.TrimSpace(arr[0])
}

// str returns the value at path as text: a string's content, a number's or
// boolean's literal; "" when absent. Arrays yield their first element.
func (d *docView) str(path string) string {
	if path == "" {
		return ""
	}
	v, ok := d.get(path)
	if !ok {
		return ""
	}
	return rawText(firstElem(v))
}

func rawText(v json.RawMessage) string {
	if len(v) == 0 || isNull(v) {
		return ""
	}
	switch v[0] {
	case '"':
		if len(v) >= 2 && v[len(v)-1] == '"' {
			if in := v[1 : len(v)-1]; bytes.IndexByte(in, '\\') < 0 && utf8.Valid(in) {
				return string(in) // the common case: nothing to unescape
			}
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return ""
		}
		return s
	case '{', '[':
		return ""
	}
	return string(v)
}

// port returns the value at path as a port, correlation.NoPort when absent
// or malformed. Numbers and numeric strings are both ports.
func (d *docView) port(path string) int {
	s := strings.TrimSpace(d.str(path))
	if s == "" {
		return correlation.NoPort
	}
	p, ok := correlation.ParsePort(s)
	if !ok {
		return correlation.NoPort
	}
	return p
}

// int64 returns the value at path as an integer, 0 when absent or malformed.
func (d *docView) int64(path string) int64 {
	s := strings.TrimSpace(d.str(path))
	if s == "" {
		return 0
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return int64(f)
	}
	return 0
}

// boolean reads true/false, "true"/"True"/"1"/"0" and 1/0.
func (d *docView) boolean(path string) bool {
	switch strings.ToLower(strings.TrimSpace(d.str(path))) {
	case "true", "1":
		return true
	}
	return false
}

// timeAt reads an RFC 3339 text (any fractional digits) or epoch
// milliseconds. ok is false when the value is absent; err is set when it is
// present but malformed.
func (d *docView) timeAt(path string) (time.Time, bool, error) {
	v, ok := d.get(path)
	if !ok {
		return time.Time{}, false, nil
	}
	v = firstElem(v)
	if len(v) > 0 && v[0] != '"' && v[0] != '{' && v[0] != '[' {
		// A number: epoch milliseconds (what a date field sorts and stores).
		ms, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			return time.Time{}, true, fmt.Errorf("time %s: %w", snippetOf(v), err)
		}
		return time.UnixMilli(int64(ms)).UTC(), true, nil
	}
	s := strings.TrimSpace(rawText(v))
	if s == "" {
		return time.Time{}, false, nil
	}
	t, err := correlation.ParseTime(s)
	if err != nil {
		return time.Time{}, true, fmt.Errorf("time %q: %w", s, err)
	}
	return t, true, nil
}

func snippetOf(b []byte) string {
	const n = 40
	if len(b) > n {
		return strconv.Quote(string(b[:n])) + "…"
	}
	return strconv.Quote(string(b))
}
