package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/stack"
	"github.com/edgewatch/edgewatch/connectors/alertstore"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/connectors/cluster/clustertest"
	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// BenchmarkClusterAlertWrite measures what the write alias and grouping
// cost against the real clusters, on the alert-heavy run's 21,600 alerts
// (EDGEWATCH_BENCH_ALERT_HEAVY names the dataset directory scripts/bench.sh
// generates). Each op writes all of them in the engine's 500-alert batches:
//
//	create         bulk create into a fresh single index (before rollover)
//	alias          alertstore.Writer into a fresh write alias: an ids
//	               lookup across the alias before each batch's create
//	create-rerun   the same alerts again into the single index (all 409)
//	alias-rerun    the same alerts again through the alias (all found by
//	               the lookup; nothing sent to _bulk)
//	grouped        GroupStore into fresh aliases: the alerts as evidence,
//	               then one grouped alert per (host.id, source.ip,
//	               destination.port, 24h)
//	grouped-rerun  the same again (evidence present, groups unchanged)
//	grouped-few    GroupStore by (host.id, destination.port) per 24h: a
//	               few hundred groups, the shape grouping is for
//
//	EDGEWATCH_BENCH_ALERT_HEAVY=$PWD/.cache/bench/alert-heavy-s1-f1 \
//	  go test ./cmd/edgewatch-defender-ti/internal/engine -run '^$' -bench ClusterAlertWrite -benchtime 3x
func BenchmarkClusterAlertWrite(b *testing.B) {
	dir := os.Getenv("EDGEWATCH_BENCH_ALERT_HEAVY")
	if dir == "" {
		b.Skip("EDGEWATCH_BENCH_ALERT_HEAVY is not set")
	}
	feed, _ := filepath.Abs("../../../../testdata/ipsum/levels/1.txt")
	col := benchObserver{keep: true}
	s := wire.Settings{DeviceInfo: []string{filepath.Join(dir, "device_info.ndjson")},
		NetworkEvents: []string{filepath.Join(dir, "network_events.ndjson")}, Feeds: []string{feed}}
	if _, err := Run(context.Background(), s, nil, &col); err != nil {
		b.Fatal(err)
	}
	alerts := col.alerts
	spec, _ := correlation.NewGroupSpec(groupBy, 24*time.Hour)
	few, _ := correlation.NewGroupSpec([]string{"host.id", "destination.port"}, 24*time.Hour)
	var cur correlation.GroupSpec // the grouping the alerts' group ids are of
	setGroups := func(g correlation.GroupSpec) {
		for _, a := range alerts {
			a.Edgewatch.GroupID = g.ID(DefaultRuleID, g.KeyOf(a))
		}
		cur = g
	}
	setGroups(spec)
	b.Logf("%d alerts", len(alerts))

	for _, f := range clustertest.Flavors {
		b.Run(string(f.Flavor), func(b *testing.B) {
			tg := clustertest.Connect(b, f.Flavor)
			ctx := context.Background()
			c := tg.Client
			if _, err := stack.InstallTemplates(ctx, c, stack.TemplateOptions{}); err != nil {
				b.Fatal(err)
			}
			n := 0
			fresh := func() string {
				n++
				name := fmt.Sprintf("edgewatch-alerts-bench%d-%d", time.Now().UnixNano()%1e6, n)
				b.Cleanup(func() { clustertest.DeleteIndices(b, tg, name, name+"-*", wire.FindingsAlias(name)+"-*") })
				return name
			}
			plain := func(index string) {
				docs := make([]cluster.Doc, 0, BatchSize)
				for start := 0; start < len(alerts); start += BatchSize {
					docs = docs[:0]
					for _, a := range alerts[start:min(start+BatchSize, len(alerts))] {
						docs = append(docs, cluster.Doc{ID: a.Event.ID, Source: a.AppendJSON(nil)})
					}
					if _, err := c.BulkCreate(ctx, index, docs, cluster.BulkOptions{}); err != nil {
						b.Fatal(err)
					}
				}
			}
			alias := func(name string) connectorsResult {
				w := alertstore.NewWriter(c, name, alertstore.Options{})
				var r connectorsResult
				for start := 0; start < len(alerts); start += BatchSize {
					res, err := w.Write(ctx, alerts[start:min(start+BatchSize, len(alerts))])
					if err != nil {
						b.Fatal(err)
					}
					r.created += res.Created
					r.present += res.AlreadyPresent
				}
				return r
			}
			grouped := func(name string) alertstore.GroupResult {
				st := alertstore.NewGroupStore(c, cur, DefaultRuleID, name, wire.FindingsAlias(name), alertstore.Options{})
				for start := 0; start < len(alerts); start += BatchSize {
					if _, err := st.Evidence(ctx, alerts[start:min(start+BatchSize, len(alerts))]); err != nil {
						b.Fatal(err)
					}
				}
				res, err := st.Flush(ctx, time.Now(), "bench", nil)
				if err != nil {
					b.Fatal(err)
				}
				return res
			}
			b.Run("create", func(b *testing.B) {
				for b.Loop() {
					plain(fresh())
				}
			})
			b.Run("alias", func(b *testing.B) {
				for b.Loop() {
					if r := alias(fresh()); r.created != len(alerts) {
						b.Fatalf("created %d", r.created)
					}
				}
			})
			idx := fresh()
			plain(idx)
			b.Run("create-rerun", func(b *testing.B) {
				for b.Loop() {
					plain(idx)
				}
			})
			al := fresh()
			alias(al)
			b.Run("alias-rerun", func(b *testing.B) {
				for b.Loop() {
					if r := alias(al); r.created != 0 || r.present != len(alerts) {
						b.Fatalf("rerun created %d", r.created)
					}
				}
			})
			b.Run("grouped", func(b *testing.B) {
				for b.Loop() {
					if r := grouped(fresh()); r.Created == 0 {
						b.Fatalf("groups %+v", r)
					}
				}
			})
			gr := fresh()
			grouped(gr)
			b.Run("grouped-rerun", func(b *testing.B) {
				for b.Loop() {
					if r := grouped(gr); r.Created != 0 || r.Updated != 0 {
						b.Fatalf("rerun %+v", r)
					}
				}
			})
			setGroups(few)
			defer setGroups(spec)
			b.Run("grouped-few", func(b *testing.B) {
				for b.Loop() {
					r := grouped(fresh())
					b.ReportMetric(float64(r.Created), "groups")
				}
			})
		})
	}
}

type connectorsResult struct{ created, present int }
