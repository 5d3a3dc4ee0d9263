package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// fieldKind is how one index maps a field, as far as queries care.
type fieldKind int

const (
	kindMissing   fieldKind = iota // not mapped (or an object)
	kindKeyword                    // keyword, constant_keyword, wildcard; flattened/flat_object sub-keys
	kindText                       // analysed text
	kindIP                         // ip
	kindNumber                     // long, integer, short, …
	kindDate                       // date, date_nanos
	kindBool                       // boolean
	kindFlattened                  // flattened / flat_object (the container itself)
	kindOther                      // anything else (geo_point, …)
)

func kindOf(esType string) fieldKind {
	switch esType {
	case "keyword", "constant_keyword", "wildcard", "version":
		return kindKeyword
	case "text", "match_only_text":
		return kindText
	case "ip":
		return kindIP
	case "long", "integer", "short", "byte", "unsigned_long", "double", "float", "half_float", "scaled_float":
		return kindNumber
	case "date", "date_nanos":
		return kindDate
	case "boolean":
		return kindBool
	case "flattened", "flat_object":
		return kindFlattened
	}
	return kindOther
}

// fieldMap is one field's mapping across the indices a pattern covers.
type fieldMap struct {
	// byIndex: the field's kind per index (missing when unmapped there).
	byIndex map[string]fieldKind
	// keywordSub: per index, whether path.keyword is a keyword sub-field.
	keywordSub map[string]bool
}

// mappings holds the resolved mappings of the fields a profile uses.
type mappings struct {
	indices []string
	fields  map[string]*fieldMap
}

// fieldPlan says how to run term-level queries on one logical path.
type fieldPlan struct {
	// Fields are the document fields to OR a terms query over (the field
	// itself, its .keyword sub-field, or both across indices). Empty means
	// nothing is mapped: no document holds the field.
	Fields []string
	// Pushable is false when some index maps the field as analysed text with
	// no keyword sub-field: exact terms cannot be pushed down there.
	Pushable bool
	// AllIP: every index that maps it maps it as ip (CIDR terms work,
	// IPv4-mapped forms are the same address).
	AllIP bool
	// AnyKeyword: some index stores it as a string (IPs need both forms).
	AnyKeyword bool
	// AllDate: every index that maps it maps it as a date.
	AllDate bool
}

func (m *mappings) plan(path string) fieldPlan {
	fm := m.fields[path]
	p := fieldPlan{Pushable: true, AllIP: true, AllDate: true}
	if fm == nil {
		fm = &fieldMap{}
	}
	mapped := 0
	add := func(f string) {
		if !slices.Contains(p.Fields, f) {
			p.Fields = append(p.Fields, f)
		}
	}
	for _, idx := range m.indices {
		k := fm.byIndex[idx]
		if k == kindMissing {
			k = m.flattenedParent(path, idx)
		}
		if k == kindMissing {
			continue
		}
		mapped++
		if k != kindIP {
			p.AllIP = false
		}
		if k != kindDate {
			p.AllDate = false
		}
		switch k {
		case kindText:
			if fm.keywordSub[idx] {
				add(path + ".keyword")
				p.AnyKeyword = true
			} else {
				p.Pushable = false
			}
		case kindKeyword, kindFlattened:
			add(path)
			p.AnyKeyword = true
		case kindOther:
			p.Pushable = false
		default:
			add(path)
		}
	}
	if mapped == 0 {
		p.AllIP, p.AllDate = false, false
	}
	sort.Strings(p.Fields)
	return p
}

// flattenedParent reports kindKeyword when an ancestor of path is a
// flattened / flat_object field in idx (its keyed sub-fields are keywords).
func (m *mappings) flattenedParent(path, idx string) fieldKind {
	for i := strings.LastIndexByte(path, '.'); i > 0; i = strings.LastIndexByte(path[:i], '.') {
		if fm := m.fields[path[:i]]; fm != nil && fm.byIndex[idx] == kindFlattened {
			return kindKeyword
		}
	}
	return kindMissing
}

// isText reports whether some index maps path as analysed text (for the
// Advanced Hunting AdditionalFields blob).
func (m *mappings) kinds(path string) map[fieldKind]bool {
	out := map[fieldKind]bool{}
	fm := m.fields[path]
	for _, idx := range m.indices {
		k := kindMissing
		if fm != nil {
			k = fm.byIndex[idx]
		}
		if k == kindMissing {
			k = m.flattenedParent(path, idx)
		}
		out[k] = true
	}
	return out
}

