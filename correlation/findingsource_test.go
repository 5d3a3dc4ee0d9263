package correlation_test

import (
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/connectors"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/connectors/file"
	"github.com/edgewatch/edgewatch/correlation"
)

// sourceEvent is one Defender DeviceNetworkEvents event, written as each
// source stores it.
type sourceEvent struct {
	reportID string    // ReportId as Advanced Hunting prints it
	time     time.Time // Defender's time, 100 ns precision
}

const (
	srcDevice = "4f8e2b1c9d0a7e6f5b4c3d2e1f0a9b8c7d6e5f4a"
	srcTenant = "c0ffee00-0000-4000-8000-000000000001"
)

// ahRow is the Advanced Hunting row (flat NDJSON, and the Streaming API's
// properties). RemoteIP is IPv4-mapped, as Defender writes some sockets.
func (e sourceEvent) ahRow(timeCol string) string {
	return `{"` + timeCol + `":"` + e.time.Format("2006-01-02T15:04:05.0000000Z") + `","DeviceId":"` + srcDevice +
		`","DeviceName":"WEB01.contoso.com","ActionType":"InboundConnectionAccepted","RemoteIP":"::ffff:77.90.185.20",` +
		`"RemotePort":51544,"LocalIP":"::ffff:10.0.0.4","LocalPort":3389,"Protocol":"Tcp","InitiatingProcessFileName":"svchost.exe",` +
		`"InitiatingProcessId":1234,"ReportId":` + e.reportID + `,"AdditionalFields":null}`
}

func (e sourceEvent) streaming() string {
	return `{"time":"` + e.time.Add(1500*time.Millisecond).Format("2006-01-02T15:04:05.0000000Z") + `","tenantId":"` + srcTenant +
		`","operationName":"Publish","category":"AdvancedHunting-DeviceNetworkEvents","properties":` + e.ahRow("Timestamp") +
		`,"Tenant":"DefaultTenant"}`
}

// sentinel is the Log Analytics row: TimeGenerated, TenantId (the workspace),
// Type, AdditionalFields as an object.
func (e sourceEvent) sentinel() string {
	row := e.ahRow("TimeGenerated")
	row = strings.Replace(row, `"AdditionalFields":null`, `"AdditionalFields":{},"TenantId":"`+srcTenant+`","Type":"DeviceNetworkEvents","SourceSystem":""`, 1)
	return row
}

func (e sourceEvent) csv() string {
	return "Timestamp,DeviceId,DeviceName,ActionType,RemoteIP,RemotePort,LocalIP,LocalPort,Protocol,ReportId\r\n" +
		e.time.Format("2006-01-02T15:04:05.0000000Z") + "," + srcDevice + ",WEB01.contoso.com,InboundConnectionAccepted,::ffff:77.90.185.20,51544,::ffff:10.0.0.4,3389,Tcp," + e.reportID + "\r\n"
}

// elastic is the document Elastic's m365_defender integration makes of the
// Streaming API record with its default settings: @timestamp cut to
// milliseconds, ReportId a keyword, ActionType and DeviceName lower-cased,
// the duplicates under m365_defender.event.* removed, and, as the record has
// no direction, source = the local end and destination = the remote peer.
func (e sourceEvent) elastic() string {
	ms := e.time.Format("2006-01-02T15:04:05.000Z")
	return `{"@timestamp":"` + ms + `","ecs":{"version":"8.11.0"},"data_stream":{"dataset":"m365_defender.event","namespace":"default","type":"logs"},` +
		`"event":{"action":"inboundconnectionaccepted","category":["network"],"type":["start"],"kind":"event","dataset":"m365_defender.event"},` +
		`"host":{"id":"` + srcDevice + `","name":"web01.contoso.com"},` +
		`"source":{"ip":"10.0.0.4","port":3389},"destination":{"ip":"77.90.185.20","port":51544},` +
		`"network":{"protocol":"tcp","direction":"unknown"},"process":{"name":"svchost.exe","pid":1234},` +
		`"related":{"ip":["10.0.0.4","77.90.185.20"],"hosts":["web01.contoso.com"]},` +
		`"m365_defender":{"event":{"category":"AdvancedHunting-DeviceNetworkEvents","operation_name":"Publish",` +
		`"tenant":{"id":"` + srcTenant + `","name":"DefaultTenant"},"time":"` + e.time.Add(1500*time.Millisecond).Format("2006-01-02T15:04:05.000Z") + `",` +
		`"timestamp":"` + ms + `","report_id":"` + e.reportID + `","local":{"ip_type":"Private"},"remote":{"ip_type":"Public"}}}}`
}

