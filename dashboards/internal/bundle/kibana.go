package bundle

import (
	"encoding/json"
	"fmt"
	"maps"
)

// The Kibana 8.x shape of the objects: what a Kibana 8 export of them
// holds, so Kibana imports them as an export of its own or the previous
// major, with no legacy migration to run.

// dataViewAttrs are a data view's (index-pattern's) attributes as a Kibana
// 8 export writes them: name is the display name, title the pattern, and
// the field lists are JSON strings ("[]" / "{}": Kibana reads the fields
// from the field caps).
type dataViewAttrs struct {
	AllowHidden     bool   `json:"allowHidden"`
	FieldAttrs      string `json:"fieldAttrs"`
	FieldFormatMap  string `json:"fieldFormatMap"`
	Fields          string `json:"fields"`
	Name            string `json:"name"`
	RuntimeFieldMap string `json:"runtimeFieldMap"`
	SourceFilters   string `json:"sourceFilters"`
	TimeFieldName   string `json:"timeFieldName,omitempty"`
	Title           string `json:"title"`
}

// kibanaSearchAttrs are a saved search's attributes in the shape Kibana's
// search schema 8.8.0 accepts (hits and version are legacy; exports omit
// them).
type kibanaSearchAttrs struct {
	Columns               []string       `json:"columns"`
	Description           string         `json:"description"`
	Grid                  map[string]any `json:"grid"`
	HideChart             bool           `json:"hideChart"`
	IsTextBasedQuery      bool           `json:"isTextBasedQuery"`
	KibanaSavedObjectMeta searchMeta     `json:"kibanaSavedObjectMeta"`
	Sort                  [][]string     `json:"sort"`
	TimeRestore           bool           `json:"timeRestore"`
	Title                 string         `json:"title"`
}

type kibanaVisAttrs struct {
	Description           string     `json:"description"`
	KibanaSavedObjectMeta searchMeta `json:"kibanaSavedObjectMeta"`
	Title                 string     `json:"title"`
	UIStateJSON           string     `json:"uiStateJSON"`
	Version               int        `json:"version"`
	VisState              string     `json:"visState"`
}

// kibanaDashboardAttrs are within Kibana's dashboard schema 8.9.0 (which
// forbids unknown attributes); hits is legacy and left out.
type kibanaDashboardAttrs struct {
	Description           string          `json:"description"`
	KibanaSavedObjectMeta searchMeta      `json:"kibanaSavedObjectMeta"`
	OptionsJSON           string          `json:"optionsJSON"`
	PanelsJSON            string          `json:"panelsJSON"`
	RefreshInterval       refreshInterval `json:"refreshInterval"`
	TimeFrom              string          `json:"timeFrom"`
	TimeRestore           bool            `json:"timeRestore"`
	TimeTo                string          `json:"timeTo"`
	Title                 string          `json:"title"`
	Version               int             `json:"version"`
}

// dataViewNames are the display names of the data views.
var dataViewNames = map[string]string{
	IDAlertsPattern:     "edgewatch alerts",
	IDStatePattern:      "edgewatch run records",
	IDIndicatorsPattern: "edgewatch indicators",
}

// kibana8 is o in the Kibana 8.x shape.
func kibana8(o Object) (KibanaObject, error) {
	k := KibanaObject{
		ID:                   o.ID,
		Type:                 o.Type,
		References:           o.References,
		CoreMigrationVersion: KibanaCoreMigrationVersion,
		TypeMigrationVersion: KibanaTypeMigrationVersion[o.Type],
	}
	if k.TypeMigrationVersion == "" {
		return k, fmt.Errorf("bundle: no Kibana typeMigrationVersion for type %s", o.Type)
	}
	switch a := o.Attributes.(type) {
	case indexPatternAttrs:
		k.Attributes = dataViewAttrs{
			FieldAttrs: "{}", FieldFormatMap: "{}", Fields: "[]", RuntimeFieldMap: "{}", SourceFilters: "[]",
			Name: dataViewNames[o.ID], TimeFieldName: a.TimeFieldName, Title: a.Title,
		}
	case searchAttrs:
		k.Attributes = kibanaSearchAttrs{
			Columns: a.Columns, Description: a.Description, Grid: map[string]any{},
			KibanaSavedObjectMeta: a.KibanaSavedObjectMeta, Sort: a.Sort, Title: a.Title,
		}
	case visAttrs:
		var st VisState
		if err := json.Unmarshal([]byte(a.VisState), &st); err != nil {
			return k, fmt.Errorf("bundle: visualization %s: %w", o.ID, err)
		}
		k.Attributes = kibanaVisAttrs{
			Description: a.Description, KibanaSavedObjectMeta: a.KibanaSavedObjectMeta, Title: a.Title,
			UIStateJSON: a.UIStateJSON, Version: a.Version, VisState: mustJSON(kibanaVisState(st)),
		}
	case dashboardAttrs:
		attrs, refs, err := kibanaDashboard(a, o.References)
		if err != nil {
			return k, fmt.Errorf("bundle: dashboard %s: %w", o.ID, err)
		}
		k.Attributes, k.References = attrs, refs
	default:
		return k, fmt.Errorf("bundle: %s/%s: no Kibana shape for %T", o.Type, o.ID, o.Attributes)
	}
	return k, nil
}

