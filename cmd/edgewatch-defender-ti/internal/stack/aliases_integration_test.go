package stack_test

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/stack"
	"github.com/edgewatch/edgewatch/connectors/alertstore"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/connectors/cluster/clustertest"
	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// migAlerts are n alerts numbered from first.
func migAlerts(first, n int) []*correlation.Alert {
	out := make([]*correlation.Alert, 0, n)
	for i := first; i < first+n; i++ {
		remote := netip.AddrFrom4([4]byte{45, 148, 10, byte(1 + i%200)})
		ev := &correlation.NetworkEvent{Time: time.Date(2026, 5, 1, 0, 0, i, 0, time.UTC), DeviceID: "dev", ReportID: fmt.Sprint(i),
			ActionType: correlation.ActionInboundAccepted, RemoteIP: remote, LocalPort: 443, Raw: []byte(fmt.Sprintf(`{"n":%d}`, i))}
		m := correlation.Match{Remote: remote, Indicator: correlation.Indicator{Prefix: netip.PrefixFrom(remote, 32), Level: 3}}
		out = append(out, correlation.NewAlert(ev, m, correlation.Rule{}, time.Now()))
	}
	return out
}

// aliasIDs lists the ids behind target, sorted, failing on an id held
// twice.
func aliasIDs(t *testing.T, c *cluster.Client, target string) []string {
	t.Helper()
	var out []string
	for _, h := range clustertest.Search[struct{}](t, c, target, map[string]any{"size": 10000, "_source": false}) {
		out = append(out, h.ID)
	}
	sort.Strings(out)
	if d := slices.Compact(slices.Clone(out)); len(d) != len(out) {
		t.Errorf("%s holds %d documents for %d ids", target, len(out), len(d))
	}
	return out
}

func ids(alerts []*correlation.Alert) []string {
	out := make([]string, len(alerts))
	for i, a := range alerts {
		out[i] = a.Event.ID
	}
	sort.Strings(out)
	return out
}

// removeAliasTemplates deletes the templates install puts for alias and its
// findings alias when the test ends.
func removeAliasTemplates(t *testing.T, c *cluster.Client, alias string) {
	t.Cleanup(func() {
		for _, name := range []string{alias, wire.FindingsAlias(alias)} {
			_, _ = c.Do(context.Background(), cluster.Request{Method: http.MethodDelete, Path: "/_index_template/edgewatch-alert-index-" + name})
		}
	})
}

func stepFor(steps []wire.Step, step, target string) wire.Step {
	for _, s := range steps {
		if s.Step == step && s.Target == target {
			return s
		}
	}
	return wire.Step{}
}

