package importer

// These tests run the client against an httptest server that stands in for
// Kibana and OpenSearch Dashboards: neither can run here (they are not in any
// registry this project reaches). The mock enforces the documented contract
// of the saved-objects API (dashboards-formats.md §1.1 and §2) — method, path
// with space or base path, XSRF header per product, tenant header, auth,
// multipart "file" part with a *.ndjson filename — and answers the way the
// real servers do, including HTTP 200 with per-object errors.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/dashboards"
)

const (
	secretPassword = "pa55-w0rd-SECRET"
	secretAPIKey   = "QVBJS0VZLVNFQ1JFVDpzZWNyZXQ="
)

// call is what the mock saw of one request.
type call struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Parts                  []part
}

type part struct {
	FormName, FileName string
	Body               []byte
}

// fakeStack mimics the saved-objects routes of one product.
type fakeStack struct {
	kind     Kind
	basePath string
	// importAnswer is the JSON body of a 200 import answer; "" = all succeeded.
	importAnswer string
	// version, when set, makes the mock check each imported object the way
	// that product version does (checkObjects) and answer per-object errors.
	version string
	// deleteStatus maps "type/id" to the status DELETE answers (default 200).
	deleteStatus map[string]int

	mu    sync.Mutex
	calls []call
}

func (f *fakeStack) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := call{Method: r.Method, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery, Header: r.Header.Clone()}
	bad := func(msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"statusCode":400,"error":"Bad Request","message":%q}`, msg)
	}
	// XSRF: each product accepts only its own header on non-GET requests.
	if f.kind == OpenSearchDashboards && r.Header.Get("osd-xsrf") == "" {
		bad("Request must contain a osd-xsrf header.")
		return
	}
	if f.kind == Kibana && r.Header.Get("kbn-xsrf") == "" {
		bad("Request must contain a kbn-xsrf header.")
		return
	}
	p := strings.TrimPrefix(c.Path, f.basePath)
	switch {
	case r.Method == http.MethodPost && path.Base(p) == "_import":
		mr, err := r.MultipartReader()
		if err != nil {
			bad("Unsupported Media Type: " + err.Error())
			return
		}
		for {
			pt, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				bad(err.Error())
				return
			}
			b, _ := io.ReadAll(pt)
			c.Parts = append(c.Parts, part{FormName: pt.FormName(), FileName: pt.FileName(), Body: b})
		}
		f.record(c)
		if len(c.Parts) != 1 || c.Parts[0].FormName != "file" {
			bad(`[request body.file]: expected value of type [object] but got [undefined]`)
			return
		}
		if ext := path.Ext(c.Parts[0].FileName); ext != ".ndjson" {
			bad("Invalid file extension " + ext)
			return
		}
		if strings.Contains(c.RawQuery, "overwrite=true") && strings.Contains(c.RawQuery, "createNewCopies=true") {
			bad("cannot use [overwrite] with [createNewCopies]")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if f.importAnswer != "" {
			io.WriteString(w, f.importAnswer)
			return
		}
		n := bytes.Count(bytes.TrimSpace(c.Parts[0].Body), []byte("\n")) + 1
		if f.version != "" {
			errs := checkObjects(f.kind, f.version, c.Parts[0].Body)
			b, _ := json.Marshal(map[string]any{"success": len(errs) == 0, "successCount": n - len(errs), "errors": errs})
			w.Write(b)
			return
		}
		fmt.Fprintf(w, `{"success":true,"successCount":%d,"successResults":[]}`, n)
	case r.Method == http.MethodDelete && strings.Contains(p, "/api/saved_objects/"):
		f.record(c)
		key := strings.TrimPrefix(p[strings.Index(p, "/api/saved_objects/"):], "/api/saved_objects/")
		status := f.deleteStatus[key]
		if status == 0 {
			status = http.StatusOK
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		switch status {
		case http.StatusOK:
			io.WriteString(w, `{}`)
		case http.StatusNotFound:
			fmt.Fprintf(w, `{"statusCode":404,"error":"Not Found","message":"Saved object [%s] not found"}`, key)
		default:
			fmt.Fprintf(w, `{"statusCode":%d,"error":"Internal Server Error","message":"An internal server error occurred."}`, status)
		}
	default:
		f.record(c)
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"statusCode":404,"error":"Not Found","message":"Not Found"}`)
	}
}

