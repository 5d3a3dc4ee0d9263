package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// The alert mapping check: is an alert index mapped the way edgewatch's
// alert template maps it (or, when it does not exist yet, would the index
// templates give it that mapping on creation) — or would its fields be
// mapped dynamically (source.ip as text, the raw Defender row indexed)?
//
// CheckAlertIndex is the one rule for "the alert index is matched by an
// alert template": install runs it after putting the templates and fails
// its alert-mapping step when it does not hold; a run-side warning should
// call it too, so that the two never disagree (an index outside
// edgewatch-alerts-* that install gave a template of its own passes; an
// index created before any template does not).

// alertMappingProbe is one field whose mapping tells the alert template's
// mapping from dynamic mapping, and the type the template gives it.
type alertMappingProbe struct {
	Path string
	Type string // a field type, or ProbeDisabledObject
}

// ProbeDisabledObject is the probe type of an object that is stored but not
// indexed ("enabled": false).
const ProbeDisabledObject = "object (disabled)"

// alertProbes must agree with dashboards/templates/edgewatch-alerts.json
// (TestCheckAlertIndex checks them against the bundled template).
var alertProbes = []alertMappingProbe{
	{"@timestamp", "date"},
	{"event.id", "keyword"},
	{"host.name", "keyword"},
	{"source.ip", "ip"},
	{"destination.port", "long"},
	{"defender.network_event", ProbeDisabledObject},
}

// AlertIndexMapping is what CheckAlertIndex found.
type AlertIndexMapping struct {
	Index string
	// Exists: the index (or alias) exists and its mapping was read; else
	// the mapping is the one the index templates would give it.
	Exists bool
	// Problems lists each probe the mapping gets wrong, e.g. "source.ip is
	// text (want ip)"; empty when the alert mapping is in place.
	Problems []string
	// Conflicts counts the problems that are a field mapped otherwise
	// (source.ip as text, the raw row indexed): a mapping update, which can
	// only add fields, cannot fix those; a field not mapped yet it can.
	Conflicts int
}

// OK reports whether the index has (or would get) the alert mapping.
func (m AlertIndexMapping) OK() bool { return len(m.Problems) == 0 }

// String is one line: "ops-alerts: alert mapping in place" or the problems.
func (m AlertIndexMapping) String() string {
	state := "exists"
	if !m.Exists {
		state = "would be created"
	}
	if m.OK() {
		return fmt.Sprintf("%s (%s): alert mapping in place", m.Index, state)
	}
	return fmt.Sprintf("%s (%s): %s", m.Index, state, strings.Join(m.Problems, "; "))
}

// CheckAlertIndex reads the mapping of index (GET <index>/_mapping; every
// backing index of an alias) or, when it does not exist, the mapping the
// index templates would give it (POST _index_template/_simulate_index),
// and compares the probe fields with the alert template's types. The error
// is non-nil only when the cluster could not be asked (a missing privilege
// is an error: the answer is unknown, not "unmapped").
func CheckAlertIndex(ctx context.Context, c *Client, index string) (AlertIndexMapping, error) {
	m := AlertIndexMapping{Index: index, Exists: true}
	var got map[string]struct {
		Mappings json.RawMessage `json:"mappings"`
	}
	err := c.Call(ctx, "read mapping of alert index "+index, Request{Method: http.MethodGet, Path: DocPath(index, "_mapping")}, &got)
	switch {
	case err == nil:
		names := slices.Sorted(maps.Keys(got))
		for _, name := range names {
			prefix := ""
			if len(names) > 1 || name != index {
				prefix = name + ": "
			}
			probs, conflicts := probeProblems(got[name].Mappings)
			for _, p := range probs {
				m.Problems = append(m.Problems, prefix+p)
			}
			m.Conflicts += conflicts
		}
		return m, nil
	case !errors.Is(err, ErrNotFound):
		return m, err
	}
	m.Exists = false
	var sim struct {
		Template *struct {
			Mappings json.RawMessage `json:"mappings"`
		} `json:"template"`
	}
	req := Request{Method: http.MethodPost, Path: DocPath("_index_template", "_simulate_index", index)}
	if err := c.Call(ctx, "simulate index "+index, req, &sim); err != nil {
		return m, err
	}
	if sim.Template == nil {
		m.Problems = []string{"no index template matches it: every field would be mapped dynamically"}
		return m, nil
	}
	m.Problems, m.Conflicts = probeProblems(sim.Template.Mappings)
	return m, nil
}

// probeProblems compares a mappings object ({"properties": …}) with the
// probes, and counts the conflicts among the problems.
func probeProblems(mappings json.RawMessage) (out []string, conflicts int) {
	types := map[string]string{}
	var root struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if len(mappings) > 0 && json.Unmarshal(mappings, &root) != nil {
		return []string{"the mapping does not parse"}, 1
	}
	flattenFieldTypes("", root.Properties, types)
	for _, p := range alertProbes {
		got, ok := types[p.Path]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s is not mapped (want %s)", p.Path, p.Type))
			continue
		case got != p.Type && p.Type == ProbeDisabledObject:
			out = append(out, fmt.Sprintf("%s is indexed (want %s)", p.Path, p.Type))
		case got != p.Type:
			out = append(out, fmt.Sprintf("%s is %s (want %s)", p.Path, got, p.Type))
		default:
			continue
		}
		conflicts++
	}
	return out, conflicts
}

// flattenFieldTypes records path -> type for every field of properties:
// the field type, "object" for an object with sub-fields, or
// ProbeDisabledObject.
func flattenFieldTypes(prefix string, props map[string]json.RawMessage, out map[string]string) {
	for name, raw := range props {
		var f struct {
			Type       string                     `json:"type"`
			Enabled    *bool                      `json:"enabled"`
			Properties map[string]json.RawMessage `json:"properties"`
		}
		if json.Unmarshal(raw, &f) != nil {
			continue
		}
		path := prefix + name
		switch {
		case f.Enabled != nil && !*f.Enabled:
			out[path] = ProbeDisabledObject
		case f.Type != "" && f.Type != "object" && f.Type != "nested":
			out[path] = f.Type
		default:
			out[path] = "object"
			if f.Type == "nested" {
				out[path] = "nested"
			}
			flattenFieldTypes(path+".", f.Properties, out)
		}
	}
}
