package bundle

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/edgewatch/edgewatch/plugin/wire"
)

// Bundle kinds.
const (
	KindOpenSearchDashboards = "opensearch-dashboards"
	KindKibana               = "kibana"
)

// Index names and patterns the objects read (wire's, which the index
// templates in dashboards/templates match).
const (
	AlertsPattern     = wire.AlertsPattern
	StateIndex        = wire.StateIndex
	IndicatorsPattern = wire.IndicatorsPattern
)

// Fixed object ids: re-importing with overwrite=true replaces the objects in
// place, and uninstall deletes exactly these.
const (
	IDAlertsPattern     = "edgewatch-alerts"
	IDStatePattern      = "edgewatch-state"
	IDIndicatorsPattern = "edgewatch-indicators"
	IDLatestAlerts      = "edgewatch-latest-alerts"
	IDAlertCount        = "edgewatch-alert-count"
	IDAlertsOverTime    = "edgewatch-alerts-over-time"
	IDTopIPs            = "edgewatch-top-ips"
	IDTopDevices        = "edgewatch-top-devices"
	IDPorts             = "edgewatch-targeted-ports"
	IDProcesses         = "edgewatch-initiating-processes"
	IDReasons           = "edgewatch-internet-facing-reasons"
	IDFeedSummary       = "edgewatch-feed-summary"
	IDFeedLevels        = "edgewatch-feed-levels"
	IDRunHealth         = "edgewatch-run-health"
	IDRunsOverTime      = "edgewatch-runs-over-time"
	IDDashboard         = "edgewatch-overview"
)

// Two shapes of the same objects. OpenSearch Dashboards 2.x gets the 7.x
// format it knows (migrationVersion maps). Kibana gets the 8.x format of a
// Kibana 8 export (coreMigrationVersion + typeMigrationVersion, data-view
// attributes, typed dashboard panels, managed flags): Kibana imports an
// export of the previous major at most, so 7.x objects would reach 9.x only
// by an unsupported 7.x → 9.x migration path (dashboards-formats.md §2).

// migrationVersion values: the latest migrations OSD 2.x registers for each
// type (dashboards-formats.md §1.2); never a version newer than OSD knows.
var migrationVersion = map[string]string{
	"index-pattern": "7.6.0",
	"search":        "7.9.3",
	"visualization": "7.10.0",
	"dashboard":     "7.9.3",
}

// KibanaCoreMigrationVersion is the coreMigrationVersion Kibana 8.8+
// exports carry (the core migration that introduced typeMigrationVersion).
const KibanaCoreMigrationVersion = "8.8.0"

// KibanaTypeMigrationVersion is the typeMigrationVersion of each type in
// the Kibana bundle: the newest legacy (semver) migration each type
// registers in Kibana 8.x, read from Kibana's source — index-pattern 8.0.0
// (data views: convertToMultiNamespaceTypeVersion), search 8.0.0 (its
// migrations stop at 7.9.3 plus the 8.0.0 namespace conversion),
// visualization 8.5.0 (removeExclamationCircleIcon), dashboard 8.9.0 (the
// embeddable migrations merged into the dashboard's) — and what Kibana
// 8.9–8.13 exports carry. Kibana 8.10+ moved search and dashboard to model
// versions ("10.N.0"); those are newer than older 8.x minors know, so they
// are not used: these values import into Kibana 8.9 and later 8.x, and into
// 9.x (an export of the previous major), which run the model-version
// transforms on import. The objects are written in the shape these versions
// mean, so no migration has to reshape them.
var KibanaTypeMigrationVersion = map[string]string{
	"index-pattern": "8.0.0",
	"search":        "8.0.0",
	"visualization": "8.5.0",
	"dashboard":     "8.9.0",
}

// panelVersion is the app version written into each OSD dashboard panel,
// as an OSD export carries it (OSD re-migrates panels only for 6.x/<7.3
// versions, migrate_to_730_panels.ts). Kibana 8 panels carry none.
const panelVersion = "2.0.0"

// Object is one saved object line of the OSD bundle.
type Object struct {
	Type             string            `json:"type"`
	ID               string            `json:"id"`
	Attributes       any               `json:"attributes"`
	References       []Reference       `json:"references"`
	MigrationVersion map[string]string `json:"migrationVersion"`
}

// KibanaObject is one saved object line of the Kibana 8.x bundle, keys in
// the order a Kibana export writes them.
type KibanaObject struct {
	Attributes           any         `json:"attributes"`
	CoreMigrationVersion string      `json:"coreMigrationVersion"`
	ID                   string      `json:"id"`
	Managed              bool        `json:"managed"`
	References           []Reference `json:"references"`
	Type                 string      `json:"type"`
	TypeMigrationVersion string      `json:"typeMigrationVersion"`
}

