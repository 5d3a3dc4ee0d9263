package admin

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/engine"
	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/incremental"
	"github.com/edgewatch/edgewatch/connectors"
	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/internal/testlog"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

func TestMain(m *testing.M) { testlog.Main(m) }

// memWorld keeps events and alerts in memory; its alert writer behaves as
// bulk create with deterministic ids does.
type memWorld struct {
	mu     sync.Mutex
	events []correlation.NetworkEvent
	alerts map[string]*correlation.Alert
	state  *incremental.MemStore
	// failAfter, when >= 0, makes the next Write store that many alerts
	// and then fail (a killed process).
	failAfter int
}

func newMemWorld(*testing.T) World {
	return &memWorld{alerts: map[string]*correlation.Alert{}, state: &incremental.MemStore{}, failAfter: -1}
}

func (w *memWorld) Settings() wire.Settings {
	return wire.Settings{Source: "opensearch", Cluster: &wire.ClusterSettings{IndicatorFeed: "ipsum"}}
}

func (w *memWorld) Env(*testing.T) *Env {
	return &Env{
		Backend: &engine.Backend{
			Source:     w,
			Writer:     w,
			Indicators: func(context.Context) (*correlation.IndicatorSet, error) { return feedSet(), nil },
		},
		State: w.state,
	}
}

func (w *memWorld) Publish(_ *testing.T, evs []evSpec) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range evs {
		raw, _ := json.Marshal(map[string]any{"ReportId": e.ReportID, "RemoteIP": e.Remote})
		w.events = append(w.events, correlation.NetworkEvent{
			Time: e.Time, DeviceID: scnDevice, DeviceName: "web-01", ActionType: "InboundConnectionAccepted",
			RemoteIP: netip.MustParseAddr(e.Remote), RemoteIPRaw: e.Remote, RemotePort: 50000,
			LocalIP: netip.MustParseAddr("10.0.0.5"), LocalIPRaw: "10.0.0.5", LocalPort: scnPort, Protocol: "Tcp",
			ReportID: e.ReportID, Raw: raw,
		})
	}
}

func (w *memWorld) Alerts(*testing.T) map[string]bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]bool{}
	for id, a := range w.alerts {
		out[id] = a.Edgewatch.RetroHunt
	}
	return out
}

func (w *memWorld) DeviceInfo(_ context.Context, q connectors.FacingQuery, fn func(*correlation.DeviceInfo) error) (connectors.Report, error) {
	row := &correlation.DeviceInfo{
		Time: scnStart.Add(-5 * 24 * time.Hour), DeviceID: scnDevice, DeviceName: "web-01", IsInternetFacing: true,
		Facing: correlation.InternetFacing{Reason: "ExternalNetworkConnection", LocalIP: "10.0.0.5", LocalPort: scnPort, TransportProtocol: "Tcp"},
	}
	return connectors.Report{Read: 1}, fn(row)
}

func (w *memWorld) NetworkEvents(_ context.Context, q connectors.EventQuery, fn func(*correlation.NetworkEvent) error) (connectors.Report, error) {
	w.mu.Lock()
	evs := append([]correlation.NetworkEvent(nil), w.events...)
	w.mu.Unlock()
	var rep connectors.Report
	for i := range evs {
		e := &evs[i]
		if (!q.From.IsZero() && e.Time.Before(q.From)) || (!q.To.IsZero() && !e.Time.Before(q.To)) {
			continue
		}
		rep.Read++
		if err := fn(e); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

var errKilled = errors.New("connection reset: plugin killed mid-bulk")

func (w *memWorld) Write(_ context.Context, alerts []*correlation.Alert) (connectors.WriteResult, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var res connectors.WriteResult
	for i, a := range alerts {
		if w.failAfter >= 0 && i == w.failAfter {
			w.failAfter = -1
			return res, errKilled
		}
		if _, ok := w.alerts[a.Event.ID]; ok {
			res.AlreadyPresent++
			continue
		}
		c := *a
		w.alerts[a.Event.ID] = &c
		res.Created++
	}
	return res, nil
}

func TestScenariosInMemory(t *testing.T) {
	testScenarios(t, newMemWorld, func(w World, _ *Env, after int) { w.(*memWorld).failAfter = after })
}