func (f *fakeStack) record(c call) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
}

func (f *fakeStack) only(t *testing.T) call {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) != 1 {
		t.Fatalf("server saw %d requests, want 1", len(f.calls))
	}
	return f.calls[0]
}

func bundle(t *testing.T, kind string) []byte {
	t.Helper()
	b, err := dashboards.SavedObjects(kind)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestImportRequestShape(t *testing.T) {
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("kibana_admin:"+secretPassword))
	tests := []struct {
		name      string
		target    Target // URL is filled in with the mock's
		basePath  string
		overwrite bool
		wantPath  string
		wantQuery string
		wantHdr   map[string]string // "" = header must be absent
	}{
		{
			name:      "kibana default space",
			target:    Target{Kind: Kibana, Username: "kibana_admin", Password: secretPassword},
			overwrite: true,
			wantPath:  "/api/saved_objects/_import", wantQuery: "overwrite=true",
			wantHdr: map[string]string{"kbn-xsrf": "true", "osd-xsrf": "", "securitytenant": "", "Authorization": basic},
		},
		{
			name:      "kibana space with API key",
			target:    Target{Kind: Kibana, Space: "soc-team", APIKey: secretAPIKey},
			overwrite: true,
			wantPath:  "/s/soc-team/api/saved_objects/_import", wantQuery: "overwrite=true",
			wantHdr: map[string]string{"kbn-xsrf": "true", "Authorization": "ApiKey " + secretAPIKey},
		},
		{
			name:     "kibana explicit default space has no prefix",
			target:   Target{Kind: Kibana, Space: "default"},
			wantPath: "/api/saved_objects/_import", wantQuery: "",
			wantHdr: map[string]string{"kbn-xsrf": "true", "Authorization": ""},
		},
		{
			name:      "osd with tenant under a base path",
			target:    Target{Kind: OpenSearchDashboards, Tenant: "global", Username: "admin", Password: secretPassword},
			basePath:  "/_dashboards",
			overwrite: true,
			wantPath:  "/_dashboards/api/saved_objects/_import", wantQuery: "overwrite=true",
			wantHdr: map[string]string{"osd-xsrf": "true", "kbn-xsrf": "", "securitytenant": "global",
				"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+secretPassword))},
		},
		{
			name:     "osd without tenant, no overwrite",
			target:   Target{Kind: OpenSearchDashboards},
			wantPath: "/api/saved_objects/_import", wantQuery: "",
			wantHdr: map[string]string{"osd-xsrf": "true", "securitytenant": ""},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := &fakeStack{kind: tc.target.Kind, basePath: tc.basePath}
			srv := httptest.NewServer(fake)
			defer srv.Close()
			tg := tc.target
			tg.URL = srv.URL + tc.basePath + "/" // a trailing slash must not double up
			kind := dashboards.KindKibana
			if tg.Kind == OpenSearchDashboards {
				kind = dashboards.KindOpenSearchDashboards
			}
			nd := bundle(t, kind)
			res, err := Import(context.Background(), tg, nd, tc.overwrite)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Success || res.SuccessCount != 16 {
				t.Errorf("result %+v, want success with 16 objects", res)
			}
			c := fake.only(t)
			if c.Method != http.MethodPost || c.Path != tc.wantPath || c.RawQuery != tc.wantQuery {
				t.Errorf("request %s %s?%s, want POST %s?%s", c.Method, c.Path, c.RawQuery, tc.wantPath, tc.wantQuery)
			}
			for h, want := range tc.wantHdr {
				if got := c.Header.Get(h); got != want {
					t.Errorf("header %s = %q, want %q", h, got, want)
				}
			}
			if ct := c.Header.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/form-data; boundary=") {
				t.Errorf("Content-Type %q", ct)
			}
			if len(c.Parts) != 1 {
				t.Fatalf("%d multipart parts, want 1", len(c.Parts))
			}
			p := c.Parts[0]
			if p.FormName != "file" || !strings.HasSuffix(p.FileName, ".ndjson") {
				t.Errorf("part name %q filename %q, want file / *.ndjson", p.FormName, p.FileName)
			}
			if !bytes.Equal(p.Body, nd) {
				t.Error("the file part is not the bundle byte for byte")
			}
		})
	}
}