// Reference points from one saved object to another by id.
type Reference struct {
	Name string `json:"name"`
	Type string `json:"type"`
	ID   string `json:"id"`
}

type searchMeta struct {
	SearchSourceJSON string `json:"searchSourceJSON"`
}

type indexPatternAttrs struct {
	Title         string `json:"title"`
	TimeFieldName string `json:"timeFieldName,omitempty"`
	Fields        string `json:"fields"`
}

type searchAttrs struct {
	Title                 string     `json:"title"`
	Description           string     `json:"description"`
	Hits                  int        `json:"hits"`
	Columns               []string   `json:"columns"`
	Sort                  [][]string `json:"sort"`
	Version               int        `json:"version"`
	KibanaSavedObjectMeta searchMeta `json:"kibanaSavedObjectMeta"`
}

type visAttrs struct {
	Title                 string     `json:"title"`
	VisState              string     `json:"visState"`
	UIStateJSON           string     `json:"uiStateJSON"`
	Description           string     `json:"description"`
	Version               int        `json:"version"`
	KibanaSavedObjectMeta searchMeta `json:"kibanaSavedObjectMeta"`
}

type dashboardAttrs struct {
	Title                 string          `json:"title"`
	Description           string          `json:"description"`
	Hits                  int             `json:"hits"`
	PanelsJSON            string          `json:"panelsJSON"`
	OptionsJSON           string          `json:"optionsJSON"`
	TimeRestore           bool            `json:"timeRestore"`
	TimeFrom              string          `json:"timeFrom"`
	TimeTo                string          `json:"timeTo"`
	RefreshInterval       refreshInterval `json:"refreshInterval"`
	Version               int             `json:"version"`
	KibanaSavedObjectMeta searchMeta      `json:"kibanaSavedObjectMeta"`
}

type refreshInterval struct {
	Pause bool `json:"pause"`
	Value int  `json:"value"`
}

// VisState is the decoded visState of a legacy visualization.
type VisState struct {
	Title  string         `json:"title"`
	Type   string         `json:"type"`
	Aggs   []Agg          `json:"aggs"`
	Params map[string]any `json:"params"`
}

// Agg is one aggregation of a visState.
type Agg struct {
	ID      string         `json:"id"`
	Enabled bool           `json:"enabled"`
	Type    string         `json:"type"`
	Schema  string         `json:"schema"`
	Params  map[string]any `json:"params"`
}

// SearchSource is the decoded kibanaSavedObjectMeta.searchSourceJSON.
type SearchSource struct {
	Query        Query  `json:"query"`
	Filter       []any  `json:"filter"`
	IndexRefName string `json:"indexRefName,omitempty"`
}

// Query is a saved query (KQL).
type Query struct {
	Query    string `json:"query"`
	Language string `json:"language"`
}

type panel struct {
	Version          string         `json:"version"`
	GridData         gridData       `json:"gridData"`
	PanelIndex       string         `json:"panelIndex"`
	EmbeddableConfig map[string]any `json:"embeddableConfig"`
	PanelRefName     string         `json:"panelRefName"`
}

// kibanaPanel is a Kibana 8 dashboard panel: its saved object's type in
// the panel, no app version.
type kibanaPanel struct {
	Type             string         `json:"type"`
	GridData         gridData       `json:"gridData"`
	PanelIndex       string         `json:"panelIndex"`
	EmbeddableConfig map[string]any `json:"embeddableConfig"`
	PanelRefName     string         `json:"panelRefName"`
}

type gridData struct {
	X int    `json:"x"`
	Y int    `json:"y"`
	W int    `json:"w"`
	H int    `json:"h"`
	I string `json:"i"`
}

const indexRefName = "kibanaSavedObjectMeta.searchSourceJSON.index"

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("bundle: marshal %T: %v", v, err))
	}
	return string(b)
}

func indexPattern(id, title, timeField string) Object {
	return Object{
		Type:             "index-pattern",
		ID:               id,
		Attributes:       indexPatternAttrs{Title: title, TimeFieldName: timeField, Fields: "[]"},
		References:       []Reference{},
		MigrationVersion: map[string]string{"index-pattern": migrationVersion["index-pattern"]},
	}
}

func searchSource(kql string) string {
	return mustJSON(SearchSource{
		Query:        Query{Query: kql, Language: "kuery"},
		Filter:       []any{},
		IndexRefName: indexRefName,
	})
}

func indexRef(patternID string) []Reference {
	return []Reference{{Name: indexRefName, Type: "index-pattern", ID: patternID}}
}

