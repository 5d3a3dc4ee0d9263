package alertstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"sort"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/connectors/alertstore"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/connectors/cluster/clustertest"
	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/dashboards"
)

// useTemplate installs the bundled template name (the alerts or the
// findings one) for pattern+"-*" under a test-only name with a high
// priority, removed when the test ends. Test aliases start with "ewtest-",
// so the edgewatch templates a stack may hold never match them.
func useTemplate(t *testing.T, tg clustertest.Target, name, pattern string) {
	t.Helper()
	tpl, ok := dashboards.IndexTemplate(name)
	if !ok {
		t.Fatalf("no template %s", name)
	}
	var body map[string]any
	if err := json.Unmarshal(tpl.Body, &body); err != nil {
		t.Fatal(err)
	}
	body["index_patterns"] = []string{pattern + "-*"}
	body["priority"] = 900
	tname := "ewtest-" + pattern
	clustertest.Call(t, tg.Client, http.MethodPut, "/_index_template/"+tname, body, nil)
	t.Cleanup(func() {
		req := cluster.Request{Method: http.MethodDelete, Path: "/_index_template/" + tname}
		_, _ = tg.Client.Do(context.Background(), req)
	})
}

// alias is a unique write alias name with the alerts template on its
// backing indices; its indices are deleted when the test ends.
func alias(t *testing.T, tg clustertest.Target, prefix string) string {
	t.Helper()
	a := clustertest.Name(t, tg, prefix)
	useTemplate(t, tg, dashboards.AlertsTemplate, a)
	return a
}

var base = time.Date(2026, 8, 22, 0, 0, 0, 0, time.UTC)

// event is one synthetic matched network event's alert: device d, threat
// address ip, local port 443, at base+at, with IPsum level lvl.
func event(n int, d, ip string, at time.Duration, lvl int) *correlation.Alert {
	remote := netip.MustParseAddr(ip)
	ev := &correlation.NetworkEvent{
		Time: base.Add(at), DeviceID: d, DeviceName: d + ".contoso.com", ActionType: correlation.ActionInboundAccepted,
		RemoteIP: remote, RemoteIPRaw: ip, RemotePort: 40000 + n%20000, LocalIP: netip.MustParseAddr("10.0.0.5"), LocalIPRaw: "10.0.0.5",
		LocalPort: 443, Protocol: "Tcp", ReportID: fmt.Sprint(n),
		Raw: json.RawMessage(fmt.Sprintf(`{"DeviceId":%q,"ReportId":%d,"RemoteIP":%q,"n":%d}`, d, n, ip, n)),
	}
	m := correlation.Match{Remote: remote, Indicator: correlation.Indicator{Prefix: netip.PrefixFrom(remote, 32), Level: lvl, Count: lvl, Feed: "ipsum"}}
	return correlation.NewAlert(ev, m, correlation.Rule{ID: "ewtest-rule"}, base.Add(100*time.Hour))
}

// events makes n alerts numbered from first: devices and addresses cycle
// so that every (device, address) pair is hit many times; event i happens
// near base + i·span/1000, a few steps earlier or later (so that numbering
// and time order differ), and never in the same microsecond as another.
func events(first, n int, span time.Duration) []*correlation.Alert {
	devices := []string{"dev-a", "dev-b", "dev-c"}
	ips := []string{"45.148.10.1", "80.94.95.11", "193.32.162.9"}
	step := span / 1000
	out := make([]*correlation.Alert, 0, n)
	for i := first; i < first+n; i++ {
		at := time.Duration(i)*step + time.Duration((i*7919)%7-3)*step/2
		at += time.Duration(i) * time.Microsecond
		out = append(out, event(i, devices[i%3], ips[(i/3)%3], at, 1+i%8))
	}
	return out
}

// search returns every document of target (up to 10000), refreshed.
func search(t *testing.T, tg clustertest.Target, target string) []cluster.Hit[json.RawMessage] {
	t.Helper()
	return clustertest.Search[json.RawMessage](t, tg.Client, target, map[string]any{"size": 10000, "query": map[string]any{"match_all": map[string]any{}}})
}

// idsIn lists the ids target holds, sorted, failing on an id held twice.
func idsIn(t *testing.T, tg clustertest.Target, target string) []string {
	t.Helper()
	seen := map[string]string{}
	var out []string
	for _, h := range search(t, tg, target) {
		if prev, dup := seen[h.ID]; dup {
			t.Errorf("%s holds %s twice (in %s and %s)", target, h.ID, prev, h.Index)
			continue
		}
		seen[h.ID] = h.Index
		out = append(out, h.ID)
	}
	sort.Strings(out)
	return out
}

func idsOf(alerts []*correlation.Alert) []string {
	out := make([]string, len(alerts))
	for i, a := range alerts {
		out[i] = a.Event.ID
	}
	sort.Strings(out)
	return out
}

func rollover(t *testing.T, tg clustertest.Target, alias string) alertstore.RolloverResult {
	t.Helper()
	r, err := alertstore.Rollover(context.Background(), tg.Client, alias, nil)
	if err != nil || !r.RolledOver {
		t.Fatalf("rollover %s: %+v %v", alias, r, err)
	}
	return r
}
