package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
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
// The result is checked to be valid JSON with no unfilled placeholder left.
func fill(asset string, doc []byte, vars map[string]any) ([]byte, error) {
	out := doc
	for k, v := range vars {
		key := "{{" + k + "}}"
		var text string
		switch v := v.(type) {
		case int:
			text = strconv.Itoa(v)
			out = bytes.ReplaceAll(out, []byte(`"`+key+`"`), []byte(text))
		case string:
			text = v
		default:
			return nil, fmt.Errorf("dashboards: %s: placeholder %s: unsupported value type %T", asset, k, v)
		}
		esc, err := json.Marshal(text)
		if err != nil {
			return nil, fmt.Errorf("dashboards: %s: placeholder %s: %w", asset, k, err)
		}
		out = bytes.ReplaceAll(out, []byte(key), esc[1:len(esc)-1])
	}
	for _, m := range placeholder.FindAllSubmatch(out, -1) {
		if !bytes.HasPrefix(m[1], []byte("ctx.")) {
			return nil, fmt.Errorf("dashboards: %s: placeholder {{%s}} has no value", asset, m[1])
		}
	}
	if !json.Valid(out) {
		return nil, fmt.Errorf("dashboards: %s: rendered document is not valid JSON", asset)
	}
	return out, nil
}
