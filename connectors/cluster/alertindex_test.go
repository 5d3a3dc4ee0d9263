package cluster

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/edgewatch/edgewatch/dashboards"
)

// bundledAlertMappings is the mappings object of the bundled alert template.
func bundledAlertMappings(t *testing.T) json.RawMessage {
	t.Helper()
	tmpl, ok := dashboards.IndexTemplate(dashboards.AlertsTemplate)
	if !ok {
		t.Fatal("bundled alert template missing")
	}
	var b struct {
		Template struct {
			Mappings json.RawMessage `json:"mappings"`
		} `json:"template"`
	}
	if err := json.Unmarshal(tmpl.Body, &b); err != nil {
		t.Fatal(err)
	}
	return b.Template.Mappings
}

// dynamicMapping is what both stores build for an alert written into an
// index no template matches (read back from OpenSearch 2.19 and
// Elasticsearch 8.19: strings become text + keyword, the raw row an
// indexed object).
const dynamicMapping = `{"properties":{
 "@timestamp":{"type":"date"},
 "event":{"properties":{"id":{"type":"text","fields":{"keyword":{"type":"keyword","ignore_above":256}}}}},
 "host":{"properties":{"name":{"type":"text","fields":{"keyword":{"type":"keyword","ignore_above":256}}}}},
 "source":{"properties":{"ip":{"type":"text","fields":{"keyword":{"type":"keyword","ignore_above":256}}}}},
 "destination":{"properties":{"port":{"type":"long"}}},
 "defender":{"properties":{"network_event":{"properties":{"RemoteIP":{"type":"text"}}}}}}}`

func TestCheckAlertIndex(t *testing.T) {
	bundled := bundledAlertMappings(t)
	notFound := `{"error":{"type":"index_not_found_exception","reason":"no such index [x]"},"status":404}`
	cases := map[string]struct {
		mapping  string // GET <index>/_mapping answer ("" = 404)
		simulate string // POST _simulate_index answer
		exists   bool
		problems []string // substrings, one per expected problem
		// conflicts: problems a mapping update cannot fix (a field mapped
		// otherwise, not a field missing).
		conflicts int
	}{
		"existing index with the alert template's mapping": {
			mapping: `{"ops-alerts":{"mappings":` + string(bundled) + `}}`, exists: true,
		},
		"existing index mapped dynamically": {
			mapping: `{"ops-alerts":{"mappings":` + dynamicMapping + `}}`, exists: true,
			problems: []string{"event.id is text (want keyword)", "host.name is text (want keyword)",
				"source.ip is text (want ip)", "defender.network_event is indexed (want object (disabled))"},
			conflicts: 4,
		},
		"existing empty index without template": {
			mapping: `{"ops-alerts":{"mappings":{}}}`, exists: true,
			problems: []string{"@timestamp is not mapped", "event.id is not mapped", "host.name is not mapped",
				"source.ip is not mapped", "destination.port is not mapped", "defender.network_event is not mapped"},
		},
		"missing index a template would map": {
			simulate: `{"template":{"settings":{},"mappings":` + string(bundled) + `,"aliases":{}},"overlapping":[]}`,
		},
		"missing index no template matches": {
			simulate: `{}`, problems: []string{"no index template matches it"},
		},
		"alias over two backing indices, one dynamic": {
			mapping: `{"ops-alerts-000001":{"mappings":` + dynamicMapping + `},"ops-alerts-000002":{"mappings":` + string(bundled) + `}}`, exists: true,
			problems:  []string{"ops-alerts-000001: event.id is text", "ops-alerts-000001: host.name", "ops-alerts-000001: source.ip", "ops-alerts-000001: defender.network_event"},
			conflicts: 4,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var paths []string
			c := NewClient(DoerFunc(func(_ context.Context, req Request) (*Response, error) {
				paths = append(paths, req.Method+" "+req.Path)
				switch {
				case req.Method == http.MethodGet && req.Path == "/ops-alerts/_mapping":
					if tc.mapping == "" {
						return &Response{Status: 404, Body: []byte(notFound)}, nil
					}
					return &Response{Status: 200, Body: []byte(tc.mapping)}, nil
				case req.Method == http.MethodPost && req.Path == "/_index_template/_simulate_index/ops-alerts":
					return &Response{Status: 200, Body: []byte(tc.simulate)}, nil
				}
				return &Response{Status: 400, Body: []byte(`{"error":"unexpected"}`)}, nil
			}), ServerInfo{Flavor: OpenSearch})
			m, err := CheckAlertIndex(context.Background(), c, "ops-alerts")
			if err != nil {
				t.Fatalf("%v (requests %v)", err, paths)
			}
			if m.Exists != tc.exists {
				t.Errorf("exists %v, want %v", m.Exists, tc.exists)
			}
			if len(m.Problems) != len(tc.problems) {
				t.Fatalf("problems %q, want %d like %q", m.Problems, len(tc.problems), tc.problems)
			}
			for i, want := range tc.problems {
				if !strings.Contains(m.Problems[i], want) {
					t.Errorf("problem %d %q, want it to contain %q", i, m.Problems[i], want)
				}
			}
			if m.Conflicts != tc.conflicts {
				t.Errorf("conflicts %d, want %d (problems %q)", m.Conflicts, tc.conflicts, m.Problems)
			}
			if m.OK() != (len(tc.problems) == 0) {
				t.Errorf("OK() = %v with problems %q", m.OK(), m.Problems)
			}
		})
	}
}

// TestCheckAlertIndexUnknownIsAnError: a refusal (no privilege to read
// the mapping) is not "unmapped": the answer is unknown.
func TestCheckAlertIndexUnknownIsAnError(t *testing.T) {
	c := NewClient(DoerFunc(func(context.Context, Request) (*Response, error) {
		return &Response{Status: 403, Body: []byte(`{"error":{"type":"security_exception","reason":"action [indices:admin/mappings/get] is unauthorized"},"status":403}`)}, nil
	}), ServerInfo{Flavor: Elasticsearch})
	if _, err := CheckAlertIndex(context.Background(), c, "ops-alerts"); err == nil {
		t.Fatal("want an error when the mapping cannot be read")
	}
}