// kibanaVisState applies to a 7.10 visState the legacy migrations Kibana
// registers between 7.10.0 and 8.5.0 that touch the vis types used here
// (visualization_saved_object_migrations.ts and
// visualization_common_migrations.ts), since a typeMigrationVersion of
// 8.5.0 tells Kibana they already ran:
//   - 7.11.0 table: showToolbar true;
//   - 7.12.0 vislib area/line/bar (params.type histogram): a palette,
//     isVislibVis and detailedTooltip;
//   - 7.14.0 pie: a palette and distinctColors;
//   - 8.1.0 pie: addLegend becomes legendDisplay "show" / "hide";
//   - 8.3.0 pie and bar charts: legendSize "auto" (the old default).
//
// The aggregations are not touched: the searches are the OSD bundle's.
func kibanaVisState(st VisState) VisState {
	p := maps.Clone(st.Params)
	palette := map[string]any{"type": "palette", "name": "kibana_palette"}
	switch st.Type {
	case "table":
		p["showToolbar"] = true
	case "pie":
		p["palette"], p["distinctColors"] = palette, true
		legend := "hide"
		if p["addLegend"] == true {
			legend = "show"
		}
		delete(p, "addLegend")
		p["legendDisplay"] = legend
		p["legendSize"] = "auto"
	}
	switch t, _ := p["type"].(string); t {
	case "histogram", "line", "area":
		p["palette"], p["isVislibVis"], p["detailedTooltip"] = palette, true, true
		if t != "histogram" {
			p["fittingFunction"] = "linear"
		}
	}
	switch st.Type {
	case "histogram", "horizontal_bar", "line", "area":
		p["legendSize"] = "auto"
	}
	st.Params = p
	return st
}

// kibanaDashboard turns the OSD dashboard into a Kibana 8 one: each panel
// carries its object's type and refers to it as "panel_<panelIndex>"
// through a reference named "<panelIndex>:panel_<panelIndex>", as Kibana's
// dashboard reference extraction writes them; the options carry the sync
// flags Kibana 8 saves.
func kibanaDashboard(a dashboardAttrs, refs []Reference) (kibanaDashboardAttrs, []Reference, error) {
	var panels []panel
	if err := json.Unmarshal([]byte(a.PanelsJSON), &panels); err != nil {
		return kibanaDashboardAttrs{}, nil, err
	}
	byName := map[string]Reference{}
	for _, r := range refs {
		byName[r.Name] = r
	}
	kp := make([]kibanaPanel, 0, len(panels))
	kr := make([]Reference, 0, len(panels))
	for _, p := range panels {
		r, ok := byName[p.PanelRefName]
		if !ok {
			return kibanaDashboardAttrs{}, nil, fmt.Errorf("panel %s: no reference %s", p.PanelIndex, p.PanelRefName)
		}
		refName := "panel_" + p.PanelIndex
		kp = append(kp, kibanaPanel{
			Type:             r.Type,
			GridData:         p.GridData,
			PanelIndex:       p.PanelIndex,
			EmbeddableConfig: map[string]any{"enhancements": map[string]any{}},
			PanelRefName:     refName,
		})
		kr = append(kr, Reference{Name: p.PanelIndex + ":" + refName, Type: r.Type, ID: r.ID})
	}
	return kibanaDashboardAttrs{
		Description:           a.Description,
		KibanaSavedObjectMeta: a.KibanaSavedObjectMeta,
		OptionsJSON: mustJSON(map[string]bool{"useMargins": true, "syncColors": false, "syncCursor": true,
			"syncTooltips": false, "hidePanelTitles": false}),
		PanelsJSON:      mustJSON(kp),
		RefreshInterval: a.RefreshInterval,
		TimeFrom:        a.TimeFrom,
		TimeRestore:     a.TimeRestore,
		TimeTo:          a.TimeTo,
		Title:           a.Title,
		Version:         a.Version,
	}, kr, nil
}