func TestImportPerObjectErrors(t *testing.T) {
	answer := `{"success":false,"successCount":14,"errors":[
	 {"id":"edgewatch-top-ips","type":"visualization","title":"edgewatch: top threat-intel IPs","meta":{"title":"x"},
	  "error":{"type":"missing_references","references":[{"type":"index-pattern","id":"edgewatch-alerts"}]}},
	 {"id":"edgewatch-overview","type":"dashboard","error":{"type":"conflict"}},
	 {"id":"edgewatch-x","type":"lens","error":{"type":"unsupported_type"}}]}`
	fake := &fakeStack{kind: OpenSearchDashboards, importAnswer: answer}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	res, err := Import(context.Background(), Target{Kind: OpenSearchDashboards, URL: srv.URL, Username: "u", Password: secretPassword}, bundle(t, dashboards.KindOpenSearchDashboards), true)
	if !errors.Is(err, ErrObjectsFailed) {
		t.Fatalf("err = %v, want ErrObjectsFailed", err)
	}
	for _, want := range []string{
		"14 imported, 3 failed",
		"visualization/edgewatch-top-ips: missing_references (index-pattern/edgewatch-alerts)",
		"dashboard/edgewatch-overview: conflict",
		"lens/edgewatch-x: unsupported_type",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if res.Success || res.SuccessCount != 14 || len(res.Errors) != 3 || res.Errors[0].Error.Type != "missing_references" {
		t.Errorf("result %+v", res)
	}

	// success=true but an errors entry is still a failure.
	fake.importAnswer = `{"success":true,"successCount":15,"errors":[{"id":"a","type":"search","error":{"type":"unknown","message":"boom","statusCode":500}}]}`
	if _, err := Import(context.Background(), Target{Kind: OpenSearchDashboards, URL: srv.URL}, []byte("{}\n"), true); !errors.Is(err, ErrObjectsFailed) || !strings.Contains(err.Error(), "search/a: unknown (boom)") {
		t.Errorf("err = %v", err)
	}
	// 200 with a body that is not an import result.
	fake.importAnswer = `<html>login</html>`
	if _, err := Import(context.Background(), Target{Kind: OpenSearchDashboards, URL: srv.URL}, []byte("{}\n"), true); err == nil || !strings.Contains(err.Error(), "not the import result") {
		t.Errorf("err = %v", err)
	}
}

// TestImportHTTPErrors checks that the mock's contract checks fire (so the
// shape test above is meaningful) and that refusals carry the server's
// reason but never a secret.
func TestImportHTTPErrors(t *testing.T) {
	fake := &fakeStack{kind: OpenSearchDashboards}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	// A Kibana client against OSD sends kbn-xsrf, which OSD refuses.
	_, err := Import(context.Background(), Target{Kind: Kibana, URL: srv.URL, Username: "u", Password: secretPassword}, []byte("{}\n"), true)
	if !errors.Is(err, ErrHTTP) || !strings.Contains(err.Error(), "HTTP 400") || !strings.Contains(err.Error(), "osd-xsrf") {
		t.Fatalf("err = %v, want HTTP 400 about osd-xsrf", err)
	}
	if strings.Contains(err.Error(), secretPassword) {
		t.Fatal("error leaks the password")
	}
	// Unreachable server: transport error, no secret.
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	_, err = Import(context.Background(), Target{Kind: Kibana, URL: deadURL, APIKey: secretAPIKey, Client: &http.Client{Timeout: 2 * time.Second}}, []byte("{}\n"), true)
	if err == nil || strings.Contains(err.Error(), secretAPIKey) {
		t.Fatalf("err = %v", err)
	}
}

func TestTargetValidation(t *testing.T) {
	tests := []struct {
		name string
		t    Target
		want string
	}{
		{"unknown kind", Target{Kind: "grafana", URL: "http://h:1"}, "kind"},
		{"space on osd", Target{Kind: OpenSearchDashboards, URL: "http://h:1", Space: "s"}, "spaces are a Kibana feature"},
		{"tenant on kibana", Target{Kind: Kibana, URL: "http://h:1", Tenant: "global"}, "tenants are an OpenSearch"},
		{"api key on osd", Target{Kind: OpenSearchDashboards, URL: "http://h:1", APIKey: secretAPIKey}, "not an API key"},
		{"key and password", Target{Kind: Kibana, URL: "http://h:1", APIKey: secretAPIKey, Username: "u", Password: secretPassword}, "not both"},
		{"bad space", Target{Kind: Kibana, URL: "http://h:1", Space: "../x"}, "space id"},
		{"credentials in url", Target{Kind: Kibana, URL: "http://u:" + secretPassword + "@h:1"}, "credentials"},
		{"no scheme", Target{Kind: Kibana, URL: "h:5601"}, "want http(s)"},
		{"query in url", Target{Kind: Kibana, URL: "http://h:1/?x=1"}, "want http(s)"},
		{"tenant with newline", Target{Kind: OpenSearchDashboards, URL: "http://h:1", Tenant: "a\r\nX-Evil: 1"}, "line break"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Import(context.Background(), tc.t, []byte("{}\n"), true)
			if !errors.Is(err, ErrTarget) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrTarget with %q", err, tc.want)
			}
			if strings.Contains(err.Error(), secretPassword) || strings.Contains(err.Error(), secretAPIKey) {
				t.Fatalf("error leaks a secret: %v", err)
			}
		})
	}
}

