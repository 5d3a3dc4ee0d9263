package dashboards

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"

	"github.com/edgewatch/edgewatch/dashboards/internal/bundle"
)

// Saved-object bundle kinds, one per product.
const (
	KindOpenSearchDashboards = bundle.KindOpenSearchDashboards
	KindKibana               = bundle.KindKibana
)

// Index names and patterns the saved objects read.
const (
	AlertsPattern     = bundle.AlertsPattern
	StateIndex        = bundle.StateIndex
	IndicatorsPattern = bundle.IndicatorsPattern
	// DashboardID is the id of the overview dashboard
	// (<dashboards>/app/dashboards#/view/<id>).
	DashboardID = bundle.IDDashboard
)

// Both bundles are generated from package bundle by the golden test
// (go test ./dashboards -run TestSavedObjectsGolden -update) and are also
// usable by hand: Stack Management → Saved objects → Import.
//
// Why two files: they hold the same objects (ids, titles, searches,
// dashboard layout; TestBundlesHoldTheSameObjects) in each product's
// format. OpenSearch Dashboards 2.x gets the 7.x format it knows
// (migrationVersion index-pattern 7.6.0, search 7.9.3, visualization
// 7.10.0, dashboard 7.9.3 — the newest OSD 2.x registers). Kibana gets the
// format of a Kibana 8 export: coreMigrationVersion 8.8.0 and a
// typeMigrationVersion per type (index-pattern 8.0.0, search 8.0.0,
// visualization 8.5.0, dashboard 8.9.0), data-view attributes, typed
// dashboard panels referenced as "<panelIndex>:panel_<panelIndex>",
// managed false. Kibana imports exports of its own major or the previous
// one, so this bundle is supported on Kibana 8.9+ and 9.x, where a 7.x file
// would reach 9.x only by an unsupported 7.x → 9.x migration path; an 8.x
// file does not import into OSD (versions it does not know).

//go:embed saved_objects/opensearch-dashboards.ndjson
var savedObjectsOSD []byte

//go:embed saved_objects/kibana.ndjson
var savedObjectsKibana []byte

// SavedObjects returns the NDJSON bundle for kind (KindOpenSearchDashboards or
// KindKibana), ready for the saved-objects import API. The caller must not
// modify the returned slice.
func SavedObjects(kind string) ([]byte, error) {
	switch kind {
	case KindOpenSearchDashboards:
		return savedObjectsOSD, nil
	case KindKibana:
		return savedObjectsKibana, nil
	default:
		return nil, fmt.Errorf("dashboards: unknown saved-objects kind %q (want %q or %q)", kind, KindOpenSearchDashboards, KindKibana)
	}
}

// ObjectRef names one saved object.
type ObjectRef struct {
	Type  string `json:"type"`
	ID    string `json:"id"`
	Title string `json:"title,omitempty"`
}

// ObjectRefs lists the objects of an NDJSON bundle in file order (referenced
// objects first). Uninstall deletes them in reverse order. Blank lines and an
// export-summary line (no type/id) are skipped.
func ObjectRefs(ndjson []byte) ([]ObjectRef, error) {
	var refs []ObjectRef
	err := eachObject(ndjson, func(line int, b []byte) error {
		var o struct {
			Type       string `json:"type"`
			ID         string `json:"id"`
			Attributes struct {
				Title string `json:"title"`
			} `json:"attributes"`
		}
		if err := json.Unmarshal(b, &o); err != nil {
			return fmt.Errorf("dashboards: ndjson line %d: %w", line, err)
		}
		if o.Type == "" && o.ID == "" {
			return nil // export summary line
		}
		if o.Type == "" || o.ID == "" {
			return fmt.Errorf("dashboards: ndjson line %d: object without type or id", line)
		}
		refs = append(refs, ObjectRef{Type: o.Type, ID: o.ID, Title: o.Attributes.Title})
		return nil
	})
	return refs, err
}

// eachObject calls fn with each non-blank line of an NDJSON bundle and its
// 1-based number.
func eachObject(ndjson []byte, fn func(line int, b []byte) error) error {
	sc := bufio.NewScanner(bytes.NewReader(ndjson))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	line := 0
	for sc.Scan() {
		line++
		if b := bytes.TrimSpace(sc.Bytes()); len(b) > 0 {
			if err := fn(line, b); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("dashboards: read ndjson: %w", err)
	}
	return nil
}
