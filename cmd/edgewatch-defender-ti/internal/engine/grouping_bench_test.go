package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// benchObserver takes the batches as the detector does (their NDJSON is
// what it sends) and, when keep is set, keeps each alert as its document
// says (the raw Defender row included, which the batch's alerts no longer
// carry in file mode).
type benchObserver struct {
	keep   bool
	alerts []*correlation.Alert
	bytes  int
}

func (o *benchObserver) Progress(wire.Progress) {}
func (o *benchObserver) Alerts(_ context.Context, batch Batch) error {
	o.bytes += len(batch.NDJSON)
	if !o.keep {
		return nil
	}
	for line := range bytes.Lines(batch.NDJSON) {
		var a correlation.Alert
		if err := json.Unmarshal(line, &a); err != nil {
			return err
		}
		o.alerts = append(o.alerts, &a)
	}
	return nil
}

// BenchmarkGrouping measures grouping's cost in file mode, in process, on
// the alert-heavy dataset (scripts/bench.sh generates it; point
// EDGEWATCH_BENCH_ALERT_HEAVY at its directory, e.g.
// .cache/bench/alert-heavy-s1-f1): the same run without and with
// --group-by host.id,source.ip,destination.port. Compare with benchstat.
func BenchmarkGrouping(b *testing.B) {
	dir := os.Getenv("EDGEWATCH_BENCH_ALERT_HEAVY")
	if dir == "" {
		b.Skip("EDGEWATCH_BENCH_ALERT_HEAVY is not set")
	}
	feed, _ := filepath.Abs("../../../../testdata/ipsum/levels/1.txt")
	for _, tc := range []struct {
		name    string
		groupBy []string
	}{{"ungrouped", nil}, {"grouped", groupBy}} {
		b.Run(tc.name, func(b *testing.B) {
			s := wire.Settings{DeviceInfo: []string{filepath.Join(dir, "device_info.ndjson")},
				NetworkEvents: []string{filepath.Join(dir, "network_events.ndjson")}, Feeds: []string{feed}, GroupBy: tc.groupBy}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Run(context.Background(), s, nil, &benchObserver{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