func TestUninstall(t *testing.T) {
	for _, kind := range []Kind{Kibana, OpenSearchDashboards} {
		t.Run(string(kind), func(t *testing.T) {
			fake := &fakeStack{kind: kind, deleteStatus: map[string]int{
				"visualization/edgewatch-top-ips": http.StatusNotFound,
				"visualization/edgewatch-ports-x": http.StatusInternalServerError,
			}}
			srv := httptest.NewServer(fake)
			defer srv.Close()
			tg := Target{Kind: kind, URL: srv.URL, Username: "u", Password: secretPassword}
			prefix := ""
			if kind == Kibana {
				tg.Space = "soc"
				prefix = "/s/soc"
			} else {
				tg.Tenant = "private"
			}
			nd := bundle(t, string(kind))
			out, err := Uninstall(context.Background(), tg, nd)
			if err != nil {
				t.Fatal(err)
			}
			if len(out) != 16 || len(fake.calls) != 16 {
				t.Fatalf("%d outcomes, %d calls, want 16", len(out), len(fake.calls))
			}
			first, last := fake.calls[0], fake.calls[15]
			if first.Method != http.MethodDelete || first.Path != prefix+"/api/saved_objects/dashboard/edgewatch-overview" {
				t.Errorf("first call %s %s, want the dashboard deleted first", first.Method, first.Path)
			}
			if last.Path != prefix+"/api/saved_objects/index-pattern/edgewatch-alerts" {
				t.Errorf("last call %s, want the alerts index pattern last", last.Path)
			}
			for _, c := range fake.calls {
				if kind == OpenSearchDashboards && (c.Header.Get("osd-xsrf") == "" || c.Header.Get("securitytenant") != "private") {
					t.Errorf("%s: headers %v", c.Path, c.Header)
				}
				if kind == Kibana && c.Header.Get("kbn-xsrf") == "" {
					t.Errorf("%s: no kbn-xsrf", c.Path)
				}
			}
			var absent, deleted int
			for _, o := range out {
				if o.Absent {
					absent++
				}
				if o.Deleted {
					deleted++
				}
			}
			if absent != 1 || deleted != 15 {
				t.Errorf("absent %d deleted %d, want 1 and 15", absent, deleted)
			}
		})
	}
}

