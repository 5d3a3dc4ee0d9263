package benchcluster

import (
	"context"
	"os"
	"testing"
	"time"
	"net/http"
	"log/slog"

	"github.com/edgewatch/edgewatch/connectors"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/connectors/opensearch"
	"github.com/edgewatch/edgewatch/correlation"
)

func TestScratch(t *testing.T) {
	if os.Getenv("SCRATCH") == "" {
		t.Skip()
	}
	ctx := context.Background()
	c, err := opensearch.Connect(ctx, cluster.Config{URLs: []string{"http://127.0.0.1:9200"}})
	if err != nil {
		t.Fatal(err)
	}
	di, ev := "bench-deviceinfo-s1-d4000-e2000000", "bench-networkevents-s1-d4000-e2000000"
	ps := 5000
	if v := os.Getenv("PAGE"); v != "" { ps = 10000 }
	src, _ := cluster.NewClientSource(c, cluster.SourceConfig{DeviceInfoIndex: di, NetworkEventsIndex: ev, PageSize: ps, Logger: slog.New(slog.DiscardHandler)})
	from := time.Date(2025, 11, 3, 0, 0, 0, 0, time.UTC)
	win := window{facingFrom: from.Add(-30 * 24 * time.Hour), from: from, to: from.Add(7 * 24 * time.Hour)}
	ind := correlation.NewIndicatorSet("ipsum")
	f, _ := os.Open("/work/shared/data/ipsum/ipsum.txt")
	correlation.ParseFeed(f, "x", correlation.FeedOptions{MinLevel: 1}, ind)
	for i := 0; i < 3; i++ {
		t0 := time.Now()
		n := 0
		var b correlation.FacingBuilder
		rep, err := src.DeviceInfo(ctx, connectors.FacingQuery{From: win.facingFrom, To: win.to}, func(r *correlation.DeviceInfo) error { n++; b.Add(r); return nil })
		if err != nil { t.Fatal(err) }
		fs := b.Build()
		t.Logf("facing %v rows %d read %d", time.Since(t0), n, rep.Read)
		t0 = time.Now()
		q, _ := src.FloorQuery(ctx, connectors.EventQuery{From: win.from, To: win.to, Facing: fs, Indicators: ind})
		t.Logf("floor query build %v (%d bytes)", time.Since(t0), len(q))
		os.WriteFile("/tmp/floorq.json", q, 0o644)
		if os.Getenv("ONLYQ") != "" { return }
		t0 = time.Now()
		cnt, _ := count(ctx, c, ev, q)
		t.Logf("floor count %v = %d", time.Since(t0), cnt)
		t0 = time.Now()
		body := append(append([]byte(`{"size":5000,"_source":true,"track_total_hits":false,"query":`), q...), '}')
		resp, err := c.Do(ctx, cluster.Request{Method: http.MethodPost, Path: "/" + ev + "/_search", Body: body})
		t.Logf("plain search %v status %d bytes %d", time.Since(t0), resp.Status, len(resp.Body))
		t0 = time.Now()
		m := 0
		_, err = src.NetworkEvents(ctx, connectors.EventQuery{From: win.from, To: win.to, Facing: fs, Indicators: ind}, func(*correlation.NetworkEvent) error { m++; return nil })
		p := src.LastEventPlan()
		t.Logf("events %v n=%d measure %d fetch %d", time.Since(t0), m, p.MeasureMS, p.FetchMS)
	}
}
