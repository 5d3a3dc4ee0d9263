package conformance

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/internal/golden"
)

// The Standard dataset in each profile's shape, as NDJSON golden files under
// testdata/profiles: sample documents of every profile, and a pin on the
// shapes the cluster harness indexes.
func TestShapesGolden(t *testing.T) {
	ds, _ := Standard()
	for _, p := range clusterProfiles {
		for name, rows := range ds.Tables() {
			t.Run(p+"/"+name, func(t *testing.T) {
				var buf bytes.Buffer
				for _, r := range rows {
					d, ok := Shape(p, name, r)
					if !ok {
						continue
					}
					b, err := json.Marshal(d)
					if err != nil {
						t.Fatal(err)
					}
					buf.Write(b)
					buf.WriteByte('\n')
				}
				path := filepath.Join("testdata", "profiles", p+"."+name+".ndjson")
				golden.Check(t, path, buf.Bytes())
			})
		}
	}
}

// Elastic's pipeline puts the remote peer in destination.* unless the
// event says direction In; the profile must read it back either way.
func TestElasticShapeRoundTrip(t *testing.T) {
	p, err := cluster.NewProfile(cluster.ProfileElasticM365, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		af           string
		srcIP, dstIP string
		srcPort      any
		wantDirSet   bool
	}{
		{"no direction", "", "10.0.0.4", tiA, 3389, false},
		{"direction In", `{"direction":"In"}`, tiA, "10.0.0.4", 3389, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row := ev("x", 1, "2025-03-10T01:00:00.1234567Z", "dev-a", inbound, tiA, 3389, tt.af)
			d, ok := Shape(cluster.ProfileElasticM365, TableNetworkEvents, row)
			if !ok {
				t.Fatal("not representable")
			}
			src, dst := d["source"].(doc), d["destination"].(doc)
			if src["ip"] != tt.srcIP || dst["ip"] != tt.dstIP || src["port"] != tt.srcPort {
				t.Errorf("source %v destination %v", src, dst)
			}
			b, _ := json.Marshal(d)
			var e correlation.NetworkEvent
			if err := p.DecodeNetworkEvent(b, &e); err != nil {
				t.Fatal(err)
			}
			if e.RemoteIP.String() != tiA || e.LocalPort != 3389 || e.ActionType != inbound || e.DeviceID != "dev-a" {
				t.Errorf("decoded remote %s port %d action %s device %s", e.RemoteIP, e.LocalPort, e.ActionType, e.DeviceID)
			}
			if got := e.Time.Format("15:04:05.000000000"); got != "01:00:00.123000000" {
				t.Errorf("time %s, want milliseconds as the pipeline keeps them", got)
			}
		})
	}
}
