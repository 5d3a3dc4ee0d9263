package dashboards

import (
	"fmt"
	"strings"
)

// kqlClause is one field:value term of a KQL query.
type kqlClause struct {
	Field  string
	Value  string
	Quoted bool
}

// parseKQL parses the KQL subset the bundled objects use: clauses
// `field:value` or `field:"value"` joined by `and`. Anything else is an error,
// so a saved object that grows a richer query fails the tests instead of being
// rebuilt wrongly.
func parseKQL(q string) ([]kqlClause, error) {
	var out []kqlClause
	s := strings.TrimSpace(q)
	for s != "" {
		colon := strings.IndexByte(s, ':')
		if colon <= 0 {
			return nil, fmt.Errorf("kql %q: want field:value", q)
		}
		field := strings.TrimSpace(s[:colon])
		if field == "" || strings.ContainsAny(field, " ()\"*") {
			return nil, fmt.Errorf("kql %q: bad field %q", q, field)
		}
		s = strings.TrimLeft(s[colon+1:], " ")
		var c kqlClause
		c.Field = field
		switch {
		case strings.HasPrefix(s, `"`):
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				return nil, fmt.Errorf("kql %q: unterminated string", q)
			}
			c.Value, c.Quoted = s[1:1+end], true
			s = s[end+2:]
		default:
			end := strings.IndexByte(s, ' ')
			if end < 0 {
				end = len(s)
			}
			c.Value = s[:end]
			s = s[end:]
			if c.Value == "" || strings.ContainsAny(c.Value, "()*<>") {
				return nil, fmt.Errorf("kql %q: unsupported value %q", q, c.Value)
			}
		}
		out = append(out, c)
		s = strings.TrimSpace(s)
		if s == "" {
			break
		}
		low := strings.ToLower(s)
		if !strings.HasPrefix(low, "and ") {
			return nil, fmt.Errorf("kql %q: only `and` joins are supported", q)
		}
		s = strings.TrimSpace(s[4:])
		if s == "" {
			return nil, fmt.Errorf("kql %q: dangling and", q)
		}
	}
	return out, nil
}

// kqlDSL translates a parsed query to query DSL the way the KQL compiler does
// for these shapes: a quoted value is a match_phrase, a bare one a match.
func kqlDSL(cs []kqlClause) map[string]any {
	if len(cs) == 0 {
		return map[string]any{"match_all": map[string]any{}}
	}
	filter := make([]any, 0, len(cs))
	for _, c := range cs {
		kind := "match"
		if c.Quoted {
			kind = "match_phrase"
		}
		filter = append(filter, map[string]any{kind: map[string]any{c.Field: c.Value}})
	}
	return map[string]any{"bool": map[string]any{"filter": filter}}
}
