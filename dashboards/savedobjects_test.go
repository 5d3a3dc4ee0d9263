package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/edgewatch/edgewatch/dashboards/internal/bundle"
	"github.com/edgewatch/edgewatch/internal/golden"
)

var kindFiles = map[string]string{
	KindOpenSearchDashboards: "saved_objects/opensearch-dashboards.ndjson",
	KindKibana:               "saved_objects/kibana.ndjson",
}

// TestSavedObjectsGolden keeps the embedded NDJSON files equal to what
// package bundle generates. Regenerate with -update.
func TestSavedObjectsGolden(t *testing.T) {
	for kind, file := range kindFiles {
		t.Run(kind, func(t *testing.T) {
			built, err := bundle.Build(kind)
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, file, built)
			if emb := savedObjects(t, kind); !bytes.Equal(emb, built) {
				t.Errorf("SavedObjects(%q) differs from what package bundle builds (rebuild after -update)", kind)
			}
		})
	}
}

// savedObjects is SavedObjects(kind); an error ends the test.
func savedObjects(t *testing.T, kind string) []byte {
	t.Helper()
	data, err := SavedObjects(kind)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// fromBundle is read (Aggregations, FieldsUsed) of the kind's bundle; an
// error ends the test.
func fromBundle[T any](t *testing.T, kind string, read func([]byte) (T, error)) T {
	t.Helper()
	v, err := read(savedObjects(t, kind))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSavedObjectsUnknownKind(t *testing.T) {
	if _, err := SavedObjects("grafana"); err == nil {
		t.Fatal("SavedObjects(grafana): want error")
	}
}

// TestBundlesHoldTheSameObjects backs the claim in savedobjects.go: the
// two bundles are the same objects in two products' formats — the same
// types, ids, titles and order, the same data view patterns and time
// fields, the same searches (every visualization's aggregations and query
// rebuild to the same request), the same columns, and the same dashboard
// layout showing the same objects.
func TestBundlesHoldTheSameObjects(t *testing.T) {
	load := func(kind string) []lintObject {
		return parseLines(t, savedObjects(t, kind))
	}
	osd, kbn := load(KindOpenSearchDashboards), load(KindKibana)
	if len(osd) != len(kbn) {
		t.Fatalf("%d objects vs %d", len(osd), len(kbn))
	}
	for i := range osd {
		o, k := osd[i], kbn[i]
		if o.Type != k.Type || o.ID != k.ID || o.Attributes["title"] != k.Attributes["title"] {
			t.Errorf("object %d: %s/%s %q vs %s/%s %q", i+1, o.Type, o.ID, o.Attributes["title"], k.Type, k.ID, k.Attributes["title"])
			continue
		}
		for _, attr := range []string{"timeFieldName", "columns", "sort", "description"} {
			if !cmp.Equal(o.Attributes[attr], k.Attributes[attr]) {
				t.Errorf("%s/%s: %s %v vs %v", o.Type, o.ID, attr, o.Attributes[attr], k.Attributes[attr])
			}
		}
		if o.Type == "dashboard" {
			if d := cmp.Diff(panelTargets(t, o, KindOpenSearchDashboards), panelTargets(t, k, KindKibana)); d != "" {
				t.Errorf("dashboard panels differ (-osd +kibana):\n%s", d)
			}
		}
	}
	if d := cmp.Diff(fromBundle(t, KindOpenSearchDashboards, Aggregations), fromBundle(t, KindKibana, Aggregations)); d != "" {
		t.Errorf("the visualizations' searches differ (-osd +kibana):\n%s", d)
	}
}

// panelTargets maps each panel's grid cell to the object it shows.
func panelTargets(t *testing.T, o lintObject, kind string) map[string]string {
	t.Helper()
	refs := map[string]bundle.Reference{}
	for _, r := range o.References {
		refs[r.Name] = r
	}
	var panels []lintPanel
	if err := json.Unmarshal([]byte(str(t, o, "panelsJSON")), &panels); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range panels {
		g := p.GridData
		out[fmt.Sprintf("%d,%d %dx%d", g.X, g.Y, g.W, g.H)] = refs[panelRefKey(kind, p)].Type + "/" + refs[panelRefKey(kind, p)].ID
	}
	return out
}

// panelRefKey is the name of the reference a panel points at: its
// panelRefName in the 7.x format, "<panelIndex>:<panelRefName>" in Kibana
// 8's (dashboards-formats.md §2).
func panelRefKey(kind string, p lintPanel) string {
	if kind == KindKibana {
		return p.PanelIndex + ":" + p.PanelRefName
	}
	return p.PanelRefName
}

type lintObject struct {
	Type                 string             `json:"type"`
	ID                   string             `json:"id"`
	Attributes           map[string]any     `json:"attributes"`
	References           []bundle.Reference `json:"references"`
	MigrationVersion     map[string]string  `json:"migrationVersion"`
	CoreMigrationVersion *string            `json:"coreMigrationVersion"`
	TypeMigrationVersion *string            `json:"typeMigrationVersion"`
	Managed              *bool              `json:"managed"`
}

// maxMigration is the newest migrationVersion OSD 2.x registers per type
// (dashboards-formats.md §1.2); a newer one fails the OSD import.
var maxMigration = map[string]string{
	"index-pattern": "7.6.0",
	"search":        "7.9.3",
	"visualization": "7.10.0",
	"dashboard":     "7.9.3",
}

// kibanaVersion is the typeMigrationVersion each type carries in the
// Kibana bundle: 8.x legacy versions (never 7.x, which Kibana 9 does not
// import; never a "10.N.0" model version, which older 8.x minors do not
// know). See bundle.KibanaTypeMigrationVersion for where they come from.
var kibanaVersion = map[string]string{
	"index-pattern": "8.0.0",
	"search":        "8.0.0",
	"visualization": "8.5.0",
	"dashboard":     "8.9.0",
}

// kibanaAttributes are the attributes Kibana's schemas accept per type
// (search 8.8.0 and dashboard 8.9.0 schemas forbid unknown keys;
// visualization 8.8.0 likewise; data views are what an 8.x export holds).
var kibanaAttributes = map[string][]string{
	"index-pattern": {"allowHidden", "fieldAttrs", "fieldFormatMap", "fields", "name", "runtimeFieldMap", "sourceFilters", "timeFieldName", "title", "typeMeta"},
	"search": {"title", "description", "columns", "sort", "grid", "rowHeight", "rowsPerPage", "hideChart", "breakdownField",
		"kibanaSavedObjectMeta", "isTextBasedQuery", "usesAdHocDataView", "timeRestore", "timeRange", "refreshInterval",
		"viewMode", "hideAggregatedPreview", "hits", "version"},
	"visualization": {"title", "description", "version", "kibanaSavedObjectMeta", "uiStateJSON", "visState", "savedSearchRefName"},
	"dashboard": {"title", "description", "kibanaSavedObjectMeta", "timeRestore", "timeFrom", "timeTo", "refreshInterval",
		"controlGroupInput", "panelsJSON", "optionsJSON", "hits", "version"},
}

// lintVersions checks an object's version fields for its product: OSD
// objects carry exactly the 7.x migrationVersion OSD knows and nothing of
// Kibana 8's; Kibana objects carry coreMigrationVersion 8.8.0, their
// type's typeMigrationVersion, the managed flag as exports write it, and no
// migrationVersion.
func lintVersions(t *testing.T, kind string, o lintObject) {
	t.Helper()
	if kind == KindOpenSearchDashboards {
		if got, want := o.MigrationVersion[o.Type], maxMigration[o.Type]; got != want || len(o.MigrationVersion) != 1 {
			t.Errorf("%s/%s: migrationVersion %v, want {%s: %s}", o.Type, o.ID, o.MigrationVersion, o.Type, want)
		}
		if o.CoreMigrationVersion != nil || o.TypeMigrationVersion != nil || o.Managed != nil {
			t.Errorf("%s/%s: Kibana 8 fields in the OSD bundle", o.Type, o.ID)
		}
		return
	}
	if o.MigrationVersion != nil {
		t.Errorf("%s/%s: migrationVersion %v in the Kibana 8 bundle", o.Type, o.ID, o.MigrationVersion)
	}
	if o.CoreMigrationVersion == nil || *o.CoreMigrationVersion != "8.8.0" {
		t.Errorf("%s/%s: coreMigrationVersion %v, want 8.8.0", o.Type, o.ID, o.CoreMigrationVersion)
	}
	if o.TypeMigrationVersion == nil || *o.TypeMigrationVersion != kibanaVersion[o.Type] {
		t.Errorf("%s/%s: typeMigrationVersion %v, want %s", o.Type, o.ID, o.TypeMigrationVersion, kibanaVersion[o.Type])
	}
	if o.Managed == nil || *o.Managed {
		t.Errorf("%s/%s: managed %v, want false (a user may edit the objects)", o.Type, o.ID, o.Managed)
	}
	for a := range o.Attributes {
		if !slices.Contains(kibanaAttributes[o.Type], a) {
			t.Errorf("%s/%s: attribute %s is not in Kibana's %s schema", o.Type, o.ID, a, o.Type)
		}
	}
	if o.Type == "index-pattern" {
		if name, _ := o.Attributes["name"].(string); name == "" {
			t.Errorf("index-pattern/%s: data views carry a display name", o.ID)
		}
	}
}

// schemas are the agg schemas each legacy vis type defines.
var schemas = map[string][]string{
	"histogram":      {"metric", "radius", "segment", "group", "split"},
	"horizontal_bar": {"metric", "radius", "segment", "group", "split"},
	"line":           {"metric", "radius", "segment", "group", "split"},
	"area":           {"metric", "radius", "segment", "group", "split"},
	"pie":            {"metric", "segment", "split"},
	"table":          {"metric", "bucket", "split"},
	"metric":         {"metric", "group"},
	"tagcloud":       {"metric", "segment"},
}

func parseLines(t *testing.T, data []byte) []lintObject {
	t.Helper()
	if len(data) == 0 || data[len(data)-1] != '\n' {
		t.Fatal("bundle must end with a newline")
	}
	var out []lintObject
	for i, line := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
		var o lintObject
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&o); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if dec.More() {
			t.Fatalf("line %d: more than one JSON value", i+1)
		}
		out = append(out, o)
	}
	return out
}