// vis builds a legacy aggregation-based visualization on an index pattern.
func vis(id, patternID, kql string, st VisState, uiState map[string]any) Object {
	if uiState == nil {
		uiState = map[string]any{}
	}
	return Object{
		Type: "visualization",
		ID:   id,
		Attributes: visAttrs{
			Title:                 st.Title,
			VisState:              mustJSON(st),
			UIStateJSON:           mustJSON(uiState),
			Description:           "",
			Version:               1,
			KibanaSavedObjectMeta: searchMeta{SearchSourceJSON: searchSource(kql)},
		},
		References:       indexRef(patternID),
		MigrationVersion: map[string]string{"visualization": migrationVersion["visualization"]},
	}
}

func count(id string) Agg {
	return Agg{ID: id, Enabled: true, Type: "count", Schema: "metric", Params: map[string]any{}}
}

// events is the number of network events alerts stand for: the sum of a
// grouped alert's edgewatch.suppression.docs_count, an alert without one
// (one per event, no --group-by) counting 1 (the metric's JSON input,
// merged into the aggregation, as both products do).
func events(id string) Agg {
	a := metric(id, "sum", "edgewatch.suppression.docs_count", "Events")
	a.Params["json"] = `{"missing":1}`
	return a
}

func metric(id, typ, field, label string) Agg {
	p := map[string]any{"field": field}
	if label != "" {
		p["customLabel"] = label
	}
	return Agg{ID: id, Enabled: true, Type: typ, Schema: "metric", Params: p}
}

// terms orders by the metric with id orderBy ("1" is the count in every
// visualization here); orderBy "_key" sorts by the term itself.
func terms(id, schema, field string, size int, orderBy, label string) Agg {
	p := map[string]any{
		"field":              field,
		"orderBy":            orderBy,
		"order":              "desc",
		"size":               size,
		"otherBucket":        false,
		"otherBucketLabel":   "Other",
		"missingBucket":      false,
		"missingBucketLabel": "Missing",
	}
	if label != "" {
		p["customLabel"] = label
	}
	return Agg{ID: id, Enabled: true, Type: "terms", Schema: schema, Params: p}
}

func dateHistogram(id, schema, field string) Agg {
	return Agg{ID: id, Enabled: true, Type: "date_histogram", Schema: schema, Params: map[string]any{
		"field":           field,
		"interval":        "auto",
		"drop_partials":   false,
		"min_doc_count":   1,
		"extended_bounds": map[string]any{},
	}}
}

func filters(id, schema string, f ...[2]string) Agg {
	list := make([]any, 0, len(f))
	for _, lf := range f {
		list = append(list, map[string]any{
			"input": map[string]any{"query": lf[1], "language": "kuery"},
			"label": lf[0],
		})
	}
	return Agg{ID: id, Enabled: true, Type: "filters", Schema: schema, Params: map[string]any{"filters": list}}
}

// Severity colours, shared with the HTML report.
var severityColors = map[string]any{
	"critical": "#BD271E",
	"high":     "#E7664C",
	"medium":   "#D6BF57",
	"low":      "#54B399",
}

// Columns of the saved search: the seed query's projection (Timestamp,
// DeviceName, ThreatIntelligenceIP, LocalPort, InitiatingProcessFileName),
// plus severity and the IPsum count, and for a grouped alert (--group-by)
// its event count and first and last event times. Discover shows
// @timestamp itself.
var Columns = []string{
	"host.name",
	"source.ip",
	"destination.port",
	"process.name",
	"edgewatch.severity",
	"edgewatch.indicator.count",
	"edgewatch.suppression.docs_count",
	"edgewatch.suppression.start",
	"edgewatch.suppression.end",
}

const runQuery = `type:"run"`