// loadMappings asks the cluster how index maps paths (and their .keyword
// sub-fields and ancestors, to spot flattened containers).
func loadMappings(ctx context.Context, c *Client, index string, paths []string) (*mappings, error) {
	want := map[string]bool{}
	for _, p := range paths {
		if p == "" {
			continue
		}
		want[p] = true
		want[p+".keyword"] = true
		for i := strings.LastIndexByte(p, '.'); i > 0; i = strings.LastIndexByte(p[:i], '.') {
			want[p[:i]] = true
		}
	}
	names := slices.Sorted(maps.Keys(want))
	var body map[string]struct {
		Mappings map[string]struct {
			FullName string                     `json:"full_name"`
			Mapping  map[string]json.RawMessage `json:"mapping"`
		} `json:"mappings"`
	}
	if err := c.Call(ctx, "read mapping of "+index, Request{
		Method: http.MethodGet,
		Path:   "/" + index + "/_mapping/field/" + strings.Join(names, ","),
		Query:  url.Values{"ignore_unavailable": {"true"}, "allow_no_indices": {"true"}},
	}, &body); err != nil {
		if errors.Is(err, ErrNotFound) {
			// Both stores answer a bare 404 "{}" when the name matches no
			// index (ignore_unavailable swallows the reason).
			return nil, &IndexMissingError{Index: index}
		}
		return nil, err
	}
	m := &mappings{fields: map[string]*fieldMap{}}
	for idx, im := range body {
		m.indices = append(m.indices, idx)
		for name, fm := range im.Mappings {
			for _, raw := range fm.Mapping {
				var t struct {
					Type string `json:"type"`
				}
				if json.Unmarshal(raw, &t) != nil || t.Type == "" {
					continue
				}
				if base, ok := strings.CutSuffix(name, ".keyword"); ok && want[base] && kindOf(t.Type) == kindKeyword {
					f := m.field(base)
					f.keywordSub[idx] = true
					if !want[name] || name == base {
						continue
					}
				}
				m.field(name).byIndex[idx] = kindOf(t.Type)
			}
		}
	}
	sort.Strings(m.indices)
	return m, nil
}

func (m *mappings) field(name string) *fieldMap {
	f := m.fields[name]
	if f == nil {
		f = &fieldMap{byIndex: map[string]fieldKind{}, keywordSub: map[string]bool{}}
		m.fields[name] = f
	}
	return f
}

// queryLimits are the query size limits of the indices searched.
type queryLimits struct {
	MaxTerms   int // index.max_terms_count (smallest across indices)
	MaxClauses int // indices.query.bool.max_clause_count
	MaxBuckets int // search.max_buckets
}

func defaultLimits() queryLimits {
	return queryLimits{MaxTerms: 65536, MaxClauses: 1024, MaxBuckets: 65536}
}

// loadLimits reads index.max_terms_count of index and the cluster's clause
// and bucket limits. Values it cannot read keep conservative defaults.
func loadLimits(ctx context.Context, c *Client, index string) (queryLimits, error) {
	l := defaultLimits()
	resp, err := c.Do(ctx, Request{
		Method: http.MethodGet,
		Path:   "/" + index + "/_settings/index.max_terms_count",
		Query: url.Values{"include_defaults": {"true"}, "flat_settings": {"true"},
			"ignore_unavailable": {"true"}, "allow_no_indices": {"true"}},
	})
	if err != nil {
		return l, err
	}
	if resp.Status == http.StatusOK {
		var body map[string]struct {
			Settings map[string]string `json:"settings"`
			Defaults map[string]string `json:"defaults"`
		}
		if json.Unmarshal(resp.Body, &body) == nil {
			minTerms := 0
			for _, s := range body {
				v := s.Settings["index.max_terms_count"]
				if v == "" {
					v = s.Defaults["index.max_terms_count"]
				}
				if n, err := strconv.Atoi(v); err == nil && n > 0 && (minTerms == 0 || n < minTerms) {
					minTerms = n
				}
			}
			if minTerms > 0 {
				l.MaxTerms = minTerms
			}
		}
	}
	resp, err = c.Do(ctx, Request{
		Method: http.MethodGet,
		Path:   "/_cluster/settings",
		Query: url.Values{"include_defaults": {"true"}, "flat_settings": {"true"},
			"filter_path": {"*.indices.query.bool.max_clause_count,*.search.max_buckets"}},
	})
	if err != nil {
		return l, err
	}
	if resp.Status == http.StatusOK {
		var body map[string]map[string]string // persistent/transient/defaults
		if json.Unmarshal(resp.Body, &body) == nil {
			for _, scope := range []string{"defaults", "persistent", "transient"} { // later wins
				if n, err := strconv.Atoi(body[scope]["indices.query.bool.max_clause_count"]); err == nil && n > 0 {
					l.MaxClauses = n
				}
				if n, err := strconv.Atoi(body[scope]["search.max_buckets"]); err == nil && n > 0 {
					l.MaxBuckets = n
				}
			}
		}
	}
	return l, nil
}