func str(t *testing.T, o lintObject, key string) string {
	t.Helper()
	s, ok := o.Attributes[key].(string)
	if !ok {
		t.Fatalf("%s/%s: attribute %s is not a string", o.Type, o.ID, key)
	}
	return s
}

func TestSavedObjectsLint(t *testing.T) {
	for kind := range kindFiles {
		t.Run(kind, func(t *testing.T) {
			data := savedObjects(t, kind)
			objs := parseLines(t, data)
			byKey := map[string]lintObject{}
			ids := map[string]bool{}
			for _, o := range objs {
				if o.Type == "" || o.ID == "" {
					t.Fatalf("object without type or id: %+v", o)
				}
				if ids[o.ID] {
					t.Errorf("duplicate id %s", o.ID)
				}
				ids[o.ID] = true
				byKey[o.Type+"/"+o.ID] = o
				if !strings.HasPrefix(o.ID, "edgewatch-") {
					t.Errorf("%s/%s: ids must start with edgewatch- (uninstall deletes by id)", o.Type, o.ID)
				}
				lintVersions(t, kind, o)
				if title, _ := o.Attributes["title"].(string); title == "" {
					t.Errorf("%s/%s: no title", o.Type, o.ID)
				}
			}
			// Every reference resolves to an object defined earlier in the file.
			seen := map[string]bool{}
			for _, o := range objs {
				names := map[string]bool{}
				for _, r := range o.References {
					if names[r.Name] {
						t.Errorf("%s/%s: duplicate reference name %s", o.Type, o.ID, r.Name)
					}
					names[r.Name] = true
					if !seen[r.Type+"/"+r.ID] {
						t.Errorf("%s/%s: reference %s → %s/%s is not an earlier object of the bundle", o.Type, o.ID, r.Name, r.Type, r.ID)
					}
				}
				seen[o.Type+"/"+o.ID] = true
				if o.Type == "index-pattern" {
					continue
				}
				meta, _ := o.Attributes["kibanaSavedObjectMeta"].(map[string]any)
				ssj, _ := meta["searchSourceJSON"].(string)
				var ss bundle.SearchSource
				if err := json.Unmarshal([]byte(ssj), &ss); err != nil {
					t.Errorf("%s/%s: searchSourceJSON: %v", o.Type, o.ID, err)
				}
				if ss.Query.Language != "kuery" {
					t.Errorf("%s/%s: query language %q", o.Type, o.ID, ss.Query.Language)
				}
				if _, err := parseKQL(ss.Query.Query); err != nil {
					t.Errorf("%s/%s: %v", o.Type, o.ID, err)
				}
				if o.Type != "dashboard" && !names[ss.IndexRefName] {
					t.Errorf("%s/%s: indexRefName %q has no reference", o.Type, o.ID, ss.IndexRefName)
				}
				switch o.Type {
				case "visualization":
					lintVis(t, o)
				case "dashboard":
					lintDashboard(t, kind, o, objs)
				}
			}
		})
	}
}

