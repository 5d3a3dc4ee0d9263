package dashboards

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/correlation"
)

func TestIndexTemplatesShape(t *testing.T) {
	ts := IndexTemplates()
	names := make([]string, len(ts))
	for i, tpl := range ts {
		names[i] = tpl.Name
	}
	want := []string{AlertsTemplate, FindingsTemplate, IndicatorsTemplate, StateTemplate}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("templates = %v, want %v", names, want)
	}
	patterns := map[string]string{
		AlertsTemplate:     "edgewatch-alerts-*",
		FindingsTemplate:   "edgewatch-findings-*",
		IndicatorsTemplate: "edgewatch-indicators-*",
		StateTemplate:      "edgewatch-state",
	}
	for _, tpl := range ts {
		t.Run(tpl.Name, func(t *testing.T) {
			var body struct {
				IndexPatterns []string        `json:"index_patterns"`
				Priority      int             `json:"priority"`
				DataStream    json.RawMessage `json:"data_stream"`
				Meta          struct {
					ManagedBy string `json:"managed_by"`
					Version   int    `json:"version"`
				} `json:"_meta"`
				Template struct {
					Mappings struct {
						Dynamic    any            `json:"dynamic"`
						Subobjects any            `json:"subobjects"`
						Properties map[string]any `json:"properties"`
					} `json:"mappings"`
				} `json:"template"`
			}
			if err := json.Unmarshal(tpl.Body, &body); err != nil {
				t.Fatalf("not JSON: %v", err)
			}
			if len(body.IndexPatterns) != 1 || body.IndexPatterns[0] != patterns[tpl.Name] {
				t.Errorf("index_patterns = %v, want [%s]", body.IndexPatterns, patterns[tpl.Name])
			}
			if body.Meta.ManagedBy != "edgewatch" || body.Meta.Version < 1 || TemplateVersion(tpl.Body) != body.Meta.Version {
				t.Errorf("_meta = %+v", body.Meta)
			}
			if body.DataStream != nil || body.Template.Mappings.Subobjects != nil {
				t.Error("template uses data_stream or subobjects, which OpenSearch does not accept")
			}
			if body.Template.Mappings.Dynamic != false {
				t.Errorf("dynamic = %v, want false", body.Template.Mappings.Dynamic)
			}
			if strings.Contains(string(tpl.Body), `"wildcard"`) || strings.Contains(string(tpl.Body), `"constant_keyword"`) {
				t.Error("template uses an Elasticsearch-only field type")
			}
		})
	}
}

