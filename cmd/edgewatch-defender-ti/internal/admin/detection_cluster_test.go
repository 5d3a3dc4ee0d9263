package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/stack"
	"github.com/edgewatch/edgewatch/connectors"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/connectors/cluster/clustertest"
	"github.com/edgewatch/edgewatch/connectors/conformance"
	"github.com/edgewatch/edgewatch/connectors/opensearch"
	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/internal/testenv"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// clusterWorld keeps a scenario's data in fresh indices of a real cluster:
// DeviceInfo and DeviceNetworkEvents in the Advanced Hunting shape, alerts
// and state in their own indices. Everything is deleted when the test ends.
type clusterWorld struct {
	c                     *cluster.Client
	devIdx, evIdx, alerts string
	state                 string
}

func newClusterWorld(c *cluster.Client) func(t *testing.T) World {
	return func(t *testing.T) World {
		w := &clusterWorld{c: c,
			devIdx: conformance.UniqueIndex("edgewatch-scn-deviceinfo"), evIdx: conformance.UniqueIndex("edgewatch-scn-networkevents"),
			alerts: conformance.UniqueIndex("edgewatch-alerts-scn"), state: conformance.UniqueIndex("edgewatch-state-scn")}
		t.Cleanup(func() {
			for _, idx := range []string{w.devIdx, w.evIdx, w.alerts, w.state} {
				_ = c.Call(context.Background(), "delete", cluster.Request{Method: http.MethodDelete, Path: "/" + url.PathEscape(idx)}, nil)
			}
		})
		kw := map[string]any{"type": "keyword"}
		clustertest.Call(t, c, http.MethodPut, "/"+w.evIdx, map[string]any{
			"settings": map[string]any{"number_of_shards": 2, "number_of_replicas": 0},
			"mappings": map[string]any{"properties": map[string]any{
				"Timestamp": map[string]any{"type": "date"}, "DeviceId": kw, "DeviceName": kw, "ActionType": kw,
				"RemoteIP": map[string]any{"type": "ip"}, "LocalIP": map[string]any{"type": "ip"},
				"RemotePort": map[string]any{"type": "integer"}, "LocalPort": map[string]any{"type": "integer"},
				"ReportId": map[string]any{"type": "long"}, "Protocol": kw,
			}},
		}, nil)
		w.addDevice(t, scnStart.Add(-5*24*time.Hour))
		return w
	}
}

// addDevice stores a DeviceInfo row making the scenario device's port
// internet-facing at time at.
func (w *clusterWorld) addDevice(t *testing.T, at time.Time) {
	t.Helper()
	af, _ := json.Marshal(map[string]any{"InternetFacingReason": "ExternalNetworkConnection", "InternetFacingLocalIp": "10.0.0.5",
		"InternetFacingLocalPort": scnPort, "InternetFacingTransportProtocol": "Tcp", "InternetFacingLastSeen": at})
	if err := conformance.Bulk(context.Background(), w.c.Doer(), []conformance.Doc{{Index: w.devIdx, Source: map[string]any{
		"Timestamp": at, "DeviceId": scnDevice, "DeviceName": "web-01", "IsInternetFacing": true,
		"PublicIP": "198.18.0.9", "AdditionalFields": string(af), "ReportId": at.Unix(),
	}}}, true); err != nil {
		t.Fatal(err)
	}
}

func (w *clusterWorld) Settings() wire.Settings {
	return wire.Settings{Source: string(w.c.Flavor()), Cluster: &wire.ClusterSettings{
		DeviceInfoIndex: w.devIdx, NetworkEventsIndex: w.evIdx, AlertIndex: w.alerts, IndicatorFeed: "ipsum",
	}}
}

func (w *clusterWorld) Env(t *testing.T) *Env {
	env, err := ClusterEnv(w.c, w.Settings())
	if err != nil {
		t.Fatal(err)
	}
	env.State = stack.NewStateStore(w.c, w.state)
	env.Backend.Indicators = func(context.Context) (*correlation.IndicatorSet, error) { return feedSet(), nil }
	// Run records go to the shared edgewatch-state index: scenarios do not
	// write them.
	env.Backend.RecordRun = nil
	return env
}

func (w *clusterWorld) Publish(t *testing.T, evs []evSpec) {
	docs := make([]conformance.Doc, 0, len(evs))
	for _, e := range evs {
		rid, _ := strconv.ParseInt(e.ReportID, 10, 64)
		docs = append(docs, conformance.Doc{Index: w.evIdx, Source: map[string]any{
			"Timestamp": e.Time.Format(time.RFC3339Nano), "DeviceId": scnDevice, "DeviceName": "web-01",
			"ActionType": "InboundConnectionAccepted", "RemoteIP": e.Remote, "RemotePort": 50000,
			"LocalIP": "10.0.0.5", "LocalPort": scnPort, "Protocol": "Tcp", "ReportId": rid,
			"InitiatingProcessFileName": "System",
		}})
	}
	for len(docs) > 0 {
		n := min(len(docs), 2000)
		if err := conformance.Bulk(context.Background(), w.c.Doer(), docs[:n], true); err != nil {
			t.Fatal(err)
		}
		docs = docs[n:]
	}
}

func (w *clusterWorld) Alerts(t *testing.T) map[string]bool {
	t.Helper()
	ctx := context.Background()
	if err := w.c.Refresh(ctx, w.alerts); err != nil {
		if cluster.IsDownstream(err) {
			return map[string]bool{} // no alert index yet: no alerts
		}
		t.Fatal(err)
	}
	var r cluster.SearchHits[struct {
		Edgewatch struct {
			RetroHunt bool `json:"retro_hunt"`
		} `json:"edgewatch"`
	}]
	clustertest.Call(t, w.c, http.MethodPost, "/"+w.alerts+"/_search", map[string]any{"size": 10000, "_source": []string{"edgewatch.retro_hunt"}}, &r)
	out := map[string]bool{}
	for _, h := range r.Hits.Hits {
		out[h.ID] = h.Source.Edgewatch.RetroHunt
	}
	return out
}

// dyingWriter writes the first `after` alerts of its first call, then fails
// as a killed process would.
type dyingWriter struct {
	mu    sync.Mutex
	w     connectors.AlertWriter
	after int
	done  bool
}

func (d *dyingWriter) Write(ctx context.Context, alerts []*correlation.Alert) (connectors.WriteResult, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.done || len(alerts) <= d.after {
		return d.w.Write(ctx, alerts)
	}
	d.done = true
	res, err := d.w.Write(ctx, alerts[:d.after])
	if err != nil {
		return res, err
	}
	return res, errKilled
}

func TestScenariosOnClusters(t *testing.T) {
	testenv.SkipShort(t, testenv.Clusters)
	clustertest.Run(t, func(t *testing.T, tg clustertest.Target) {
		testScenarios(t, newClusterWorld(tg.Client), func(_ World, env *Env, after int) {
			env.Backend.Writer = &dyingWriter{w: env.Backend.Writer, after: after}
		})
	})
}

func opensearchConnect(cfg cluster.Config) (*cluster.Client, error) {
	return opensearch.Connect(context.Background(), cfg)
}

func clusterStateOf(c *cluster.Client) *stack.StateStore {
	return stack.NewStateStore(c, wire.StateIndex)
}
