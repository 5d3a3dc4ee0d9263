package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// placeholder matches a {{name}} placeholder. Placeholders whose name starts
// with "ctx." are the server's own Mustache (Watcher, Alerting) and are left
// for the server to render; every other one must be filled by edgewatch.
var placeholder = regexp.MustCompile(`\{\{([A-Za-z0-9_.]+)\}\}`)

// fill substitutes {{name}} placeholders in a JSON asset. Every placeholder
// sits inside a JSON string in the asset, so the file stays valid JSON:
//
//   - an int value whose placeholder is the whole string ("{{port}}") replaces
//     the string with a JSON number;
//   - otherwise the value's text is JSON-escaped into the enclosing string.
//
// It makes one pass over doc: a value is written out as it is, never scanned
// for placeholders again, so a value holding "{{x}}" stays "{{x}}" whatever
// the order of vars. Every placeholder of doc must have a value; the result
// is checked to be valid JSON.
func fill(asset string, doc []byte, vars map[string]any) ([]byte, error) {
	var out bytes.Buffer
	out.Grow(len(doc))
	last := 0 // doc[:last] is written
	for _, m := range placeholder.FindAllSubmatchIndex(doc, -1) {
		start, end, name := m[0], m[1], string(doc[m[2]:m[3]])
		if strings.HasPrefix(name, "ctx.") {
			continue // the server's own Mustache
		}
		v, ok := vars[name]
		if !ok {
			return nil, fmt.Errorf("dashboards: %s: placeholder {{%s}} has no value", asset, name)
		}
		var text string
		switch v := v.(type) {
		case int:
			text = strconv.Itoa(v)
			if start > last && doc[start-1] == '"' && end < len(doc) && doc[end] == '"' {
				out.Write(doc[last : start-1]) // the whole string is the number
				out.WriteString(text)
				last = end + 1
				continue
			}
		case string:
			text = v
		default:
			return nil, fmt.Errorf("dashboards: %s: placeholder %s: unsupported value type %T", asset, name, v)
		}
		esc, err := json.Marshal(text)
		if err != nil {
			return nil, fmt.Errorf("dashboards: %s: placeholder %s: %w", asset, name, err)
		}
		out.Write(doc[last:start])
		out.Write(esc[1 : len(esc)-1])
		last = end
	}
	out.Write(doc[last:])
	if !json.Valid(out.Bytes()) {
		return nil, fmt.Errorf("dashboards: %s: rendered document is not valid JSON", asset)
	}
	return out.Bytes(), nil
}
