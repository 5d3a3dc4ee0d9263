package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/edgewatch/edgewatch/plugin/wire"
)

// AlertMappingProblem says why alerts written to index would not get
// edgewatch's alert mapping (an ip-typed source.ip among the rest), or ""
// when they would. It asks the cluster, since only the cluster knows which
// index template applies:
//
//   - an existing index (or alias) is checked by its own mapping of
//     source.ip, whatever its name;
//   - a missing index by the mapping the index templates would give it
//     (POST _index_template/_simulate_index/<index>), so an index that
//     `install --alert-index` covered with a template is fine whatever its
//     name, and an edgewatch-alerts-* index is not when the templates were
//     never installed.
//
// An error means the check itself failed (e.g. a user without the
// privilege to simulate templates); it says nothing about the mapping.
func (c *Client) AlertMappingProblem(ctx context.Context, index string) (string, error) {
	var fields map[string]struct {
		Mappings map[string]struct {
			Mapping map[string]struct {
				Type string `json:"type"`
			} `json:"mapping"`
		} `json:"mappings"`
	}
	err := c.Call(ctx, "check alert mapping", Request{Method: http.MethodGet, Path: DocPath(index, "_mapping", "field", "source.ip")}, &fields)
	var e *Error
	switch {
	case err == nil && len(fields) > 0:
		for name, idx := range fields {
			if t := fieldType(idx.Mappings["source.ip"].Mapping); t != "ip" {
				if t == "" {
					t = "unmapped"
				}
				return fmt.Sprintf("alert index %s holds no edgewatch alert mapping (source.ip is %s in %s): alerts are mapped dynamically and the dashboards cannot use them; write to an index edgewatch install prepared (%s)",
					index, t, name, wire.AlertsPattern), nil
			}
		}
		return "", nil
	case err == nil, errors.As(err, &e) && e.Status == http.StatusNotFound:
		// No such index yet: the templates decide its mapping.
	default:
		return "", err
	}
	var sim struct {
		Template struct {
			Mappings struct {
				Properties struct {
					Source struct {
						Properties struct {
							IP struct {
								Type string `json:"type"`
							} `json:"ip"`
						} `json:"properties"`
					} `json:"source"`
				} `json:"properties"`
			} `json:"mappings"`
		} `json:"template"`
	}
	if err := c.Call(ctx, "check alert mapping", Request{Method: http.MethodPost, Path: DocPath("_index_template", "_simulate_index", index)}, &sim); err != nil {
		return "", err
	}
	if sim.Template.Mappings.Properties.Source.Properties.IP.Type == "ip" {
		return "", nil
	}
	return fmt.Sprintf("no index template gives alert index %s edgewatch's alert mapping: the first alert creates it with dynamic mappings; run edgewatch install (its template matches %s)",
		index, wire.AlertsPattern), nil
}

// fieldType is the type of the one leaf GET _mapping/field answers.
func fieldType(m map[string]struct {
	Type string `json:"type"`
}) string {
	for _, v := range m {
		return v.Type
	}
	return ""
}