// TestInstallMigratesSingleAlertIndex (issue 17): install turns a single
// alert index written before rollover, whose name is the alias's, into the
// first backing index of the write alias without losing an alert: every
// alert is readable through the alias, a rerun of the old alerts writes
// none, new alerts go to the clone, the old mapping gains the new fields,
// and a second install changes nothing. The alias has a custom name (not
// edgewatch-alerts-*): its own template maps it.
func TestInstallMigratesSingleAlertIndex(t *testing.T) {
	clustertest.Run(t, func(t *testing.T, tg clustertest.Target) {
		ctx := context.Background()
		c := tg.Client
		alias := clustertest.Name(t, tg, "ewmig-alerts")
		removeAliasTemplates(t, c, alias)
		// The single index of an older edgewatch, with an older mapping.
		clustertest.Call(t, c, http.MethodPut, "/"+alias, map[string]any{"mappings": map[string]any{"dynamic": false,
			"properties": map[string]any{"@timestamp": map[string]any{"type": "date"}, "event": map[string]any{"properties": map[string]any{"id": map[string]any{"type": "keyword"}}}}}}, nil)
		old := migAlerts(0, 120)
		docs := make([]cluster.Doc, len(old))
		for i, a := range old {
			docs[i] = cluster.Doc{ID: a.Event.ID, Source: a.AppendJSON(nil)}
		}
		if _, err := c.BulkCreate(ctx, alias, docs, cluster.BulkOptions{Refresh: "true"}); err != nil {
			t.Fatal(err)
		}

		steps := stack.Install(ctx, c, stack.InstallOptions{AlertIndex: alias})
		mig := stepFor(steps, "write alias", alias)
		if mig.Outcome != wire.StepUpdated || !strings.Contains(mig.Detail, "migrated the single index (120 documents) into "+alias+"-000001") {
			t.Fatalf("migration step: %s (steps %v)", mig, steps)
		}
		if f := stepFor(steps, "write alias", wire.FindingsAlias(alias)); f.Outcome != wire.StepOK {
			t.Errorf("findings alias: %s", f)
		}
		a, err := alertstore.Resolve(ctx, c, alias)
		if err != nil || a.Concrete || a.Write != alias+"-000001" || len(a.Indices) != 1 {
			t.Fatalf("after the migration %s is %+v (%v)", alias, a, err)
		}
		if got := aliasIDs(t, c, alias); !slices.Equal(got, ids(old)) {
			t.Fatalf("alias holds %d ids, want the %d migrated", len(got), len(old))
		}
		if mt := mappingTypes(t, c, alias+"-000001"); mt["edgewatch.suppression.docs_count"] != "long" || mt["host.id"] != "keyword" {
			t.Errorf("the migrated index lacks the current mapping: %v", mt)
		}

		w := alertstore.NewWriter(c, alias, alertstore.Options{NoBootstrap: true})
		if res, err := w.Write(ctx, old); err != nil || res.Created != 0 || res.AlreadyPresent != len(old) {
			t.Errorf("rerun after the migration: %+v %v", res, err)
		}
		newer := migAlerts(1000, 30)
		if res, err := w.Write(ctx, newer); err != nil || res.Created != len(newer) {
			t.Errorf("new alerts: %+v %v", res, err)
		}
		if got := aliasIDs(t, c, alias); len(got) != len(old)+len(newer) {
			t.Errorf("alias holds %d ids, want %d", len(got), len(old)+len(newer))
		}

		for _, s := range stack.Install(ctx, c, stack.InstallOptions{AlertIndex: alias}) {
			if s.Outcome == wire.StepFailed || s.Outcome == wire.StepUpdated || s.Outcome == wire.StepOK {
				t.Errorf("second install: %s", s)
			}
		}
	})
}

// TestMigrationRefusesAPartialClone: a <alias>-000001 left with fewer
// documents than the index (an interrupted migration) is never swapped in;
// install fails the step and lifts the write block, so runs go on writing
// into the single index.
func TestMigrationRefusesAPartialClone(t *testing.T) {
	clustertest.Run(t, func(t *testing.T, tg clustertest.Target) {
		ctx := context.Background()
		c := tg.Client
		alias := clustertest.Name(t, tg, "ewmig-partial")
		removeAliasTemplates(t, c, alias)
		clustertest.Call(t, c, http.MethodPut, "/"+alias, map[string]any{}, nil)
		clustertest.Call(t, c, http.MethodPut, "/"+alias+"-000001", map[string]any{}, nil)
		docs := []cluster.Doc{{ID: "a", Source: []byte(`{"x":1}`)}, {ID: "b", Source: []byte(`{"x":2}`)}}
		if _, err := c.BulkCreate(ctx, alias, docs, cluster.BulkOptions{Refresh: "true"}); err != nil {
			t.Fatal(err)
		}
		steps := stack.Install(ctx, c, stack.InstallOptions{AlertIndex: alias})
		if s := stepFor(steps, "write alias", alias); s.Outcome != wire.StepFailed || !strings.Contains(s.Detail, "holds 0 documents") {
			t.Errorf("step: %s", s)
		}
		if a, err := alertstore.Resolve(ctx, c, alias); err != nil || !a.Concrete {
			t.Errorf("%s is %+v (%v), want the single index still", alias, a, err)
		}
		if _, err := c.BulkCreate(ctx, alias, []cluster.Doc{{ID: "c", Source: []byte(`{"x":3}`)}}, cluster.BulkOptions{}); err != nil {
			t.Errorf("the index is still blocked: %v", err)
		}
	})
}