func TestDeleteReportsFailuresAndGoesOn(t *testing.T) {
	fake := &fakeStack{kind: Kibana, deleteStatus: map[string]int{"search/b": http.StatusInternalServerError}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	out, err := Delete(context.Background(), Target{Kind: Kibana, URL: srv.URL}, []ObjectRef{{Type: "visualization", ID: "a"}, {Type: "search", ID: "b"}, {Type: "index-pattern", ID: "c"}, {Type: "bad/type", ID: "d"}})
	if err == nil || !strings.Contains(err.Error(), "delete search/b") || !strings.Contains(err.Error(), "HTTP 500") || !strings.Contains(err.Error(), "bad object reference") {
		t.Fatalf("err = %v", err)
	}
	if len(out) != 4 || !out[0].Deleted || out[1].Err == nil || !out[2].Deleted || out[3].Err == nil {
		t.Errorf("outcomes %+v", out)
	}
	if len(fake.calls) != 3 {
		t.Errorf("%d calls, want 3 (the bad reference is never sent)", len(fake.calls))
	}
}

func TestTargetNeverLogsSecrets(t *testing.T) {
	tg := Target{Kind: Kibana, URL: "https://kibana.example:5601", Username: "elastic", Password: secretPassword, APIKey: secretAPIKey}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("import", "target", tg)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("import", "target", tg)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		fmt.Fprintf(&buf, verb+"\n", tg)
		fmt.Fprintf(&buf, verb+"\n", &tg)
	}
	js, _ := json.Marshal(struct{ S string }{tg.String()})
	buf.Write(js)
	out := buf.String()
	if strings.Contains(out, secretPassword) || strings.Contains(out, secretAPIKey) {
		t.Fatalf("secret in log output:\n%s", out)
	}
	if !strings.Contains(out, "kibana.example") || !strings.Contains(out, "elastic") {
		t.Fatalf("log output lost the useful fields:\n%s", out)
	}
}

// semver parses "a.b.c" (missing parts are 0).
func semver(v string) [3]int {
	var out [3]int
	for i, p := range strings.SplitN(v, ".", 3) {
		fmt.Sscanf(p, "%d", &out[i])
	}
	return out
}

func newer(a, b string) bool {
	x, y := semver(a), semver(b)
	for i := range x {
		if x[i] != y[i] {
			return x[i] > y[i]
		}
	}
	return false
}

// osdKnows is the newest migrationVersion OSD 2.x registers per type
// (dashboards-formats.md §1.2).
var osdKnows = map[string]string{"index-pattern": "7.6.0", "search": "7.9.3", "visualization": "7.10.0", "dashboard": "7.9.3"}