// TestFindingIDSameEventEverySource: the same Defender event read from a
// flat Advanced Hunting export, a Streaming API record, a Sentinel row and a
// CSV export (file connector), and from indices holding those shapes or
// Elastic's m365_defender documents (cluster profiles), gets one finding id
// (issue 18, item 5).
func TestFindingIDSameEventEverySource(t *testing.T) {
	events := []sourceEvent{
		{reportID: "31337", time: time.Date(2026, 8, 22, 10, 15, 30, 123456700, time.UTC)},
		{reportID: "9007199254740993", time: time.Date(2026, 8, 22, 10, 15, 30, 999999900, time.UTC)}, // past 2^53; last 100 ns of a ms
		{reportID: "7", time: time.Date(2026, 8, 22, 23, 59, 59, 0, time.UTC)},                        // whole second
	}
	dir := t.TempDir()
	for _, e := range events {
		t.Run("ReportId "+e.reportID, func(t *testing.T) {
			want := correlation.FindingID(correlation.DefaultRuleID, srcDevice, e.reportID, e.time,
				mustAddr(t, "77.90.185.20"), 3389)
			ids := map[string]string{}
			for name, content := range map[string]string{
				"advanced-hunting.ndjson": e.ahRow("Timestamp"),
				"streaming.ndjson":        e.streaming(),
				"eventhub.json":           `{"records":[` + e.streaming() + `]}`,
				"sentinel.ndjson":         e.sentinel(),
				"export.csv":              e.csv(),
			} {
				path := filepath.Join(dir, e.reportID+"-"+name)
				if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
				ids["file "+name] = fileEventID(t, path)
			}
			for profile, doc := range map[string]string{
				cluster.ProfileAdvancedHunting: e.ahRow("Timestamp"),
				cluster.ProfileStreaming:       e.streaming(),
				cluster.ProfileSentinel:        e.sentinel(),
				cluster.ProfileElasticM365:     e.elastic(),
			} {
				ids["cluster "+profile] = clusterEventID(t, profile, doc)
			}
			for src, id := range ids {
				if id != want {
					t.Errorf("%s: finding id %s, want %s (every source the same)", src, id, want)
				}
			}
		})
	}
}

func alertID(t *testing.T, ev *correlation.NetworkEvent) string {
	t.Helper()
	a := correlation.NewAlert(ev, correlation.Match{}, correlation.Rule{}, time.Now())
	if a.Event.ID != correlation.FindingID(correlation.DefaultRuleID, ev.DeviceID, ev.ReportID, ev.Time, mustAddr(t, "77.90.185.20"), ev.LocalPort) {
		t.Fatalf("alert id is not the finding id of its event %+v", ev)
	}
	return a.Event.ID
}

func fileEventID(t *testing.T, path string) string {
	t.Helper()
	var ids []string
	src := file.New(file.Options{NetworkEvents: []string{path}})
	rep, err := src.NetworkEvents(context.Background(), connectors.EventQuery{}, func(ev *correlation.NetworkEvent) error {
		ids = append(ids, alertID(t, ev))
		return nil
	})
	if err != nil || len(ids) != 1 {
		t.Fatalf("%s: %d events (%+v), %v", path, len(ids), rep, err)
	}
	return ids[0]
}

func clusterEventID(t *testing.T, profile, doc string) string {
	t.Helper()
	p, err := cluster.NewProfile(profile, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ev correlation.NetworkEvent
	if err := p.DecodeNetworkEvent(json.RawMessage(doc), &ev); err != nil {
		t.Fatalf("%s: %v", profile, err)
	}
	return alertID(t, &ev)
}

func mustAddr(t *testing.T, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
