package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/connectors/cluster/clustertest"
	"github.com/edgewatch/edgewatch/dashboards"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// Issue 12, items 8 and 9, through the built binaries against the real
// OpenSearch and Elasticsearch.

// TestInstallAlertIndexOutsidePattern: `install --alert-index ops-alerts`
// (a write alias whose backing indices edgewatch-alerts-* does not match)
// puts a template for the alias (and one for its findings alias) derived
// from the alert template, so the alias is created with the alert mapping —
// source.ip an ip, the raw Defender row not indexed — and keeps it after
// alerts are written; the alert mapping check agrees before and after.
// (Uninstall's removal of derived templates is tested in package stack, so
// this test never removes the shared bundled templates.)
func TestInstallAlertIndexOutsidePattern(t *testing.T) {
	clustertest.Run(t, func(t *testing.T, tg clustertest.Target) {
		binaries(t)
		ctx := context.Background()
		ca := clusterArgs(t, tg)
		index := "ops-alerts-" + randSuffix()
		findings := wire.FindingsAlias(index)
		tmplName, findingsTmpl := "edgewatch-alert-index-"+index, "edgewatch-alert-index-"+findings
		t.Cleanup(func() {
			clustertest.DeleteIndices(t, tg, index, findings)
			for _, n := range []string{tmplName, findingsTmpl} {
				_, _ = tg.Client.Do(context.Background(), cluster.Request{Method: http.MethodDelete, Path: "/_index_template/" + n})
			}
		})

		before, err := cluster.CheckAlertIndex(ctx, tg.Client, index)
		if err != nil || before.OK() || before.Exists {
			t.Fatalf("before install: %v, %v: want a missing index no alert template matches", before, err)
		}

		out, _ := mustHost(t, append([]string{"install", "--json", "--alert-index", index}, ca...)...)
		r := decodeJSON[stepsResult](t, "install", out)
		for _, want := range []struct{ step, target, outcome string }{
			{"index template", tmplName, "ok"},
			{"write alias", index, "ok"},
			{"alert mapping", index, "ok"},
			{"index template", findingsTmpl, "ok"},
			{"write alias", findings, "ok"},
		} {
			if got := r.outcome(want.step, want.target); got != want.outcome {
				t.Errorf("%s %s: %s, want %s\n%s", want.step, want.target, got, want.outcome, out)
			}
		}
		if r.Failed != 0 {
			t.Errorf("install failed steps: %s", out)
		}

		// Alerts written into it (the raw row included) keep the mapping.
		doc := map[string]any{"@timestamp": "2026-01-02T03:04:05Z", "event": map[string]any{"id": "e2e-1"},
			"source": map[string]any{"ip": "203.0.113.9"}, "host": map[string]any{"name": "web-1"},
			"destination": map[string]any{"port": 443},
			"defender":    map[string]any{"network_event": map[string]any{"RemoteIP": "203.0.113.9", "Extra": "x"}}}
		if st := get(t, tg, http.MethodPut, "/"+index+"/_create/e2e-1", map[string][]string{"refresh": {"true"}}, doc, nil); st != 201 {
			t.Fatalf("write alert: HTTP %d", st)
		}
		var raw json.RawMessage
		get(t, tg, http.MethodGet, "/"+index+"/_mapping", nil, nil, &raw)
		server, err := dashboards.FlattenMapping(raw)
		if err != nil {
			t.Fatal(err)
		}
		if server["source.ip"] != "ip" || server["host.name"] != "keyword" {
			t.Errorf("server mapping: source.ip %q host.name %q, want ip / keyword", server["source.ip"], server["host.name"])
		}
		if _, indexed := server["defender.network_event.RemoteIP"]; indexed {
			t.Error("the raw Defender row was indexed")
		}
		after, err := cluster.CheckAlertIndex(ctx, tg.Client, index)
		if err != nil || !after.OK() || !after.Exists {
			t.Errorf("after install: %v, %v", after, err)
		}

		// Idempotent (for this index's steps: the shared bundled templates
		// may be re-put meanwhile by other suites on the same servers).
		out, _ = mustHost(t, append([]string{"install", "--json", "--alert-index", index}, ca...)...)
		r = decodeJSON[stepsResult](t, "second install", out)
		for _, s := range r.Steps {
			if strings.Contains(s.Target, index) && s.Outcome != wire.StepAlreadyPresent {
				t.Errorf("second install: %s %s: %s (%s)", s.Step, s.Target, s.Outcome, s.Detail)
			}
		}

	})
}