// checkObjects is what the mock refuses of an import, per product and
// version, following the documented rules (dashboards-formats.md §1.1,
// §1.2, §2):
//   - a reference to an object neither in the file nor on the server (the
//     mock's server is empty): missing_references;
//   - OSD: a migrationVersion newer than OSD knows ("belongs to a more
//     recent version");
//   - Kibana: a coreMigrationVersion or a type version (typeMigrationVersion,
//     or a legacy migrationVersion) newer than the server's version, and one
//     older than the previous major: an export imports into the same
//     version, a newer minor or the next major only, so 7.x objects are not
//     supported on 9.x.
func checkObjects(kind Kind, version string, ndjson []byte) []map[string]any {
	type obj struct {
		Type                 string            `json:"type"`
		ID                   string            `json:"id"`
		MigrationVersion     map[string]string `json:"migrationVersion"`
		CoreMigrationVersion string            `json:"coreMigrationVersion"`
		TypeMigrationVersion string            `json:"typeMigrationVersion"`
		References           []struct{ Type, ID string }
	}
	var objs []obj
	have := map[string]bool{}
	for _, line := range bytes.Split(bytes.TrimSpace(ndjson), []byte("\n")) {
		var o obj
		if json.Unmarshal(line, &o) != nil || o.Type == "" {
			continue
		}
		objs = append(objs, o)
		have[o.Type+"/"+o.ID] = true
	}
	var errs []map[string]any
	fail := func(o obj, typ, msg string) {
		errs = append(errs, map[string]any{"id": o.ID, "type": o.Type, "error": map[string]any{"type": typ, "message": msg}})
	}
	for _, o := range objs {
		var missing []map[string]string
		for _, r := range o.References {
			if !have[r.Type+"/"+r.ID] {
				missing = append(missing, map[string]string{"type": r.Type, "id": r.ID})
			}
		}
		if len(missing) > 0 {
			errs = append(errs, map[string]any{"id": o.ID, "type": o.Type, "error": map[string]any{"type": "missing_references", "references": missing}})
			continue
		}
		v := o.TypeMigrationVersion
		if v == "" {
			v = o.MigrationVersion[o.Type]
		}
		switch {
		case kind == OpenSearchDashboards && newer(v, osdKnows[o.Type]):
			fail(o, "unknown", fmt.Sprintf("Document %q has property %q which belongs to a more recent version of OpenSearch Dashboards [%s]", o.ID, o.Type, v))
		case kind == Kibana && (newer(o.CoreMigrationVersion, version) || newer(v, version)):
			fail(o, "unknown", fmt.Sprintf("Document %q belongs to a more recent version of Kibana [%s] than this one [%s]", o.ID, v, version))
		case kind == Kibana && semver(v)[0] < semver(version)[0]-1:
			fail(o, "unknown", fmt.Sprintf("Document %q was exported from Kibana %s: Kibana %s imports exports of %d.x or later", o.ID, v, version, semver(version)[0]-1))
		}
	}
	return errs
}

// TestImportByProductVersion: the bundle for each product imports into the
// product versions it is meant for, checked by a mock that applies each
// version's documented import rules (checkObjects): the OSD bundle into OSD
// 2.19, the Kibana bundle into Kibana 8.19 and 9.1. The 7.x format (the
// OSD bundle, and the Kibana bundle as it was) is refused by Kibana 9, and
// the Kibana bundle's dashboard (typeMigrationVersion 8.9.0) by Kibana 8.8.
func TestImportByProductVersion(t *testing.T) {
	cases := map[string]struct {
		kind       Kind
		version    string
		bundle     string
		wantFailed []string // type/id of the refused objects
	}{
		"osd 2.19 takes the osd bundle":       {kind: OpenSearchDashboards, version: "2.19.0", bundle: dashboards.KindOpenSearchDashboards},
		"kibana 8.19 takes the kibana bundle": {kind: Kibana, version: "8.19.0", bundle: dashboards.KindKibana},
		"kibana 9.1 takes the kibana bundle":  {kind: Kibana, version: "9.1.0", bundle: dashboards.KindKibana},
		"kibana 9.1 refuses the 7.x format": {kind: Kibana, version: "9.1.0", bundle: dashboards.KindOpenSearchDashboards,
			wantFailed: allObjects(t, dashboards.KindOpenSearchDashboards)},
		"kibana 8.8 is older than the kibana bundle's dashboard": {kind: Kibana, version: "8.8.0", bundle: dashboards.KindKibana,
			wantFailed: []string{"dashboard/" + dashboards.DashboardID}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			fake := &fakeStack{kind: tc.kind, version: tc.version}
			srv := httptest.NewServer(fake)
			defer srv.Close()
			res, err := Import(context.Background(), Target{Kind: tc.kind, URL: srv.URL}, bundle(t, tc.bundle), true)
			var failed []string
			for _, e := range res.Errors {
				failed = append(failed, e.Type+"/"+e.ID)
			}
			if strings.Join(failed, " ") != strings.Join(tc.wantFailed, " ") {
				t.Errorf("refused %v, want %v (%v)", failed, tc.wantFailed, err)
			}
			if (err == nil) != (len(tc.wantFailed) == 0) {
				t.Errorf("err = %v", err)
			}
			if len(tc.wantFailed) == 0 {
				checkReceivedShape(t, tc.bundle, fake.only(t).Parts[0].Body)
			}
		})
	}
}

