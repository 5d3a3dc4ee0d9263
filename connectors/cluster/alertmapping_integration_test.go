package cluster_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/connectors/cluster/clustertest"
	"github.com/edgewatch/edgewatch/dashboards"
)

// TestAlertMappingWarning: the alert writer warns that alerts will be
// mapped dynamically only when the cluster says so (issue 12, item 7: a
// healthy run warned on every run). Against both real clusters, both ways.
func TestAlertMappingWarning(t *testing.T) {
	clustertest.Run(t, func(t *testing.T, tg clustertest.Target) {
		ctx := context.Background()
		// The bundled alert template, as install puts it (same name and
		// body, so this is idempotent with every other test's install).
		tmpl, ok := dashboards.IndexTemplate(dashboards.AlertsTemplate)
		if !ok {
			t.Fatalf("bundled template %s missing", dashboards.AlertsTemplate)
		}
		clustertest.Call(t, tg.Client, http.MethodPut, "/_index_template/"+tmpl.Name, json.RawMessage(tmpl.Body), nil)
		tests := []struct {
			name     string
			prefix   string
			setup    func(t *testing.T, index string)
			wantWarn string // "" = no warning
		}{
			{name: "edgewatch-alerts index from the installed template", prefix: "edgewatch-alerts-mapok"},
			{name: "existing edgewatch-alerts index", prefix: "edgewatch-alerts-mapexists", setup: func(t *testing.T, index string) {
				clustertest.Call(t, tg.Client, http.MethodPut, "/"+index, nil, nil)
			}},
			{name: "other name covered by a template of its own", prefix: "ew-ownmap", setup: func(t *testing.T, index string) {
				// What install --alert-index does: the alert template's
				// mappings under a template matching just this index.
				_, mappings := clustertest.AlertTemplate(t)
				own := index + "-tmpl"
				clustertest.Call(t, tg.Client, http.MethodPut, "/_index_template/"+own, map[string]any{
					"index_patterns": []string{index}, "priority": 1000,
					"template": map[string]any{"mappings": mappings},
				}, nil)
				t.Cleanup(func() {
					_ = tg.Client.Call(context.Background(), "cleanup", cluster.Request{Method: http.MethodDelete, Path: "/_index_template/" + own}, nil)
				})
			}},
			{name: "no template matches", prefix: "ew-nomap", wantWarn: "no index template matches it"},
			{name: "existing index mapped dynamically", prefix: "ew-dynmap", wantWarn: "source.ip is text (want ip)", setup: func(t *testing.T, index string) {
				clustertest.Call(t, tg.Client, http.MethodPut, "/"+index+"/_doc/x", map[string]any{"source": map[string]any{"ip": "192.0.2.1"}}, nil)
			}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				index := clustertest.Name(t, tg, tc.prefix)
				if tc.setup != nil {
					tc.setup(t, index)
				}
				var logs bytes.Buffer
				c := cluster.NewClient(tg.Client.Doer(), tg.Client.Info(), cluster.WithLogger(jsonLogger(&logs)))
				w := cluster.NewAlertWriter(c, index, cluster.BulkOptions{})
				for range 2 { // the check runs once per writer
					// Dynamic mappings may refuse the alerts (the reason
					// for the warning); a healthy index takes them.
					if _, err := w.Write(ctx, testAlerts(3, tc.prefix)); err != nil && tc.wantWarn == "" {
						t.Fatal(err)
					}
				}
				warnings := strings.Count(logs.String(), `"level":"WARN"`)
				switch {
				case tc.wantWarn == "" && warnings != 0:
					t.Errorf("warned on a healthy index:\n%s", logs.String())
				case tc.wantWarn != "" && (warnings != 1 || !strings.Contains(logs.String(), tc.wantWarn)):
					t.Errorf("want one warning containing %q, got:\n%s", tc.wantWarn, logs.String())
				}
			})
		}
	})
}

func jsonLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