func lintVis(t *testing.T, o lintObject) {
	t.Helper()
	var st bundle.VisState
	dec := json.NewDecoder(strings.NewReader(str(t, o, "visState")))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		t.Fatalf("visualization/%s: visState: %v", o.ID, err)
	}
	if st.Title != o.Attributes["title"] {
		t.Errorf("visualization/%s: visState title %q != title %q", o.ID, st.Title, o.Attributes["title"])
	}
	allowed, ok := schemas[st.Type]
	if !ok {
		t.Fatalf("visualization/%s: vis type %q not a legacy type that both products ship", o.ID, st.Type)
	}
	var ui map[string]any
	if err := json.Unmarshal([]byte(str(t, o, "uiStateJSON")), &ui); err != nil {
		t.Errorf("visualization/%s: uiStateJSON: %v", o.ID, err)
	}
	aggIDs := map[string]bool{}
	var metrics int
	for _, a := range st.Aggs {
		if aggIDs[a.ID] {
			t.Errorf("visualization/%s: duplicate agg id %s", o.ID, a.ID)
		}
		aggIDs[a.ID] = true
		if !slices.Contains(allowed, a.Schema) {
			t.Errorf("visualization/%s: agg %s schema %q not valid for %s (%v)", o.ID, a.ID, a.Schema, st.Type, allowed)
		}
		if a.Schema == "metric" {
			metrics++
		}
	}
	if metrics == 0 {
		t.Errorf("visualization/%s: no metric agg", o.ID)
	}
	// The line/area/bar defaults' seriesParams point at metric agg "1".
	if st.Aggs[0].ID != "1" || st.Aggs[0].Schema != "metric" {
		t.Errorf("visualization/%s: the first agg must be metric id 1", o.ID)
	}
	if st.Type == "pie" && metrics != 1 {
		t.Errorf("visualization/%s: pie takes exactly one metric", o.ID)
	}
}

