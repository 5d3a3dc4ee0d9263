package stack_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/stack"
	"github.com/edgewatch/edgewatch/connectors/cluster/clustertest"
	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/internal/testenv"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// BenchmarkLoadFeedLevel1 loads the real IPsum levels/1.txt (~120k
// addresses) into a fresh lookup index per iteration (alias swap included)
// and reads it back. Run: go test -run '^$' -bench LoadFeedLevel1
// -benchtime 1x ./connectors/cluster/ (with the cluster env set).
func BenchmarkLoadFeedLevel1(b *testing.B) {
	path := filepath.Join(testenv.IPsumDir(b), "levels", "1.txt")
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	set := correlation.NewIndicatorSet("ipsum")
	if _, err := correlation.ParseFeed(f, path, correlation.FeedOptions{LevelHint: 1}, set); err != nil {
		b.Fatal(err)
	}
	f.Close()
	for _, fl := range clustertest.Flavors {
		b.Run(string(fl.Flavor), func(b *testing.B) {
			tg := clustertest.Connect(b, fl.Flavor)
			name := "bench-level1"
			b.Cleanup(func() { clustertest.DeleteIndices(b, tg, wire.IndicatorIndexPrefix+name+"-*") })
			ctx := context.Background()
			opts := stack.LoadOptions{}
			if n, err := strconv.Atoi(os.Getenv("EDGEWATCH_BENCH_BULK_DOCS")); err == nil {
				opts.Bulk.MaxDocs = n
			}
			for b.Loop() {
				res, err := stack.LoadFeed(ctx, tg.Client, name, set.All(), opts)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(res.Written), "indicators")
				b.ReportMetric(res.Duration.Seconds(), "load-s")
				start := time.Now()
				got, err := stack.ReadIndicators(ctx, tg.Client, name)
				b.ReportMetric(time.Since(start).Seconds(), "read-s")
				if err != nil || got.Len() != set.Len() {
					b.Fatalf("read back %v: %v", got.Len(), err)
				}
			}
		})
	}
}
