package admin

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/dashboards"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

func runUninstall(t *testing.T, f *fakeCluster, args wire.UninstallArgs) wire.StepsResult {
	t.Helper()
	return runSteps(t, f, wire.OpUninstall, &args, &args.StackArgs, nil)
}

// withIndices routes _resolve/index listings over a fixed set of indices
// and records the indices of every other DELETE.
func withIndices(f *fakeCluster, indices []string, deleted *[]string) {
	resolve := func(pattern string) func(cluster.Request) (int, string) {
		return func(cluster.Request) (int, string) {
			rows := []map[string]any{}
			for _, idx := range indices {
				if ok, _ := pathMatch(pattern, idx); ok {
					rows = append(rows, map[string]any{"name": idx, "attributes": []string{"open"}})
				}
			}
			if len(rows) == 0 && !strings.Contains(pattern, "*") {
				return 404, `{"error":{"type":"index_not_found_exception","reason":"no such index"},"status":404}`
			}
			b, _ := json.Marshal(map[string]any{"indices": rows, "aliases": []any{}, "data_streams": []any{}})
			return 200, string(b)
		}
	}
	for _, p := range []string{"edgewatch-alerts-*", "edgewatch-indicators-*", "edgewatch-state", "edgewatch-alerts-mine",
		"edgewatch-indicators-feed-*", "edgewatch-findings-*", "edgewatch-findings-mine"} {
		f.onFunc(http.MethodGet, cluster.DocPath("_resolve", "index", p), resolve(p))
	}
	f.routes["DELETE *"] = func(req cluster.Request) (int, string) {
		*deleted = append(*deleted, strings.Split(strings.TrimPrefix(req.Path, "/"), ",")...)
		return 200, `{"acknowledged":true}`
	}
}

// pathMatch is a tiny glob: a trailing * only.
func pathMatch(pattern, s string) (bool, error) {
	if p, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(s, p), nil
	}
	return pattern == s, nil
}

func TestUninstallRemovesOnlyWhatInstallPut(t *testing.T) {
	f := newFake(t, cluster.Elasticsearch)
	withTemplates(f)
	withILM(f)
	runInstall(t, f, wire.InstallArgs{}, nil)
	// A template someone else manages under one of our names stays.
	f.on(http.MethodGet, "/_index_template/edgewatch-state", 200,
		`{"index_templates":[{"name":"edgewatch-state","index_template":{"index_patterns":["edgewatch-state"],"_meta":{"managed_by":"someone-else"}}}]}`)
	f.on(http.MethodPost, "/edgewatch-alerts-*,edgewatch-findings-*/_ilm/remove", 200, `{"has_failures":false,"failed_indexes":[]}`)
	f.on(http.MethodDelete, "/_ilm/policy/"+dashboards.RetentionPolicyID, 200, `{"acknowledged":true}`)
	var deleted []string
	withIndices(f, []string{"edgewatch-alerts-default", "edgewatch-alerts-mine", "edgewatch-state", "edgewatch-findings-mine",
		"edgewatch-indicators-feed-20260101t000000000z", "edgewatch-indicators-feed-x-20260101t000000000z", "other-index"}, &deleted)
	before := len(f.requests())

	r := runUninstall(t, f, wire.UninstallArgs{})
	if r.Failed != 0 {
		t.Errorf("failed: %v", outcomes(r))
	}
	for name, want := range map[string]string{"edgewatch-alerts": wire.StepRemoved, "edgewatch-indicators": wire.StepRemoved, "edgewatch-state": wire.StepSkipped,
		"edgewatch-findings": wire.StepRemoved, "edgewatch-alert-index-edgewatch-alerts-default": wire.StepRemoved,
		"edgewatch-alert-index-edgewatch-findings-default": wire.StepRemoved} {
		if s := stepOf(r, "index template", name); s.Outcome != want {
			t.Errorf("template %s: %s, want %s", name, s, want)
		}
	}
	reqs := f.requests()[before:]
	iDetach, iDelete := slices.Index(reqs, "POST /edgewatch-alerts-*,edgewatch-findings-*/_ilm/remove"), slices.Index(reqs, "DELETE /_ilm/policy/"+dashboards.RetentionPolicyID)
	if iDetach < 0 || iDelete < iDetach {
		t.Errorf("want the policy detached from the indices before it is deleted: %v", reqs)
	}
	for _, step := range []string{"alert indices", "finding indices", "indicator indices", "state index"} {
		if s := stepOf(r, step, ""); s.Outcome != wire.StepKept {
			t.Errorf("%s: %s, want kept without delete_data", step, s)
		}
	}
	if len(deleted) != 0 {
		t.Errorf("deleted %v without delete_data", deleted)
	}
	if slices.Contains(reqs, "DELETE /_index_template/edgewatch-state") {
		t.Error("deleted a template edgewatch does not manage")
	}

	// Scoped delete: only the named alert index and feed; the shared state
	// index stays; a feed whose name merely starts with the feed's stays.
	s := stackSettings(cluster.Elasticsearch)
	s.Cluster.AlertIndex, s.Cluster.IndicatorFeed = "edgewatch-alerts-mine", "feed"
	r = runUninstall(t, f, wire.UninstallArgs{StackArgs: wire.StackArgs{Settings: s}, DeleteData: true})
	slices.Sort(deleted)
	if want := []string{"edgewatch-alerts-mine", "edgewatch-findings-mine", "edgewatch-indicators-feed-20260101t000000000z"}; !slices.Equal(deleted, want) {
		t.Errorf("scoped delete removed %v, want %v", deleted, want)
	}
	if st := stepOf(r, "state index", ""); st.Outcome != wire.StepKept {
		t.Errorf("state index: %s", st)
	}

	// Unscoped delete: every alert and indicator index and the state index.
	deleted = nil
	runUninstall(t, f, wire.UninstallArgs{DeleteData: true})
	slices.Sort(deleted)
	want := []string{"edgewatch-alerts-default", "edgewatch-alerts-mine", "edgewatch-findings-mine", "edgewatch-indicators-feed-20260101t000000000z",
		"edgewatch-indicators-feed-x-20260101t000000000z", "edgewatch-state"}
	if !slices.Equal(deleted, want) {
		t.Errorf("delete_data removed %v, want %v", deleted, want)
	}
}