type lintPanel struct {
	Version  string `json:"version,omitempty"` // OSD / 7.x format
	Type     string `json:"type,omitempty"`    // Kibana 8 format
	GridData struct {
		X, Y, W, H int
		I          string
	} `json:"gridData"`
	PanelIndex       string         `json:"panelIndex"`
	EmbeddableConfig map[string]any `json:"embeddableConfig"`
	PanelRefName     string         `json:"panelRefName"`
}

func lintDashboard(t *testing.T, kind string, o lintObject, objs []lintObject) {
	t.Helper()
	var panels []lintPanel
	dec := json.NewDecoder(strings.NewReader(str(t, o, "panelsJSON")))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&panels); err != nil {
		t.Fatalf("dashboard/%s: panelsJSON: %v", o.ID, err)
	}
	var opts map[string]bool
	if err := json.Unmarshal([]byte(str(t, o, "optionsJSON")), &opts); err != nil {
		t.Errorf("dashboard/%s: optionsJSON: %v", o.ID, err)
	}
	refs := map[string]bundle.Reference{}
	for _, r := range o.References {
		refs[r.Name] = r
	}
	onDashboard := map[string]bool{}
	idx := map[string]bool{}
	type cell struct{ x, y int }
	used := map[cell]string{}
	for _, p := range panels {
		r, ok := refs[panelRefKey(kind, p)]
		if !ok {
			t.Errorf("dashboard: panel %s: no reference named %q", p.PanelIndex, panelRefKey(kind, p))
			continue
		}
		switch {
		case kind == KindKibana && (p.Type != r.Type || p.Version != "" || p.PanelRefName != "panel_"+p.PanelIndex):
			t.Errorf("dashboard: Kibana 8 panel %s: type %q (reference %s), version %q, panelRefName %q", p.PanelIndex, p.Type, r.Type, p.Version, p.PanelRefName)
		case kind == KindOpenSearchDashboards && (p.Type != "" || p.Version == ""):
			t.Errorf("dashboard: OSD panel %s: type %q, version %q", p.PanelIndex, p.Type, p.Version)
		}
		onDashboard[r.Type+"/"+r.ID] = true
		if p.PanelIndex == "" || p.PanelIndex != p.GridData.I || idx[p.PanelIndex] {
			t.Errorf("dashboard: panel index %q / gridData.i %q must be equal and unique", p.PanelIndex, p.GridData.I)
		}
		idx[p.PanelIndex] = true
		g := p.GridData
		if g.X < 0 || g.W <= 0 || g.X+g.W > 48 || g.Y < 0 || g.H <= 0 {
			t.Errorf("dashboard: panel %s gridData %+v outside the 48-column grid", p.PanelIndex, g)
		}
		for x := g.X; x < g.X+g.W; x++ {
			for y := g.Y; y < g.Y+g.H; y++ {
				if prev, ok := used[cell{x, y}]; ok {
					t.Fatalf("dashboard: panels %s and %s overlap at (%d,%d)", prev, p.PanelIndex, x, y)
				}
				used[cell{x, y}] = p.PanelIndex
			}
		}
	}
	if len(refs) != len(panels) {
		t.Errorf("dashboard: %d references for %d panels", len(refs), len(panels))
	}
	for _, other := range objs {
		if (other.Type == "visualization" || other.Type == "search") && !onDashboard[other.Type+"/"+other.ID] {
			t.Errorf("dashboard: %s/%s is not on the dashboard", other.Type, other.ID)
		}
	}
	if o.Attributes["timeRestore"] != true {
		t.Error("dashboard: timeRestore should be true so the default range applies")
	}
}