// TestInstallRefusesDynamicallyMappedAlertIndex: an alert index that was
// auto-created with dynamic mapping before any template cannot be fixed
// by a template: install does not migrate it into a write alias (its clone
// would keep the mapping), says so in the alert mapping step and fails.
func TestInstallRefusesDynamicallyMappedAlertIndex(t *testing.T) {
	clustertest.Run(t, func(t *testing.T, tg clustertest.Target) {
		binaries(t)
		ca := clusterArgs(t, tg)
		index := "ops-dynamic-" + randSuffix()
		findings := wire.FindingsAlias(index)
		t.Cleanup(func() {
			clustertest.DeleteIndices(t, tg, index, findings)
			for _, n := range []string{index, findings} {
				_, _ = tg.Client.Do(context.Background(), cluster.Request{Method: http.MethodDelete, Path: "/_index_template/edgewatch-alert-index-" + n})
			}
		})
		doc := map[string]any{"source": map[string]any{"ip": "203.0.113.9"}, "defender": map[string]any{"network_event": map[string]any{"a": 1}}}
		if st := get(t, tg, http.MethodPut, "/"+index+"/_doc/1", map[string][]string{"refresh": {"true"}}, doc, nil); st != 201 {
			t.Fatalf("seed dynamic index: HTTP %d", st)
		}
		code, out, _ := host(t, "", append([]string{"install", "--json", "--alert-index", index}, ca...)...)
		if code == 0 {
			t.Errorf("install over a dynamically mapped alert index exited 0:\n%s", out)
		}
		r := decodeJSON[stepsResult](t, "install", out)
		var detail string
		for _, s := range r.Steps {
			if s.Step == "alert mapping" {
				detail = s.Detail
			}
		}
		if r.outcome("alert mapping", index) != "failed" || !strings.Contains(detail, "source.ip is text (want ip)") ||
			!strings.Contains(detail, "defender.network_event is indexed") || !strings.Contains(detail, "delete it") {
			t.Errorf("alert mapping step %q: %q", r.outcome("alert mapping", index), detail)
		}
		if got := r.outcome("write alias", index); got != "failed" {
			t.Errorf("write alias step %q over a dynamically mapped index, want failed (not migrated)", got)
		}
		if n := clustertest.Count(t, tg.Client, index); n != 1 {
			t.Errorf("%s holds %d documents after install, want its 1", index, n)
		}
	})
}

// TestMissingInputIsOneLine: a DeviceInfo or network events index (or a
// pattern) that matches nothing, and an indicator feed never loaded, are
// said in one short line naming the flag and the name — not a list of
// field names ending in "404: {}" — and the run fails.
func TestMissingInputIsOneLine(t *testing.T) {
	clustertest.Run(t, func(t *testing.T, tg clustertest.Target) {
		binaries(t)
		ca := clusterArgs(t, tg)
		suffix := randSuffix()
		existing := clustertest.Name(t, tg, "edgewatch-e2e-empty")
		get(t, tg, http.MethodPut, "/"+existing, nil, nil, nil)
		feed := "../../testdata/ipsum/levels/4.txt"
		cases := map[string]struct {
			args []string
			want []string
		}{
			"network events index missing": {
				args: []string{"--device-info-index", existing, "--network-events-index", "nope-ne-" + suffix, "--feed", feed},
				want: []string{"--network-events-index", "nope-ne-" + suffix, "no index"},
			},
			"device info index missing": {
				args: []string{"--device-info-index", "nope-di-" + suffix, "--network-events-index", existing, "--feed", feed},
				want: []string{"--device-info-index", "nope-di-" + suffix, "no index"},
			},
			"pattern matching nothing": {
				args: []string{"--device-info-index", existing, "--network-events-index", "nope-" + suffix + "-*", "--feed", feed},
				want: []string{"--network-events-index", "no index matches nope-" + suffix + "-*"},
			},
			"feed not loaded": {
				args: []string{"--device-info-index", existing, "--network-events-index", existing, "--indicator-feed", "nofeed" + suffix},
				want: []string{"--indicator-feed", "feed nofeed" + suffix + " is not loaded", "edgewatch feed load --name nofeed" + suffix},
			},
		}
		for name, tc := range cases {
			t.Run(name, func(t *testing.T) {
				args := append(append([]string{"run", "--from", "-1h", "--to", "now", "--out", "-"}, ca...), tc.args...)
				code, _, stderr := host(t, "", args...)
				if code == 0 {
					t.Fatalf("exit 0, stderr:\n%s", stderr)
				}
				var line string
				for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
					if strings.HasPrefix(l, "edgewatch: ") {
						line = l
					}
				}
				for _, w := range tc.want {
					if !strings.Contains(line, w) {
						t.Errorf("error line %q lacks %q", line, w)
					}
				}
				if len(line) > 240 || strings.Contains(line, "404") || strings.Contains(line, "ActionType") {
					t.Errorf("error line is not one short line (%d bytes): %q", len(line), line)
				}
				if !strings.Contains(line, "invalid configuration") {
					t.Errorf("error line %q is not classed as a configuration error", line)
				}
			})
		}
	})
}
