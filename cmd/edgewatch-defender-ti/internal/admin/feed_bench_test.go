package admin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgewatch/edgewatch/connectors/cluster/clustertest"
	"github.com/edgewatch/edgewatch/connectors/conformance"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// BenchmarkFeedLoadLevel1 loads IPsum levels/1.txt (≈120k indicators) with
// feed.load into each cluster: a first load, then a reload of the same
// file (which reads the live feed to carry first_seen over). Run it alone:
//
//	go test ./cmd/edgewatch-defender-ti/internal/admin -run '^$' -bench FeedLoadLevel1 -benchtime 1x
//
// The IPsum directory is $EDGEWATCH_IPSUM_DIR (default
// ../../../shared/data/ipsum).
func BenchmarkFeedLoadLevel1(b *testing.B) {
	dir := os.Getenv("EDGEWATCH_IPSUM_DIR")
	if dir == "" {
		dir = "../../../../../shared/data/ipsum"
	}
	file := filepath.Join(dir, "levels", "1.txt")
	if _, err := os.Stat(file); err != nil {
		b.Skipf("IPsum levels/1.txt not found (%v): set EDGEWATCH_IPSUM_DIR", err)
	}
	for _, f := range clustertest.Flavors {
		b.Run(string(f.Flavor), func(b *testing.B) {
			tg := clustertest.Connect(b, f.Flavor)
			s := settingsFor(tg)
			name := "tbench" + strings.TrimPrefix(conformance.UniqueIndex("x"), "x-")
			b.Cleanup(func() { clustertest.DeleteIndices(b, tg, wire.FeedAlias(name)+"-*") })
			args := wire.FeedLoadArgs{Settings: s, File: file, Name: name}
			load := func(b *testing.B) int {
				r, err := callOp(realDeps(tg.Client), wire.OpFeedLoad, args, nil, nil)
				if err != nil {
					b.Fatal(err)
				}
				return r.Loaded
			}
			b.Run("first", func(b *testing.B) {
				n := 0
				for b.Loop() {
					n += load(b)
					// Every iteration must be a first load.
					b.StopTimer()
					clustertest.DeleteIndices(b, tg, wire.FeedAlias(name)+"-*")
					b.StartTimer()
				}
				b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "indicators/s")
			})
			b.Run("reload", func(b *testing.B) {
				load(b) // the live feed the reloads replace
				n := 0
				for b.Loop() {
					n += load(b)
				}
				b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "indicators/s")
			})
		})
	}
}
