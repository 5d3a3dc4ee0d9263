package cluster

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/edgewatch/edgewatch/correlation"
)

// docView reads values out of one searchHit's _source by dotted path. It decodes
// only the objects a path walks through, once each, and it finds a value
// whether the document nests its objects ({"host":{"id":…}}) or uses dotted
// keys ({"host.id":…}), or mixes both, as Elasticsearch allows.
type docView struct {
	root json.RawMessage
	objs map[string]map[string]json.RawMessage // decoded objects by path prefix ("" = root)
}

var errNotObject = errors.New("document is not a JSON object")

func newDocView(src json.RawMessage) (*docView, error) {
	d := &docView{root: src, objs: map[string]map[string]json.RawMessage{}}
	if _, err := d.object("", src); err != nil {
		return nil, err
	}
	return d, nil
}

// object decodes raw as an object, cached under key.
func (d *docView) object(key string, raw json.RawMessage) (map[string]json.RawMessage, error) {
	if m, ok := d.objs[key]; ok {
		return m, nil
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, errNotObject
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("decode document: %w", err)
	}
	d.objs[key] = m
	return m, nil
}

// get returns the raw JSON value at path; ok is false when it is absent or
// null. An empty path is the whole document.
func (d *docView) get(path string) (json.RawMessage, bool) {
	if path == "" {
		return d.root, true
	}
	v, ok := d.walk("", d.objs[""], strings.Split(path, "."))
	if !ok || isNull(v) {
		return nil, false
	}
	return v, true
}

func (d *docView) walk(prefix string, jsonObj map[string]json.RawMessage, segs []string) (json.RawMessage, bool) {
	// Try the shortest key first (nested objects are the common case), then
	// longer dotted keys.
	for k := 1; k <= len(segs); k++ {
		key := strings.Join(segs[:k], ".")
		v, ok := jsonObj[key]
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