// TestAlertTemplateCoversAlert marshals a fully populated correlation.Alert
// and checks that every leaf path it writes is mapped (the alert index is
// dynamic:false, so an unmapped field would be invisible to dashboards), and
// that the mapped type fits the JSON value.
func TestAlertTemplateCoversAlert(t *testing.T) {
	tpl, _ := IndexTemplate(AlertsTemplate)
	var body struct {
		Template struct {
			Mappings struct {
				Properties map[string]any `json:"properties"`
			} `json:"mappings"`
		} `json:"template"`
	}
	if err := json.Unmarshal(tpl.Body, &body); err != nil {
		t.Fatal(err)
	}
	mapped := map[string]string{}
	var walk func(prefix string, props map[string]any)
	walk = func(prefix string, props map[string]any) {
		for name, v := range props {
			m := v.(map[string]any)
			p := prefix + name
			if sub, ok := m["properties"].(map[string]any); ok {
				mapped[p] = "object"
				walk(p+".", sub)
				continue
			}
			typ, _ := m["type"].(string)
			mapped[p] = typ
		}
	}
	walk("", body.Template.Mappings.Properties)

	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a := correlation.Alert{Timestamp: now, ECS: correlation.AlertECS{Version: "8.11.0"}}
	a.Event = correlation.AlertEvent{Kind: "alert", Category: []string{"network"}, Type: []string{"connection"},
		Action: "InboundConnectionAccepted", ID: "x", Created: now, Severity: 73, Dataset: "d", Module: "m", Provider: "p", Reason: "r"}
	a.Rule = correlation.AlertRule{ID: "r", Name: "n", Version: "1", Ruleset: "s", Description: "d", Reference: "u"}
	a.Host = correlation.AlertHost{ID: "h", Name: "n"}
	a.Source = correlation.Endpoint{IP: "1.2.3.4", Port: 1}
	a.Dest = correlation.Endpoint{IP: "10.0.0.1", Port: 2}
	a.Network = correlation.AlertNetwork{Transport: "tcp", Direction: "inbound"}
	a.Process = &correlation.AlertProcess{Name: "n", PID: 1, Executable: "e", CommandLine: "c",
		Hash: &correlation.Hash{MD5: "a", SHA1: "b", SHA256: "c"}}
	a.Process.Parent = &struct {
		Name string `json:"name,omitempty"`
		PID  int64  `json:"pid,omitempty"`
	}{Name: "p", PID: 2}
	a.Process.User = &struct {
		Name   string `json:"name,omitempty"`
		Domain string `json:"domain,omitempty"`
	}{Name: "u", Domain: "d"}
	ind := correlation.ThreatIndicator{IP: "1.2.3.4", Type: "ipv4-addr", Provider: "ipsum", Description: "d", Confidence: "High"}
	en := correlation.ThreatEnrichment{Indicator: ind, Feed: correlation.ThreatFeed{Name: "ipsum"}}
	en.Matched.Atomic, en.Matched.Field, en.Matched.Type = "1.2.3.4", "source.ip", "indicator_match_rule"
	a.Threat = correlation.AlertThreat{Framework: "MITRE ATT&CK", Indicator: ind, Feed: correlation.ThreatFeed{Name: "ipsum"},
		Enrichments: []correlation.ThreatEnrichment{en}}
	a.Edgewatch = correlation.AlertEdgewatch{
		InternetFacing: correlation.FacingEvidence{InternetFacing: correlation.InternetFacing{Reason: "r", LocalIP: "10.0.0.1",
			LocalPort: 2, PublicScannedIP: "5.6.7.8", PublicScannedPort: 3, TransportProtocol: "Tcp", LastSeen: now}, DeviceInfoTime: now},
		Indicator: correlation.IndicatorEvidence{Value: "1.2.3.4", Count: 5, Level: 5},
		Severity:  "high", RetroHunt: true, FindingIDVersion: correlation.FindingIDVersion, RunID: "run", GroupID: "g"}
	v := "h"
	a.Edgewatch.Suppression = &correlation.Suppression{Terms: []correlation.SuppressionTerm{{Field: "host.id", Value: &v}},
		Start: now, End: now, DocsCount: 3, WindowStart: now, WindowEnd: now, FirstEventID: "x"}
	a.Defender.NetworkEvent = json.RawMessage(`{"RemoteIP":"1.2.3.4","Nested":{"deep":[1,2]}}`)
	a.Related = correlation.AlertRelated{IP: []string{"1.2.3.4"}, Hosts: []string{"n"}}

	raw := a.AppendJSON(nil) // what the detector writes
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var check func(prefix string, v any)
	check = func(prefix string, v any) {
		if prefix == "defender.network_event" {
			if mapped[prefix] != "object" && mapped[prefix] != "" {
				t.Errorf("defender.network_event mapped as %q", mapped[prefix])
			}
			return
		}
		switch x := v.(type) {
		case map[string]any:
			for k, vv := range x {
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				check(p, vv)
			}
		case []any:
			for _, e := range x {
				check(prefix, e)
			}
		default:
			typ, ok := mapped[prefix]
			if !ok {
				t.Errorf("alert field %s is not mapped", prefix)
				return
			}
			switch x.(type) {
			case float64:
				if typ != "long" && typ != "integer" {
					t.Errorf("%s is a number but mapped %s", prefix, typ)
				}
			case bool:
				if typ != "boolean" {
					t.Errorf("%s is a boolean but mapped %s", prefix, typ)
				}
			case string:
				switch typ {
				case "keyword", "ip", "date":
				default:
					t.Errorf("%s is a string but mapped %s", prefix, typ)
				}
			}
		}
	}
	check("", doc)
	for p, want := range map[string]string{
		"@timestamp": "date", "event.created": "date", "event.severity": "long", "source.ip": "ip",
		"destination.ip": "ip", "threat.indicator.ip": "ip", "threat.enrichments.indicator.ip": "ip",
		"related.ip": "ip", "source.port": "long", "edgewatch.indicator.level": "integer",
		"edgewatch.internet_facing.local_ip": "ip", "host.id": "keyword", "process.command_line": "keyword",
		"edgewatch.group_id": "keyword", "edgewatch.suppression.docs_count": "long", "edgewatch.suppression.start": "date",
		"edgewatch.suppression.end": "date", "edgewatch.suppression.terms.value": "keyword",
	} {
		if mapped[p] != want {
			t.Errorf("%s mapped %q, want %q", p, mapped[p], want)
		}
	}
}

// TestFindingsTemplate: the findings template is the alerts one with
// @timestamp as date_nanos (the templates of single write aliases are
// derived in cmd/edgewatch-defender-ti/internal/stack: AlertTemplateSpec).
func TestFindingsTemplate(t *testing.T) {
	type body struct {
		IndexPatterns []string `json:"index_patterns"`
		Priority      int      `json:"priority"`
		Template      struct {
			Settings struct {
				Index map[string]any `json:"index"`
			} `json:"settings"`
			Mappings struct {
				Properties map[string]any `json:"properties"`
			} `json:"mappings"`
		} `json:"template"`
	}
	read := func(tpl Template) body {
		var b body
		if err := json.Unmarshal(tpl.Body, &b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	alerts, _ := IndexTemplate(AlertsTemplate)
	findings, _ := IndexTemplate(FindingsTemplate)
	a, f := read(alerts), read(findings)
	if got := f.Template.Mappings.Properties["@timestamp"]; !reflect.DeepEqual(got, map[string]any{"type": "date_nanos"}) {
		t.Errorf("findings @timestamp %v", got)
	}
	delete(a.Template.Mappings.Properties, "@timestamp")
	delete(f.Template.Mappings.Properties, "@timestamp")
	if !reflect.DeepEqual(a.Template, f.Template) {
		t.Error("findings template differs from the alerts template beyond @timestamp")
	}
}