func allObjects(t *testing.T, kind string) []string {
	refs, err := dashboards.ObjectRefs(bundle(t, kind))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range refs {
		out = append(out, r.Type+"/"+r.ID)
	}
	return out
}

// checkReceivedShape checks the file the server received for its product:
// the Kibana bundle's objects each carry typeMigrationVersion and
// coreMigrationVersion and no migrationVersion, the OSD bundle's a
// migrationVersion and none of Kibana 8's fields; in both, every reference
// resolves within the file and every dashboard panel has its reference
// (named "<panelIndex>:<panelRefName>" in Kibana 8, "<panelRefName>" in
// 7.x).
func checkReceivedShape(t *testing.T, kind string, body []byte) {
	t.Helper()
	type object struct {
		Type, ID             string
		MigrationVersion     map[string]string `json:"migrationVersion"`
		CoreMigrationVersion string            `json:"coreMigrationVersion"`
		TypeMigrationVersion string            `json:"typeMigrationVersion"`
		References           []struct{ Name, Type, ID string }
		Attributes           struct {
			PanelsJSON string `json:"panelsJSON"`
		}
	}
	var objs []object
	have := map[string]bool{}
	for _, line := range bytes.Split(bytes.TrimSpace(body), []byte("\n")) {
		var o object
		if err := json.Unmarshal(line, &o); err != nil {
			t.Fatalf("line %s: %v", line, err)
		}
		objs = append(objs, o)
		have[o.Type+"/"+o.ID] = true
	}
	for _, o := range objs {
		if kind == dashboards.KindKibana {
			if o.TypeMigrationVersion == "" || o.CoreMigrationVersion != "8.8.0" || o.MigrationVersion != nil {
				t.Errorf("%s/%s: typeMigrationVersion %q coreMigrationVersion %q migrationVersion %v", o.Type, o.ID, o.TypeMigrationVersion, o.CoreMigrationVersion, o.MigrationVersion)
			}
		} else if o.MigrationVersion[o.Type] == "" || o.TypeMigrationVersion != "" || o.CoreMigrationVersion != "" {
			t.Errorf("%s/%s: migrationVersion %v, typeMigrationVersion %q", o.Type, o.ID, o.MigrationVersion, o.TypeMigrationVersion)
		}
		names := map[string]bool{}
		for _, r := range o.References {
			names[r.Name] = true
			if !have[r.Type+"/"+r.ID] {
				t.Errorf("%s/%s: reference %s → %s/%s is not in the file", o.Type, o.ID, r.Name, r.Type, r.ID)
			}
		}
		if o.Type != "dashboard" {
			continue
		}
		var panels []struct{ PanelIndex, PanelRefName string }
		if err := json.Unmarshal([]byte(o.Attributes.PanelsJSON), &panels); err != nil || len(panels) == 0 {
			t.Fatalf("dashboard panels: %v", err)
		}
		for _, p := range panels {
			ref := p.PanelRefName
			if kind == dashboards.KindKibana {
				ref = p.PanelIndex + ":" + p.PanelRefName
			}
			if !names[ref] {
				t.Errorf("dashboard panel %s: no reference named %q", p.PanelIndex, ref)
			}
		}
	}
}