func objects() []Object {
	objs := []Object{
		indexPattern(IDAlertsPattern, AlertsPattern, "@timestamp"),
		indexPattern(IDStatePattern, StateIndex, "started_at"),
		// No time field: the live indicator set is whatever the index holds,
		// however long ago the feed was loaded; a time filter would hide it.
		indexPattern(IDIndicatorsPattern, IndicatorsPattern, ""),
		{
			Type: "search",
			ID:   IDLatestAlerts,
			Attributes: searchAttrs{
				Title:                 "Latest edgewatch alerts",
				Description:           "Inbound connections accepted on an internet-facing port from a threat-intel IP (newest first).",
				Hits:                  0,
				Columns:               Columns,
				Sort:                  [][]string{{"@timestamp", "desc"}},
				Version:               1,
				KibanaSavedObjectMeta: searchMeta{SearchSourceJSON: searchSource("")},
			},
			References:       indexRef(IDAlertsPattern),
			MigrationVersion: map[string]string{"search": migrationVersion["search"]},
		},
		vis(IDAlertCount, IDAlertsPattern, "", VisState{
			Title:  "edgewatch: alerts",
			Type:   "metric",
			Aggs:   []Agg{count("1"), metric("2", "cardinality", "host.name", "Devices"), events("3")},
			Params: map[string]any{"type": "metric", "addTooltip": true, "addLegend": false},
		}, nil),
		vis(IDAlertsOverTime, IDAlertsPattern, "", VisState{
			Title: "edgewatch: alerts over time by severity",
			Type:  "histogram",
			Aggs: []Agg{
				count("1"),
				dateHistogram("2", "segment", "@timestamp"),
				terms("3", "group", "edgewatch.severity", 4, "1", "Severity"),
				events("4"),
			},
			Params: map[string]any{"type": "histogram", "addTooltip": true, "addLegend": true, "legendPosition": "right"},
		}, map[string]any{"vis": map[string]any{"colors": severityColors}}),
		vis(IDTopIPs, IDAlertsPattern, "", VisState{
			Title: "edgewatch: top threat-intel IPs",
			Type:  "table",
			Aggs: []Agg{
				count("1"),
				metric("2", "max", "edgewatch.indicator.count", "IPsum count"),
				terms("3", "bucket", "source.ip", 20, "1", "Threat-intel IP"),
				events("4"),
			},
			Params: map[string]any{"perPage": 10, "showPartialRows": false, "showMetricsAtAllLevels": false, "showTotal": false, "totalFunc": "sum", "percentageCol": ""},
		}, nil),
		vis(IDTopDevices, IDAlertsPattern, "", VisState{
			Title:  "edgewatch: top targeted devices",
			Type:   "horizontal_bar",
			Aggs:   []Agg{count("1"), terms("2", "segment", "host.name", 15, "1", "Device"), events("3")},
			Params: map[string]any{"type": "histogram", "addTooltip": true, "addLegend": false},
		}, nil),
		vis(IDPorts, IDAlertsPattern, "", VisState{
			Title:  "edgewatch: targeted local ports",
			Type:   "pie",
			Aggs:   []Agg{count("1"), terms("2", "segment", "destination.port", 10, "1", "Local port")},
			Params: map[string]any{"type": "pie", "addTooltip": true, "addLegend": true, "legendPosition": "right", "isDonut": true},
		}, nil),
		vis(IDProcesses, IDAlertsPattern, "", VisState{
			Title:  "edgewatch: initiating processes",
			Type:   "horizontal_bar",
			Aggs:   []Agg{count("1"), terms("2", "segment", "process.name", 15, "1", "Process")},
			Params: map[string]any{"type": "histogram", "addTooltip": true, "addLegend": false},
		}, nil),
		vis(IDReasons, IDAlertsPattern, "", VisState{
			Title:  "edgewatch: internet-facing reason",
			Type:   "pie",
			Aggs:   []Agg{count("1"), terms("2", "segment", "edgewatch.internet_facing.reason", 10, "1", "Reason")},
			Params: map[string]any{"type": "pie", "addTooltip": true, "addLegend": true, "legendPosition": "right", "isDonut": true},
		}, nil),
		vis(IDFeedSummary, IDIndicatorsPattern, "", VisState{
			Title:  "edgewatch: threat-intel feed",
			Type:   "metric",
			Aggs:   []Agg{count("1"), metric("2", "max", "loaded_at", "Feed loaded at")},
			Params: map[string]any{"type": "metric", "addTooltip": true, "addLegend": false},
		}, nil),
		vis(IDFeedLevels, IDIndicatorsPattern, "", VisState{
			Title: "edgewatch: indicators per IPsum level",
			Type:  "table",
			Aggs: []Agg{
				count("1"),
				metric("2", "max", "loaded_at", "Loaded at"),
				terms("3", "bucket", "level", 10, "_key", "Level"),
			},
			Params: map[string]any{"perPage": 10, "showPartialRows": false, "showMetricsAtAllLevels": false, "showTotal": true, "totalFunc": "sum", "percentageCol": ""},
		}, nil),
		vis(IDRunHealth, IDStatePattern, runQuery, VisState{
			Title: "edgewatch: run health",
			Type:  "table",
			Aggs: []Agg{
				count("1"),
				metric("2", "avg", "duration_ms", "Avg duration (ms)"),
				metric("3", "max", "duration_ms", "Max duration (ms)"),
				metric("4", "max", "lag_ms", "Max lag (ms)"),
				metric("5", "max", "finished_at", "Last finished"),
				terms("6", "bucket", "detection", 20, "1", "Detection"),
				terms("7", "bucket", "outcome", 5, "1", "Outcome"),
			},
			Params: map[string]any{"perPage": 10, "showPartialRows": false, "showMetricsAtAllLevels": false, "showTotal": false, "totalFunc": "sum", "percentageCol": ""},
		}, nil),
		vis(IDRunsOverTime, IDStatePattern, runQuery, VisState{
			Title: "edgewatch: runs and failures over time",
			Type:  "histogram",
			Aggs: []Agg{
				count("1"),
				dateHistogram("2", "segment", "started_at"),
				filters("3", "group", [2]string{"failed", `outcome:"failed"`}, [2]string{"success", `outcome:"success"`}),
			},
			Params: map[string]any{"type": "histogram", "addTooltip": true, "addLegend": true, "legendPosition": "right"},
		}, map[string]any{"vis": map[string]any{"colors": map[string]any{"failed": "#BD271E", "success": "#54B399"}}}),
	}
	objs = append(objs, dashboard())
	return objs
}

