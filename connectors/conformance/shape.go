package conformance

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/correlation"
)

// Tables a row belongs to.
const (
	TableDeviceInfo    = "DeviceInfo"
	TableNetworkEvents = "DeviceNetworkEvents"
)

type doc = map[string]any

// Shape turns a logical row into the document a store keeps in profile.
// ok is false when the profile cannot hold the row (a malformed
// AdditionalFields text where the profile keeps an object).
func Shape(profile, table string, r Row) (d doc, ok bool) {
	cols := r.Columns()
	switch profile {
	case cluster.ProfileAdvancedHunting:
		return cols, true
	case cluster.ProfileSentinel:
		if t, has := cols["Timestamp"]; has {
			delete(cols, "Timestamp")
			cols["TimeGenerated"] = t
		}
		cols["Type"] = table
		cols["TenantId"] = "00000000-0000-0000-0000-000000000001"
		if af, has := cols["AdditionalFields"].(string); has {
			obj, ok := parseObject(af)
			if !ok {
				return nil, false
			}
			cols["AdditionalFields"] = obj
		}
		return cols, true
	case cluster.ProfileStreaming:
		return doc{
			"time":          cols["Timestamp"],
			"tenantId":      "00000000-0000-0000-0000-000000000001",
			"category":      "AdvancedHunting-" + table,
			"operationName": "Publish",
			"Tenant":        "DefaultTenant",
			"properties":    cols,
		}, true
	case cluster.ProfileElasticM365:
		return elasticDoc(table, cols)
	}
	panic("conformance: no shape for profile " + profile)
}

// ShapeOther is Shape for a row of another Defender table (DeviceEvents,
// DeviceNetworkInfo, …), shaped like the table whose columns it has: a row
// with a RemoteIP like DeviceNetworkEvents, any other like DeviceInfo. Its
// table marker names its own table.
func ShapeOther(profile, table string, r Row) (doc, bool) {
	like := TableDeviceInfo
	if _, ok := r["RemoteIP"]; ok {
		like = TableNetworkEvents
	}
	d, ok := Shape(profile, like, r)
	if !ok {
		return nil, false
	}
	switch profile {
	case cluster.ProfileSentinel:
		d["Type"] = table
	case cluster.ProfileStreaming:
		d["category"] = "AdvancedHunting-" + table
	case cluster.ProfileElasticM365:
		set(d, "m365_defender.event.category", "AdvancedHunting-"+table)
	}
	return d, true
}

// StripTable removes the table marker from a shaped document (a row that
// carries none).
func StripTable(profile string, d doc) {
	switch profile {
	case cluster.ProfileSentinel:
		delete(d, "Type")
	case cluster.ProfileStreaming:
		delete(d, "category")
	case cluster.ProfileElasticM365:
		if m, ok := d["m365_defender"].(doc); ok {
			if e, ok := m["event"].(doc); ok {
				delete(e, "category")
			}
		}
	}
}

func parseObject(s string) (map[string]any, bool) {
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil || m == nil {
		return nil, false
	}
	return m, true
}

// msTime is what Elastic's date processor writes: milliseconds, UTC, Z.
func msTime(v any) any {
	s, ok := v.(string)
	if !ok {
		return v
	}
	t, err := correlation.ParseTime(s)
	if err != nil {
		return v
	}
	return t.UTC().Truncate(time.Millisecond).Format("2006-01-02T15:04:05.000Z")
}

func lower(v any) any {
	if s, ok := v.(string); ok {
		return strings.ToLower(s)
	}
	return v
}

func set(d doc, path string, v any) {
	if v == nil {
		return
	}
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := d[p].(doc)
		if !ok {
			next = doc{}
			d[p] = next
		}
		d = next
	}
	d[parts[len(parts)-1]] = v
}

