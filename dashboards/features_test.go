package dashboards

import (
	"strings"
	"testing"
)

func TestUnsupported(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   bool
		reason string
	}{
		// Bodies as OpenSearch 2.19 and Elasticsearch 8.19 integ-test
		// distributions answer them.
		{"opensearch without ISM", 400, `{"error":"no handler found for uri [/_plugins/_ism/policies/edgewatch-alerts-retention] and method [PUT]"}`, true, "plugin or module not installed"},
		{"elasticsearch without ILM", 400, `{"error":"no handler found for uri [/_ilm/policy/edgewatch-alerts-retention] and method [PUT]"}`, true, "_ilm/policy"},
		{"watcher on a basic license", 403, `{"error":{"root_cause":[{"type":"security_exception","reason":"current license is non-compliant for [watcher]"}],"type":"security_exception","reason":"current license is non-compliant for [watcher]","license.expired.feature":"watcher"},"status":403}`, true, "license"},
		{"a real bad request", 400, `{"error":{"type":"x_content_parse_exception","reason":"[1:2] [policy] unknown field [phasez]"},"status":400}`, false, ""},
		{"permission denied", 403, `{"error":{"type":"security_exception","reason":"action [cluster:admin/ilm/put] is unauthorized for user [x]"},"status":403}`, false, ""},
		{"server error", 500, `oops`, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reason, ok := Unsupported(tc.status, []byte(tc.body))
			if ok != tc.want || !strings.Contains(reason, tc.reason) {
				t.Errorf("Unsupported = %q, %v; want %v containing %q", reason, ok, tc.want, tc.reason)
			}
		})
	}
}
