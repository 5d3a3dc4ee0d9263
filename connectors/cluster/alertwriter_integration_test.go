package cluster_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/connectors/cluster/clustertest"
	"github.com/edgewatch/edgewatch/correlation"
)

// Integration tests of the write side (bulk create, the alert writer)
// against the real servers that scripts/cluster.sh starts. Each runs once
// per flavor.

// alertIndex creates a fresh alert index with the bundled alert
// template's settings and mappings (as an installed template would give
// it), without touching the cluster's shared templates.
func alertIndex(t *testing.T, tg clustertest.Target) string {
	t.Helper()
	index := clustertest.Name(t, tg, "edgewatch-alerts-it")
	settings, mappings := clustertest.AlertTemplate(t)
	clustertest.Call(t, tg.Client, http.MethodPut, "/"+index, map[string]any{"settings": settings, "mappings": mappings}, nil)
	return index
}

func testAlerts(n int, runID string) []*correlation.Alert {
	out := make([]*correlation.Alert, n)
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range out {
		a := &correlation.Alert{Timestamp: base.Add(time.Duration(i) * time.Second)}
		a.Event = correlation.AlertEvent{Kind: "alert", Category: []string{"network", "threat"}, Type: []string{"connection", "indicator"},
			Action: correlation.ActionInboundAccepted, ID: fmt.Sprintf("%s-%04d", runID, i), Created: base, Severity: 73,
			Dataset: "edgewatch.alerts", Module: "edgewatch", Provider: "DeviceNetworkEvents", Reason: "test"}
		a.Host = correlation.AlertHost{ID: "dev-1", Name: "web-1"}
		a.Source = correlation.Endpoint{IP: fmt.Sprintf("203.0.113.%d", i%250+1), Port: 40000 + i}
		a.Dest = correlation.Endpoint{IP: "10.0.0.4", Port: 443}
		a.Network = correlation.AlertNetwork{Transport: "tcp", Direction: "inbound"}
		a.Threat.Indicator = correlation.ThreatIndicator{IP: a.Source.IP, Type: "ipv4-addr", Provider: "ipsum"}
		a.Edgewatch.InternetFacing.LocalIP = "::ffff:10.0.0.4"
		a.Edgewatch.InternetFacing.LocalPort = 443
		a.Edgewatch.Indicator = correlation.IndicatorEvidence{Value: a.Source.IP, Count: 5, Level: 5}
		a.Edgewatch.Severity = "high"
		a.Defender.NetworkEvent = json.RawMessage(`{"RemoteIP":"` + a.Source.IP + `","AdditionalFields":{"x":[1,"y"]}}`)
		a.Related.IP = []string{a.Source.IP, a.Dest.IP}
		out[i] = a
	}
	return out
}

func TestAlertWriterRerunWritesNothingNew(t *testing.T) {
	clustertest.Run(t, func(t *testing.T, tg clustertest.Target) {
		ctx := context.Background()
		index := alertIndex(t, tg)
		w := cluster.NewAlertWriter(tg.Client, index, cluster.BulkOptions{MaxDocs: 40})
		alerts := testAlerts(100, "rerun")
		res, err := w.Write(ctx, alerts)
		if err != nil || res.Created != 100 || res.AlreadyPresent != 0 || res.Failed != 0 {
			t.Fatalf("first write: %+v, %v", res, err)
		}
		res, err = w.Write(ctx, alerts)
		if err != nil || res.Created != 0 || res.AlreadyPresent != 100 || res.Failed != 0 {
			t.Fatalf("rerun: %+v, %v", res, err)
		}
		if n := clustertest.Count(t, tg.Client, index); n != 100 {
			t.Fatalf("index holds %d alerts, want 100", n)
		}
		// The stored document is the alert, findable by its typed fields.
		var r cluster.SearchHits[json.RawMessage]
		clustertest.Call(t, tg.Client, "POST", "/"+index+"/_search", map[string]any{
			"query": map[string]any{"bool": map[string]any{"filter": []any{
				map[string]any{"term": map[string]any{"source.ip": "203.0.113.8"}},
				map[string]any{"term": map[string]any{"edgewatch.internet_facing.local_ip": "10.0.0.4"}},
			}}},
		}, &r)
		if len(r.Hits.Hits) != 1 || r.Hits.Hits[0].ID != "rerun-0007" {
			t.Fatalf("search by source.ip found %+v", r.Hits.Hits)
		}
		var back correlation.Alert
		if err := json.Unmarshal(r.Hits.Hits[0].Source, &back); err != nil {
			t.Fatal(err)
		}
		if string(back.Defender.NetworkEvent) != string(alerts[7].Defender.NetworkEvent) {
			t.Fatalf("defender.network_event not kept verbatim: %s", back.Defender.NetworkEvent)
		}
	})
}

func TestBulkPartialRejectIsReportedPrecisely(t *testing.T) {
	clustertest.Run(t, func(t *testing.T, tg clustertest.Target) {
		ctx := context.Background()
		index := alertIndex(t, tg)
		var docs []cluster.Doc
		for i := range 20 {
			ip := fmt.Sprintf("198.51.100.%d", i+1)
			if i == 13 {
				ip = "not-an-ip"
			}
			// Defender's InternetFacingLocalIp is not guaranteed to be an
			// address: the template maps it ip with ignore_malformed, so
			// junk there never costs the alert.
			localIP := "10.0.0.4"
			if i == 5 {
				localIP = "garbage-local-ip"
			}
			docs = append(docs, cluster.Doc{ID: fmt.Sprintf("doc-%02d", i),
				Source: []byte(fmt.Sprintf(`{"@timestamp":"2026-01-02T03:04:05Z","source":{"ip":%q},"edgewatch":{"internet_facing":{"local_ip":%q}}}`, ip, localIP))})
		}
		res, err := tg.Client.BulkCreate(ctx, index, docs, cluster.BulkOptions{Refresh: "true"})
		var be *cluster.BulkError
		if !errors.As(err, &be) {
			t.Fatalf("err = %v, want *BulkError", err)
		}
		if res.Created != 19 || res.Failed != 1 || len(res.Failures) != 1 {
			t.Fatalf("result %+v", res)
		}
		f := res.Failures[0]
		// OpenSearch says mapper_parsing_exception, Elasticsearch 8
		// document_parsing_exception.
		if f.ID != "doc-13" || f.Status != 400 || !strings.HasSuffix(f.Type, "_parsing_exception") || !strings.Contains(f.Reason, "source.ip") {
			t.Fatalf("failure %+v", f)
		}
		if !strings.Contains(err.Error(), "doc-13") || !strings.Contains(err.Error(), "1 of 20") {
			t.Fatalf("error message %q", err)
		}
		t.Logf("reported: %s", f)
		if n := clustertest.Count(t, tg.Client, index); n != 19 {
			t.Fatalf("index holds %d, want the 19 good documents", n)
		}
	})
}