// elasticDoc mimics Elastic's m365_defender pipeline (default settings:
// duplicates of ECS fields removed) for the fields the detection reads,
// including its source/destination choice by AdditionalFields.direction.
func elasticDoc(table string, c map[string]any) (doc, bool) {
	d := doc{}
	set(d, "@timestamp", msTime(c["Timestamp"]))
	set(d, "m365_defender.event.timestamp", msTime(c["Timestamp"]))
	set(d, "m365_defender.event.category", "AdvancedHunting-"+table)
	set(d, "event.kind", "event")
	set(d, "host.id", c["DeviceId"])
	set(d, "host.name", lower(c["DeviceName"]))
	if id, ok := c["ReportId"]; ok {
		set(d, "m365_defender.event.report_id", fmt.Sprint(id)) // convert: type string
	}
	var af map[string]any
	if s, ok := c["AdditionalFields"].(string); ok && s != "" {
		var good bool
		if af, good = parseObject(s); !good {
			return nil, false // the json processor fails; flattened takes no text
		}
	}
	switch table {
	case TableDeviceInfo:
		set(d, "event.category", []any{"host"})
		set(d, "m365_defender.event.is_internet_facing", c["IsInternetFacing"])
		set(d, "m365_defender.event.machine_group", c["MachineGroup"])
		set(d, "host.os.full", c["OSPlatform"])
		if ip, ok := c["PublicIP"]; ok {
			set(d, "host.ip", []any{ip})
		}
		if af != nil {
			set(d, "m365_defender.event.additional_fields", af)
		}
	case TableNetworkEvents:
		set(d, "event.category", []any{"network"})
		set(d, "event.action", lower(c["ActionType"]))
		set(d, "network.protocol", lower(c["Protocol"]))
		set(d, "process.name", c["InitiatingProcessFileName"])
		set(d, "process.pid", c["InitiatingProcessId"])
		set(d, "process.executable", c["InitiatingProcessFolderPath"])
		set(d, "m365_defender.event.local.ip_type", c["LocalIPType"])
		set(d, "m365_defender.event.remote.ip_type", c["RemoteIPType"])
		dir := ""
		if af != nil {
			if v, ok := af["direction"].(string); ok {
				dir = v
				delete(af, "direction")
				set(d, "m365_defender.event.network_direction", dir)
			}
			if len(af) > 0 {
				set(d, "m365_defender.event.additional_fields", af)
			}
		}
		switch dir {
		case "In":
			set(d, "source.ip", c["RemoteIP"])
			set(d, "destination.ip", c["LocalIP"])
			set(d, "destination.port", c["LocalPort"])
			set(d, "network.direction", "inbound")
		case "Out":
			set(d, "source.ip", c["LocalIP"])
			set(d, "destination.ip", c["RemoteIP"])
			set(d, "destination.port", c["RemotePort"])
			set(d, "network.direction", "outbound")
		default:
			set(d, "source.ip", c["LocalIP"])
			set(d, "destination.ip", c["RemoteIP"])
			set(d, "destination.port", c["RemotePort"])
			set(d, "network.direction", "unknown")
		}
		// The pipeline overwrites source.port with LocalPort for every
		// network event, whatever the direction.
		set(d, "source.port", c["LocalPort"])
		var related []any
		for _, k := range []string{"LocalIP", "RemoteIP"} {
			if v, ok := c[k]; ok {
				related = append(related, v)
			}
		}
		set(d, "related.ip", related)
	}
	return d, true
}

// IndexBody is the create-index body a profile's indices get: two shards
// (so a point-in-time read spans shards), and the mapping the profile is
// usually found with: dynamic mapping for Advanced Hunting and streaming
// records (strings become text with a .keyword sub-field), a typed mapping
// for Sentinel exports, and Elastic's integration mapping (flattened
// AdditionalFields; OpenSearch's flat_object) for elastic-m365.
func IndexBody(profile string, flavor cluster.Flavor) doc {
	settings := doc{"number_of_shards": 2, "number_of_replicas": 0}
	body := doc{"settings": settings}
	kw := doc{"type": "keyword"}
	switch profile {
	case cluster.ProfileSentinel:
		body["mappings"] = doc{"properties": doc{
			"TimeGenerated":    doc{"type": "date"},
			"DeviceId":         kw,
			"DeviceName":       kw,
			"ActionType":       kw,
			"RemoteIP":         doc{"type": "ip"},
			"LocalIP":          doc{"type": "ip"},
			"RemotePort":       doc{"type": "integer"},
			"LocalPort":        doc{"type": "integer"},
			"ReportId":         doc{"type": "long"},
			"IsInternetFacing": doc{"type": "boolean"},
			"Type":             kw,
			"TenantId":         kw,
		}}
	case cluster.ProfileElasticM365:
		flat := "flattened"
		if flavor == cluster.OpenSearch {
			flat = "flat_object"
		}
		body["mappings"] = doc{"properties": doc{
			"@timestamp": doc{"type": "date"},
			"event": doc{"properties": doc{
				"action": kw, "category": kw, "kind": kw,
			}},
			"host": doc{"properties": doc{
				"id": kw, "name": kw, "ip": doc{"type": "ip"},
				"os": doc{"properties": doc{"full": kw}},
			}},
			"source":      doc{"properties": doc{"ip": doc{"type": "ip"}, "port": doc{"type": "long"}}},
			"destination": doc{"properties": doc{"ip": doc{"type": "ip"}, "port": doc{"type": "long"}}},
			"network":     doc{"properties": doc{"protocol": kw, "direction": kw}},
			"related":     doc{"properties": doc{"ip": doc{"type": "ip"}}},
			"process": doc{"properties": doc{
				"name": kw, "pid": doc{"type": "long"}, "executable": kw,
			}},
			"m365_defender": doc{"properties": doc{"event": doc{"properties": doc{
				"category":           kw,
				"report_id":          kw,
				"timestamp":          doc{"type": "date"},
				"network_direction":  kw,
				"is_internet_facing": doc{"type": "boolean"},
				"machine_group":      kw,
				"additional_fields":  doc{"type": flat},
			}}}},
		}}
	}
	return body
}