func TestUninstallDryRun(t *testing.T) {
	f := newFake(t, cluster.OpenSearch)
	withTemplates(f)
	runInstall(t, f, wire.InstallArgs{}, nil)
	var deleted []string
	withIndices(f, []string{"edgewatch-alerts-default", "edgewatch-state"}, &deleted)
	before := len(f.mutations())
	r := runUninstall(t, f, wire.UninstallArgs{StackArgs: wire.StackArgs{DryRun: true}, DeleteData: true})
	if m := f.mutations()[before:]; len(m) != 0 {
		t.Errorf("dry run sent %v", m)
	}
	if r.Outcomes[wire.StepWouldRemove] != 6 { // 4 templates (no alias templates: no lifecycle engine), alerts, state
		t.Errorf("dry run: %v", outcomes(r))
	}
}

// TestUninstallSavedObjects deletes the bundle's objects by id, last first,
// in the Kibana space; missing ones are absent, not errors.
func TestUninstallSavedObjects(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Method != http.MethodDelete || r.Header.Get("kbn-xsrf") == "" {
			http.Error(w, `{"error":"bad request"}`, 400)
			return
		}
		paths = append(paths, r.URL.Path)
		if strings.Contains(r.URL.Path, "index-pattern") {
			http.Error(w, `{"statusCode":404}`, 404)
			return
		}
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	f := newFake(t, cluster.Elasticsearch)
	withTemplates(f)
	s := stackSettings(cluster.Elasticsearch)
	r := runUninstall(t, f, wire.UninstallArgs{StackArgs: wire.StackArgs{Settings: s, KibanaURL: srv.URL, Space: "soc"}})
	bundle, _ := dashboards.SavedObjects(dashboards.KindKibana)
	refs, _ := dashboards.ObjectRefs(bundle)
	if len(paths) != len(refs) {
		t.Fatalf("%d deletes for %d objects", len(paths), len(refs))
	}
	last := refs[len(refs)-1]
	if paths[0] != "/s/soc/api/saved_objects/"+last.Type+"/"+last.ID {
		t.Errorf("first delete %s, want the last object (%s/%s) in space soc", paths[0], last.Type, last.ID)
	}
	so := stepOf(r, "saved objects", "kibana")
	if so.Outcome != wire.StepRemoved || !strings.Contains(so.Detail, "absent") {
		t.Errorf("saved objects: %s", so)
	}
}