// layout is the dashboard grid (48 columns wide), in reading order.
var layout = []struct {
	id, typ    string
	x, y, w, h int
}{
	{IDAlertCount, "visualization", 0, 0, 10, 8},
	{IDFeedSummary, "visualization", 0, 8, 10, 7},
	{IDAlertsOverTime, "visualization", 10, 0, 38, 15},
	{IDTopIPs, "visualization", 0, 15, 24, 16},
	{IDTopDevices, "visualization", 24, 15, 24, 16},
	{IDPorts, "visualization", 0, 31, 16, 13},
	{IDProcesses, "visualization", 16, 31, 16, 13},
	{IDReasons, "visualization", 32, 31, 16, 13},
	{IDLatestAlerts, "search", 0, 44, 48, 18},
	{IDFeedLevels, "visualization", 0, 62, 16, 13},
	{IDRunHealth, "visualization", 16, 62, 32, 13},
	{IDRunsOverTime, "visualization", 0, 75, 48, 12},
}

func dashboard() Object {
	panels := make([]panel, 0, len(layout))
	refs := make([]Reference, 0, len(layout))
	for n, l := range layout {
		idx := fmt.Sprintf("%d", n+1)
		ref := fmt.Sprintf("panel_%d", n)
		panels = append(panels, panel{
			Version:          panelVersion,
			GridData:         gridData{X: l.x, Y: l.y, W: l.w, H: l.h, I: idx},
			PanelIndex:       idx,
			EmbeddableConfig: map[string]any{},
			PanelRefName:     ref,
		})
		refs = append(refs, Reference{Name: ref, Type: l.typ, ID: l.id})
	}
	return Object{
		Type: "dashboard",
		ID:   IDDashboard,
		Attributes: dashboardAttrs{
			Title: "edgewatch: threat-intel connections to internet-facing devices",
			Description: "Inbound connections accepted on an internet-facing port from an IPsum address. " +
				"Click an IP, device, port or process to filter every alert panel.",
			Hits:            0,
			PanelsJSON:      mustJSON(panels),
			OptionsJSON:     mustJSON(map[string]bool{"useMargins": true, "hidePanelTitles": false}),
			TimeRestore:     true,
			TimeFrom:        "now-7d",
			TimeTo:          "now",
			RefreshInterval: refreshInterval{Pause: true, Value: 0},
			Version:         1,
			KibanaSavedObjectMeta: searchMeta{SearchSourceJSON: mustJSON(map[string]any{
				"query":  Query{Query: "", Language: "kuery"},
				"filter": []any{},
			})},
		},
		References:       refs,
		MigrationVersion: map[string]string{"dashboard": migrationVersion["dashboard"]},
	}
}

// Build renders the NDJSON bundle for kind: one object per line, each line
// ending in "\n", referenced objects before the objects that refer to them.
func Build(kind string) ([]byte, error) {
	var lines []any
	switch kind {
	case KindOpenSearchDashboards:
		for _, o := range objects() {
			lines = append(lines, o)
		}
	case KindKibana:
		for _, o := range objects() {
			k, err := kibana8(o)
			if err != nil {
				return nil, err
			}
			lines = append(lines, k)
		}
	default:
		return nil, fmt.Errorf("bundle: unknown kind %q (want %q or %q)", kind, KindOpenSearchDashboards, KindKibana)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for i, l := range lines {
		if err := enc.Encode(l); err != nil {
			return nil, fmt.Errorf("bundle: encode object %d: %w", i+1, err)
		}
	}
	return buf.Bytes(), nil
}
