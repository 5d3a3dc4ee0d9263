package cluster_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/connectors"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/connectors/conformance"
	"github.com/edgewatch/edgewatch/correlation"
)

// Integration tests of the cluster source against the real servers
// (EDGEWATCH_OPENSEARCH_URL / EDGEWATCH_ELASTICSEARCH_URL); the behaviour
// every Source shares is in connectors/conformance.

var flavors = []cluster.Flavor{cluster.OpenSearch, cluster.Elasticsearch}

func newSource(t *testing.T, tg conformance.Target, di, ev string, page int) *cluster.Source {
	t.Helper()
	src, err := cluster.NewClientSource(tg.Client, cluster.SourceConfig{
		DeviceInfoIndex: di, NetworkEventsIndex: ev, Profile: cluster.ProfileAdvancedHunting,
		PageSize: page, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func facingAF(port int) string {
	return fmt.Sprintf(`{"InternetFacingReason":"ExternalNetworkConnection","InternetFacingLocalIp":"10.0.0.4","InternetFacingLocalPort":%d,"InternetFacingTransportProtocol":"Tcp","InternetFacingLastSeen":"2025-03-04T10:00:00.1234567Z"}`, port)
}

// Many rows with equal timestamps over three shards, read seven at a time:
// every row exactly once, streamed (Elasticsearch tiebreaks on _shard_doc,
// OpenSearch 2.x on _id after its one-page probe) or as the latest row per
// pair (250 devices on one port: the group is collapsed a few devices at a
// time).
func TestStreamManyShards(t *testing.T) {
	for _, f := range flavors {
		t.Run(string(f), func(t *testing.T) {
			tg := conformance.TestTarget(t, f)
			idx := conformance.UniqueIndex("edgewatch-it-stream")
			conformance.CreateIndex(t, tg, idx, map[string]any{"settings": map[string]any{"number_of_shards": 3, "number_of_replicas": 0}})
			const n = 250
			var docs []conformance.Doc
			for i := range n {
				docs = append(docs, conformance.Doc{Index: idx, Source: map[string]any{
					"Timestamp": fmt.Sprintf("2025-03-05T08:00:%02dZ", i%5), // heavy ties
					"DeviceId":  fmt.Sprintf("dev-%03d", i), "IsInternetFacing": true,
					"AdditionalFields": facingAF(3389),
				}})
			}
			if err := conformance.Bulk(context.Background(), tg.Doer(), docs, true); err != nil {
				t.Fatal(err)
			}
			for _, mode := range []string{cluster.FacingReadRows, cluster.FacingReadAuto} {
				t.Run(mode, func(t *testing.T) {
					src, err := cluster.NewClientSource(tg.Client, cluster.SourceConfig{
						DeviceInfoIndex: idx, NetworkEventsIndex: idx, Profile: cluster.ProfileAdvancedHunting,
						PageSize: 7, FacingRead: mode, Logger: slog.New(slog.DiscardHandler),
					})
					if err != nil {
						t.Fatal(err)
					}
					seen := map[string]int{}
					var last time.Time
					var progressed int64
					rep, err := src.DeviceInfo(context.Background(), connectors.FacingQuery{
						Progress: func(done, total int64, unit string) {
							if mode == cluster.FacingReadRows && (total != n || unit != "rows") {
								t.Errorf("progress total %d %s, want %d rows", total, unit, n)
							}
							progressed = done
						},
					}, func(row *correlation.DeviceInfo) error {
						seen[row.DeviceID]++
						if row.Time.Before(last) {
							t.Errorf("rows out of time order: %s after %s", row.Time, last)
						}
						last = row.Time
						return nil
					})
					if err != nil {
						t.Fatal(err)
					}
					t.Logf("facing plan %+v", src.LastFacingPlan())
					if len(seen) != n || rep.Read != n || rep.Passed != n || progressed != n {
						t.Errorf("distinct %d, read %d, passed %d, progress %d; want %d", len(seen), rep.Read, rep.Passed, progressed, n)
					}
					for id, c := range seen {
						if c != 1 {
							t.Errorf("%s read %d times", id, c)
						}
					}
				})
			}
		})
	}
}

// An index whose index.max_terms_count is 4: the device, port and remote
// terms must be cut into chunks of at most 4, or the server refuses the
// query.
func TestTermsChunksUnderIndexLimit(t *testing.T) {
	for _, f := range flavors {
		t.Run(string(f), func(t *testing.T) {
			tg := conformance.TestTarget(t, f)
			ctx := context.Background()
			base := conformance.UniqueIndex("edgewatch-it-chunks")
			di, ev := base+"-di", base+"-ev"
			settings := map[string]any{"settings": map[string]any{"number_of_shards": 1, "number_of_replicas": 0, "index.max_terms_count": 4}}
			conformance.CreateIndex(t, tg, di, settings)
			conformance.CreateIndex(t, tg, ev, settings)

			var docs []conformance.Doc
			set := correlation.NewIndicatorSet("it")
			report := 0
			for d := range 6 {
				dev := fmt.Sprintf("dev-%d", d)
				docs = append(docs, conformance.Doc{Index: di, Source: map[string]any{
					"Timestamp": "2025-03-05T08:00:00Z", "DeviceId": dev, "IsInternetFacing": true,
					"AdditionalFields": facingAF(3389 + d),
				}})
				for r := range 3 {
					remote := netip.AddrFrom4([4]byte{77, 90, byte(d), byte(r + 1)})
					report++
					docs = append(docs, conformance.Doc{Index: ev, Source: map[string]any{
						"Timestamp": "2025-03-10T08:00:00Z", "DeviceId": dev, "ActionType": correlation.ActionInboundAccepted,
						"RemoteIP": remote.String(), "LocalPort": 3389 + d, "ReportId": report,
					}})
					if r == 0 { // one indicator per device: 6 indicators, 12 terms on a keyword field
						set.Add(correlation.Indicator{Prefix: netip.PrefixFrom(remote, 32), Level: 1}, false)
					}
				}
			}
			if err := conformance.Bulk(ctx, tg.Doer(), docs, true); err != nil {
				t.Fatal(err)
			}
			src := newSource(t, tg, di, ev, 100)
			var b correlation.FacingBuilder
			if _, err := src.DeviceInfo(ctx, connectors.FacingQuery{}, func(r *correlation.DeviceInfo) error { b.Add(r); return nil }); err != nil {
				t.Fatal(err)
			}
			fs := b.Build()
			if fs.Len() != 6 {
				t.Fatalf("facing pairs %d, want 6", fs.Len())
			}
			m := correlation.NewMatcher(fs, set, correlation.MatchOptions{})
			var matched []string
			_, err := src.NetworkEvents(ctx, connectors.EventQuery{
				From: time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC), To: time.Date(2025, 3, 11, 0, 0, 0, 0, time.UTC),
				Facing: fs, Indicators: set,
			}, func(e *correlation.NetworkEvent) error {
				if _, _, ok := m.Match(e); ok {
					matched = append(matched, e.ReportID)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			plan := src.LastEventPlan()
			t.Logf("plan %+v", plan)
			if plan.MaxTerms != 4 {
				t.Errorf("max terms %d, want the index setting 4", plan.MaxTerms)
			}
			if plan.Strategy != cluster.StrategyIndicatorsFirst || plan.Chunks != 3 {
				t.Errorf("strategy %s in %d chunks, want indicators-first in 3 chunks of 4 terms", plan.Strategy, plan.Chunks)
			}
			slices.Sort(matched)
			if want := []string{"1", "10", "13", "16", "4", "7"}; !slices.Equal(matched, want) {
				t.Errorf("matched %v, want %v", matched, want)
			}
		})
	}
}

// AdditionalFields mapped as a keyword that ignores long values: an exists
// or wildcard query would miss rows, so the presence test stays client-side
// and every facing row is still found.
func TestKeywordAdditionalFields(t *testing.T) {
	for _, f := range flavors {
		t.Run(string(f), func(t *testing.T) {
			tg := conformance.TestTarget(t, f)
			idx := conformance.UniqueIndex("edgewatch-it-kwaf")
			conformance.CreateIndex(t, tg, idx, map[string]any{
				"settings": map[string]any{"number_of_shards": 1, "number_of_replicas": 0},
				"mappings": map[string]any{"properties": map[string]any{
					"AdditionalFields": map[string]any{"type": "keyword", "ignore_above": 64},
					"Timestamp":        map[string]any{"type": "date"},
					"DeviceId":         map[string]any{"type": "keyword"},
				}},
			})
			docs := []conformance.Doc{
				{Index: idx, Source: map[string]any{"Timestamp": "2025-03-05T08:00:00Z", "DeviceId": "dev-long", "IsInternetFacing": true, "AdditionalFields": facingAF(3389)}},
				{Index: idx, Source: map[string]any{"Timestamp": "2025-03-05T08:00:00Z", "DeviceId": "dev-short", "IsInternetFacing": true, "AdditionalFields": `{"InternetFacingLocalPort":443}`}},
				{Index: idx, Source: map[string]any{"Timestamp": "2025-03-05T09:00:00Z", "DeviceId": "dev-heartbeat", "IsInternetFacing": false}},
			}
			if err := conformance.Bulk(context.Background(), tg.Doer(), docs, true); err != nil {
				t.Fatal(err)
			}
			src := newSource(t, tg, idx, idx, 10)
			var b correlation.FacingBuilder
			if _, err := src.DeviceInfo(context.Background(), connectors.FacingQuery{}, func(r *correlation.DeviceInfo) error { b.Add(r); return nil }); err != nil {
				t.Fatal(err)
			}
			var got []string
			for fp := range b.Build().All() {
				got = append(got, fmt.Sprintf("%s:%d", fp.DeviceID, fp.Port))
			}
			if want := []string{"dev-long:3389", "dev-short:443"}; !slices.Equal(got, want) {
				t.Errorf("facing %v, want %v", got, want)
			}
		})
	}
}