func TestObjectRefs(t *testing.T) {
	data := savedObjects(t, KindKibana)
	refs, err := ObjectRefs(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 16 {
		t.Errorf("got %d objects, want 16", len(refs))
	}
	if refs[0] != (ObjectRef{Type: "index-pattern", ID: "edgewatch-alerts", Title: AlertsPattern}) {
		t.Errorf("first object %+v", refs[0])
	}
	if last := refs[len(refs)-1]; last.Type != "dashboard" || last.ID != DashboardID {
		t.Errorf("last object %+v, want the dashboard", last)
	}
	withSummary := append(append([]byte{}, data...), []byte("\n{\"exportedCount\":16,\"missingRefCount\":0,\"missingReferences\":[]}\n")...)
	refs2, err := ObjectRefs(withSummary)
	if err != nil || len(refs2) != 16 {
		t.Errorf("with export summary: %d refs, err %v", len(refs2), err)
	}
	for _, bad := range []string{"{not json\n", "{\"type\":\"visualization\"}\n"} {
		if _, err := ObjectRefs([]byte(bad)); err == nil {
			t.Errorf("ObjectRefs(%q): want error", bad)
		}
	}
}

// TestFieldsUsedGolden pins the list of fields the dashboards need, so a
// change of panel fields shows up in review next to the template change it
// needs. Regenerate with -update.
func TestFieldsUsedGolden(t *testing.T) {
	// From the generator, not the embed, so one -update run refreshes both.
	data, err := bundle.Build(KindOpenSearchDashboards)
	if err != nil {
		t.Fatal(err)
	}
	uses, err := FieldsUsed(data)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	for _, u := range uses {
		fmt.Fprintf(&buf, "%-24s %-34s %-15s %s\n", u.Pattern, u.Field, u.Use, u.Object)
	}
	golden.Check(t, filepath.Join("testdata", "fields_used.golden"), buf.Bytes())
}
