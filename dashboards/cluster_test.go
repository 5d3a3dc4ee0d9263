package dashboards

// Integration test: the saved objects' aggregations against real OpenSearch
// and Elasticsearch. It installs the index templates of dashboards/templates
// (under a per-run name prefix, so it shares the test clusters safely with
// other suites), indexes alerts with a planted top IP, run records and
// indicators, checks the mapping as the cluster returns it, then runs every
// visualization's rebuilt search and checks its buckets.
//
// Env: EDGEWATCH_OPENSEARCH_URL, EDGEWATCH_ELASTICSEARCH_URL (skipped when
// unset, fatal when CI=true or EDGEWATCH_REQUIRE_CLUSTERS=1: testenv.Require),
// and for a secured cluster EDGEWATCH_<FLAVOR>_USERNAME with _PASSWORD or
// _PASSWORD_FILE. Plain net/http on purpose: this tests the saved objects,
// not the connectors.

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/internal/testenv"
)

type testCluster struct {
	name, url, user, pass string
	client                *http.Client
}

func clusterFromEnv(t *testing.T, flavor string) *testCluster {
	t.Helper()
	up := strings.ToUpper(flavor)
	testenv.Require(t, testenv.ClusterNeed(flavor))
	u := os.Getenv("EDGEWATCH_" + up + "_URL")
	c := &testCluster{name: flavor, url: strings.TrimRight(u, "/"), client: &http.Client{Timeout: 60 * time.Second}}
	c.user = os.Getenv("EDGEWATCH_" + up + "_USERNAME")
	c.pass = os.Getenv("EDGEWATCH_" + up + "_PASSWORD")
	if f := os.Getenv("EDGEWATCH_" + up + "_PASSWORD_FILE"); c.pass == "" && f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("read EDGEWATCH_%s_PASSWORD_FILE: %v", up, err)
		}
		c.pass = strings.TrimSpace(string(b))
	}
	return c
}

// do sends a request and decodes the JSON answer; statuses other than 2xx
// (and the allowed ones) fail the test with the server's reason.
func (c *testCluster) do(t *testing.T, method, path string, body []byte, contentType string, allow ...int) (int, map[string]any) {
	t.Helper()
	if contentType == "" {
		contentType = "application/json"
	}
	status, raw := c.sendAs(t, method, path, body, contentType)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	ok := status >= 200 && status <= 299
	for _, a := range allow {
		ok = ok || status == a
	}
	if !ok {
		t.Fatalf("%s %s %s: HTTP %d: %.1000s", c.name, method, path, status, raw)
	}
	return status, out
}

type plantedAlert struct {
	ts      string
	host    string
	ip      string
	port    int
	proc    string
	sev     string
	ipsum   int
	reason  string
	isRetro bool
}

// The planted data: 203.0.113.7 is the top IP (6 alerts, IPsum 9); every
// terms panel has a unique top bucket.
var plantedAlerts = []plantedAlert{
	{"2024-05-01T00:10:00Z", "web-01", "203.0.113.7", 443, "w3wp.exe", "critical", 9, "ExternalNetworkConnection", false},
	{"2024-05-01T03:20:00Z", "web-01", "203.0.113.7", 443, "w3wp.exe", "critical", 9, "ExternalNetworkConnection", false},
	{"2024-05-01T03:40:00Z", "vpn-gw", "203.0.113.7", 3389, "svchost.exe", "high", 9, "PublicScan", false},
	{"2024-05-02T08:00:00Z", "web-01", "203.0.113.7", 443, "w3wp.exe", "critical", 9, "ExternalNetworkConnection", true},
	{"2024-05-02T10:00:00Z", "web-01", "203.0.113.7", 443, "w3wp.exe", "critical", 9, "ExternalNetworkConnection", false},
	{"2024-05-03T12:00:00Z", "vpn-gw", "203.0.113.7", 3389, "svchost.exe", "high", 9, "PublicScan", false},
	{"2024-05-01T05:00:00Z", "mail-01", "198.51.100.23", 25, "MSExchangeFrontendTransport.exe", "high", 5, "ExternalNetworkConnection", false},
	{"2024-05-02T05:00:00Z", "mail-01", "198.51.100.23", 25, "MSExchangeFrontendTransport.exe", "medium", 5, "ExternalNetworkConnection", false},
	{"2024-05-02T06:30:00Z", "web-01", "198.51.100.23", 443, "w3wp.exe", "medium", 5, "ExternalNetworkConnection", false},
	{"2024-05-02T07:00:00Z", "mail-01", "198.51.100.23", 25, "MSExchangeFrontendTransport.exe", "medium", 5, "ExternalNetworkConnection", false},
	{"2024-05-02T09:15:00Z", "ssh-bastion", "192.0.2.200", 22, "sshd", "low", 4, "PublicScan", false},
	{"2024-05-03T01:00:00Z", "ssh-bastion", "192.0.2.200", 22, "sshd", "low", 4, "PublicScan", false},
	{"2024-05-03T02:00:00Z", "web-01", "2001:db8::5", 8443, "java.exe", "medium", 4, "PublicScan", false},
}

var severityScore = map[string]int{"low": 21, "medium": 47, "high": 73, "critical": 99}

// plantedGroups are the planted alerts that are grouped alerts, with the
// number of events each stands for: the events panels count 13 - 2 + 8 =
// 19, of which 203.0.113.7 and web-01 each 6 - 1 + 5 = 10.
var plantedGroups = map[int]int{0: 5, 6: 3}

const plantedEvents = 19

func (a plantedAlert) doc(i int) map[string]any {
	d := a.plain(i)
	if n, ok := plantedGroups[i]; ok {
		ew := d["edgewatch"].(map[string]any)
		ew["group_id"] = fmt.Sprintf("planted-%02d", i)
		ew["suppression"] = map[string]any{"docs_count": n, "start": a.ts, "end": a.ts,
			"terms": []any{map[string]any{"field": "host.id", "value": "dev-" + a.host}}}
	}
	return d
}

func (a plantedAlert) plain(i int) map[string]any {
	return map[string]any{
		"@timestamp":  a.ts,
		"event":       map[string]any{"kind": "alert", "id": fmt.Sprintf("planted-%02d", i), "severity": severityScore[a.sev], "dataset": "edgewatch.alerts"},
		"rule":        map[string]any{"id": "edgewatch-defender-ti-inbound", "name": "Inbound connection from a threat-intel IP to an internet-facing port"},
		"host":        map[string]any{"id": "dev-" + a.host, "name": a.host},
		"source":      map[string]any{"ip": a.ip, "port": 40000 + i},
		"destination": map[string]any{"ip": "10.0.0.10", "port": a.port},
		"process":     map[string]any{"name": a.proc},
		"threat":      map[string]any{"indicator": map[string]any{"ip": a.ip, "type": "ipv4-addr", "provider": "IPsum"}, "feed": map[string]any{"name": "ipsum"}},
		"edgewatch": map[string]any{
			"internet_facing": map[string]any{"reason": a.reason, "local_port": a.port},
			"indicator":       map[string]any{"value": a.ip, "count": a.ipsum, "level": min(a.ipsum, 8)},
			"severity":        a.sev,
			"retro_hunt":      a.isRetro,
		},
		"related": map[string]any{"ip": []string{a.ip}},
	}
}

type plantedRun struct {
	detection, outcome, started string
	durationMS, lagMS           int64
}

var plantedRuns = []plantedRun{
	{"defender-ti", "success", "2024-05-03T13:00:00Z", 800, 120000},
	{"defender-ti", "success", "2024-05-03T13:05:00Z", 1200, 90000},
	{"defender-ti", "success", "2024-05-03T13:10:00Z", 1000, 60000},
	{"defender-ti", "failed", "2024-05-03T13:15:00Z", 30000, 400000},
	{"defender-ti-retro", "success", "2024-05-03T12:00:00Z", 5000, 0},
}

var plantedLevels = map[int]int{8: 2, 5: 3, 4: 4, 3: 1}

const plantedLoadedAt = "2024-05-03T06:00:00.000Z"

// bulk indexes docs into index and refreshes.
func (c *testCluster) bulk(t *testing.T, index string, docs []map[string]any) {
	t.Helper()
	var buf bytes.Buffer
	for _, d := range docs {
		fmt.Fprintf(&buf, `{"index":{"_index":%q}}`+"\n", index)
		b, _ := json.Marshal(d)
		buf.Write(b)
		buf.WriteByte('\n')
	}
	_, out := c.do(t, http.MethodPost, "/_bulk?refresh=true", buf.Bytes(), "application/x-ndjson")
	if out["errors"] == true {
		b, _ := json.Marshal(out["items"])
		t.Fatalf("%s: bulk into %s had errors: %.2000s", c.name, index, b)
	}
}

func TestSavedObjectAggregationsOnClusters(t *testing.T) {
	for _, flavor := range []string{"opensearch", "elasticsearch"} {
		t.Run(flavor, func(t *testing.T) {
			c := clusterFromEnv(t, flavor)
			runAggregationsOn(t, c)
		})
	}
}

func runAggregationsOn(t *testing.T, c *testCluster) {
	var rnd [4]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		t.Fatal(err)
	}
	prefix := "edgewatch-dashtest-" + hex.EncodeToString(rnd[:]) + "-"
	rename := func(s string) string { return prefix + strings.TrimPrefix(s, "edgewatch-") }

	// 1. The index templates, as shipped, under per-run names.
	files, err := filepath.Glob(filepath.Join("templates", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no templates in dashboards/templates (%v)", err)
	}
	t.Cleanup(func() {
		c.do(t, http.MethodDelete, "/"+prefix+"*?expand_wildcards=all", nil, "", 404)
		for _, f := range files {
			name := rename(strings.TrimSuffix(filepath.Base(f), ".json"))
			c.do(t, http.MethodDelete, "/_index_template/"+name, nil, "", 404)
		}
	})
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var tmpl map[string]any
		if err := json.Unmarshal(raw, &tmpl); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var pats []any
		for _, p := range tmpl["index_patterns"].([]any) {
			pats = append(pats, rename(p.(string)))
		}
		tmpl["index_patterns"] = pats
		body, _ := json.Marshal(tmpl)
		name := rename(strings.TrimSuffix(filepath.Base(f), ".json"))
		c.do(t, http.MethodPut, "/_index_template/"+name, body, "")
	}

	// 2. Planted data.
	alertsIndex := rename("edgewatch-alerts-default")
	var docs []map[string]any
	for i, a := range plantedAlerts {
		docs = append(docs, a.doc(i))
	}
	c.bulk(t, alertsIndex, docs)

	docs = nil
	for i, r := range plantedRuns {
		st, _ := time.Parse(time.RFC3339, r.started)
		docs = append(docs, map[string]any{
			"type": "run", "detection": r.detection, "run_id": fmt.Sprintf("run-%d", i), "outcome": r.outcome,
			"started_at": r.started, "finished_at": st.Add(time.Duration(r.durationMS) * time.Millisecond).Format(time.RFC3339Nano),
			"duration_ms": r.durationMS, "lag_ms": r.lagMS,
			"window": map[string]any{"from": st.Add(-5 * time.Minute).Format(time.RFC3339), "to": r.started},
			"counts": map[string]any{"events_scanned": 1000, "alerts_created": 2},
		})
	}
	// Not runs: the type:"run" query must keep these out of the run panels.
	docs = append(docs,
		map[string]any{"type": "checkpoint", "detection": "defender-ti", "checkpoint": "2024-05-03T13:10:00Z", "updated_at": "2024-05-03T13:15:00Z"},
		map[string]any{"type": "lease", "detection": "defender-ti", "holder": "host-a", "expires_at": "2024-05-03T13:20:00Z", "started_at": "2024-05-03T13:15:00Z", "outcome": "failed"},
	)
	c.bulk(t, rename(StateIndex), docs)

	docs = nil
	n := 0
	for lvl, cnt := range plantedLevels {
		for range cnt {
			n++
			ip := fmt.Sprintf("198.18.%d.%d", lvl, n)
			docs = append(docs, map[string]any{"value": ip, "ip": ip, "count": lvl, "level": lvl, "feed": "ipsum",
				"first_seen": "2024-04-01T00:00:00Z", "last_seen": "2024-05-03T00:00:00Z", "loaded_at": plantedLoadedAt})
		}
	}
	c.bulk(t, rename("edgewatch-indicators-ipsum-20240503t060000z"), docs)

	// 3 and 4, for each bundle: the OSD bundle and the Kibana 8 bundle
	// hold the same visualizations in two formats; each is rebuilt from its
	// own file.
	for _, kind := range []string{KindOpenSearchDashboards, KindKibana} {
		t.Run(kind, func(t *testing.T) {
			checkBundleOn(t, c, kind, rename)
		})
	}
}

// checkBundleOn runs steps 3 and 4 of runAggregationsOn for one bundle.
func checkBundleOn(t *testing.T, c *testCluster, kind string, rename func(string) string) {
	// 3. The mapping as the cluster returns it has every field with the type
	// its panel needs.
	uses := fromBundle(t, kind, FieldsUsed)
	types := map[string]map[string]string{}
	for _, title := range []string{AlertsPattern, StateIndex, IndicatorsPattern} {
		_, out := c.do(t, http.MethodGet, "/"+rename(title)+"/_mapping", nil, "")
		raw, _ := json.Marshal(out)
		m, err := FlattenMapping(raw)
		if err != nil {
			t.Fatalf("%s mapping: %v", title, err)
		}
		types[title] = m
	}
	for _, err := range CheckMapping(uses, types) {
		t.Errorf("%s: %v", c.name, err)
	}

	// 4. Every visualization's search runs and returns the planted buckets.
	aggs := fromBundle(t, kind, Aggregations)
	if len(aggs) != 11 {
		t.Errorf("%d visualizations rebuilt, want 11", len(aggs))
	}
	checks := aggChecks()
	for _, va := range aggs {
		t.Run(va.ID, func(t *testing.T) {
			check, ok := checks[va.ID]
			if !ok {
				t.Fatalf("no expectation for visualization %s: add one to aggChecks", va.ID)
			}
			_, out := c.do(t, http.MethodPost, "/"+rename(va.Index)+"/_search", va.Body(), "")
			if sh, _ := out["_shards"].(map[string]any); sh["failed"] != 0.0 {
				t.Fatalf("shard failures: %v", out["_shards"])
			}
			aggsOut, _ := out["aggregations"].(map[string]any)
			check(t, out, aggsOut)
		})
	}
}

// bucketsOf returns the buckets of agg id in a response level, sorted as the
// server sent them (for filters, the keyed object turned into a list).
func bucketsOf(t *testing.T, level map[string]any, id string) []map[string]any {
	t.Helper()
	a, ok := level[id].(map[string]any)
	if !ok {
		t.Fatalf("no aggregation %s in %v", id, keysOf(level))
	}
	var out []map[string]any
	switch b := a["buckets"].(type) {
	case []any:
		for _, x := range b {
			out = append(out, x.(map[string]any))
		}
	case map[string]any:
		names := keysOf(b)
		for _, k := range names {
			m := b[k].(map[string]any)
			m["key"] = k
			out = append(out, m)
		}
	default:
		t.Fatalf("aggregation %s has no buckets: %v", id, a)
	}
	return out
}

func keysOf(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func value(t *testing.T, level map[string]any, id string) float64 {
	t.Helper()
	a, ok := level[id].(map[string]any)
	if !ok {
		t.Fatalf("no metric %s in %v", id, keysOf(level))
	}
	v, ok := a["value"].(float64)
	if !ok {
		t.Fatalf("metric %s has no numeric value: %v", id, a)
	}
	return v
}

func count(b map[string]any) int { return int(b["doc_count"].(float64)) }

// topBucket checks the first bucket of terms agg id.
func topBucket(t *testing.T, aggs map[string]any, id string, wantKey any, wantCount int) map[string]any {
	t.Helper()
	bs := bucketsOf(t, aggs, id)
	if len(bs) == 0 {
		t.Fatalf("terms %s: no buckets", id)
	}
	if fmt.Sprint(bs[0]["key"]) != fmt.Sprint(wantKey) || count(bs[0]) != wantCount {
		t.Errorf("terms %s: top bucket %v (%d), want %v (%d)", id, bs[0]["key"], count(bs[0]), wantKey, wantCount)
	}
	return bs[0]
}

func hitsTotal(t *testing.T, out map[string]any) int {
	t.Helper()
	h, _ := out["hits"].(map[string]any)
	switch tv := h["total"].(type) {
	case float64:
		return int(tv)
	case map[string]any:
		return int(tv["value"].(float64))
	}
	t.Fatalf("no hits.total in %v", h)
	return 0
}

func aggChecks() map[string]func(t *testing.T, out, aggs map[string]any) {
	total := len(plantedAlerts)
	return map[string]func(t *testing.T, out, aggs map[string]any){
		"edgewatch-alert-count": func(t *testing.T, out, aggs map[string]any) {
			if got := hitsTotal(t, out); got != total {
				t.Errorf("count %d, want %d", got, total)
			}
			if got := value(t, aggs, "2"); got != 4 {
				t.Errorf("distinct devices %v, want 4", got)
			}
			if got := value(t, aggs, "3"); got != plantedEvents {
				t.Errorf("events %v, want %d", got, plantedEvents)
			}
		},
		"edgewatch-alerts-over-time": func(t *testing.T, out, aggs map[string]any) {
			sum, events := 0, 0.0
			sev := map[string]int{}
			for _, b := range bucketsOf(t, aggs, "2") {
				inner := 0
				for _, s := range bucketsOf(t, b, "3") {
					inner += count(s)
					sev[s["key"].(string)] += count(s)
					events += value(t, s, "4")
				}
				if inner != count(b) {
					t.Errorf("bucket %v: severities add to %d, doc_count %d", b["key_as_string"], inner, count(b))
				}
				sum += count(b)
			}
			want := map[string]int{"critical": 4, "high": 3, "medium": 4, "low": 2}
			if sum != total || fmt.Sprint(sev) != fmt.Sprint(want) || events != plantedEvents {
				t.Errorf("over time: %d alerts, %v events, severities %v; want %d, %d, %v", sum, events, sev, total, plantedEvents, want)
			}
		},
		"edgewatch-top-ips": func(t *testing.T, out, aggs map[string]any) {
			top := topBucket(t, aggs, "3", "203.0.113.7", 6)
			if got := value(t, top, "2"); got != 9 {
				t.Errorf("planted IP's IPsum count %v, want 9", got)
			}
			if got := value(t, top, "4"); got != 10 {
				t.Errorf("planted IP's events %v, want 10", got)
			}
			if n := len(bucketsOf(t, aggs, "3")); n != 4 {
				t.Errorf("%d IPs, want 4", n)
			}
		},
		"edgewatch-top-devices": func(t *testing.T, out, aggs map[string]any) {
			if got := value(t, topBucket(t, aggs, "2", "web-01", 6), "3"); got != 10 {
				t.Errorf("web-01's events %v, want 10", got)
			}
		},
		"edgewatch-targeted-ports": func(t *testing.T, out, aggs map[string]any) {
			topBucket(t, aggs, "2", 443, 5)
		},
		"edgewatch-initiating-processes": func(t *testing.T, out, aggs map[string]any) {
			topBucket(t, aggs, "2", "w3wp.exe", 5)
		},
		"edgewatch-internet-facing-reasons": func(t *testing.T, out, aggs map[string]any) {
			topBucket(t, aggs, "2", "ExternalNetworkConnection", 8)
		},
		"edgewatch-feed-summary": func(t *testing.T, out, aggs map[string]any) {
			if got := hitsTotal(t, out); got != 10 {
				t.Errorf("indicators %d, want 10", got)
			}
			want, _ := time.Parse(time.RFC3339, plantedLoadedAt)
			if got := value(t, aggs, "2"); int64(got) != want.UnixMilli() {
				t.Errorf("max loaded_at %v, want %d", got, want.UnixMilli())
			}
		},
		"edgewatch-feed-levels": func(t *testing.T, out, aggs map[string]any) {
			var got []string
			for _, b := range bucketsOf(t, aggs, "3") {
				got = append(got, fmt.Sprintf("%v:%d", b["key"], count(b)))
			}
			if want := "8:2 5:3 4:4 3:1"; strings.Join(got, " ") != want {
				t.Errorf("levels %v, want %s (key descending)", got, want)
			}
		},
		"edgewatch-run-health": func(t *testing.T, out, aggs map[string]any) {
			if got := hitsTotal(t, out); got != len(plantedRuns) {
				t.Errorf("%d run docs matched, want %d (checkpoint and lease docs excluded)", got, len(plantedRuns))
			}
			det := topBucket(t, aggs, "6", "defender-ti", 4)
			outc := bucketsOf(t, det, "7")
			if len(outc) != 2 || outc[0]["key"] != "success" || count(outc[0]) != 3 || outc[1]["key"] != "failed" {
				t.Fatalf("outcomes %v", outc)
			}
			if got := value(t, outc[0], "2"); got != 1000 {
				t.Errorf("avg duration %v, want 1000", got)
			}
			if got := value(t, outc[0], "3"); got != 1200 {
				t.Errorf("max duration %v, want 1200", got)
			}
			if got := value(t, outc[1], "4"); got != 400000 {
				t.Errorf("failed max lag %v, want 400000", got)
			}
			if got := value(t, outc[0], "5"); got == 0 {
				t.Error("no last finished_at")
			}
		},
		"edgewatch-runs-over-time": func(t *testing.T, out, aggs map[string]any) {
			got := map[string]int{}
			for _, b := range bucketsOf(t, aggs, "2") {
				for _, f := range bucketsOf(t, b, "3") {
					got[f["key"].(string)] += count(f)
				}
			}
			if got["failed"] != 1 || got["success"] != 4 {
				t.Errorf("runs over time %v, want failed 1, success 4", got)
			}
		},
	}
}

// send is do without status checks: it returns the status and raw body.
func (c *testCluster) send(t *testing.T, method, path string, body []byte) (int, []byte) {
	t.Helper()
	return c.sendAs(t, method, path, body, "application/json")
}

// sendAs sends body as contentType and returns the status and raw body; a
// transport failure fails the test.
func (c *testCluster) sendAs(t *testing.T, method, path string, body []byte, contentType string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, c.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if c.user != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s %s: %v", c.name, method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// TestPoliciesAndTriggersOnClusters puts the retention policy and the
// trigger definitions into the real clusters: each is accepted, or refused
// in a way Unsupported classifies (so install can report "skipped: <why>"
// and go on). The integ-test distributions have no ISM, ILM, Watcher,
// Alerting or Notifications, so there the test proves the classification on
// the servers' real answers.
func TestPoliciesAndTriggersOnClusters(t *testing.T) {
	for _, flavor := range []string{FlavorOpenSearch, FlavorElasticsearch} {
		t.Run(flavor, func(t *testing.T) {
			c := clusterFromEnv(t, flavor)
			var rnd [4]byte
			if _, err := rand.Read(rnd[:]); err != nil {
				t.Fatal(err)
			}
			id := "edgewatch-dashtest-" + hex.EncodeToString(rnd[:])
			expect := func(what, method, path string, body []byte, cleanup string) {
				t.Helper()
				status, raw := c.send(t, method, path, body)
				if status >= 200 && status <= 299 {
					t.Logf("%s: %s accepted (HTTP %d)", c.name, what, status)
					if cleanup != "" {
						t.Cleanup(func() { c.send(t, http.MethodDelete, cleanup, nil) })
					}
					return
				}
				reason, ok := Unsupported(status, raw)
				if !ok {
					t.Fatalf("%s: %s refused for a reason that is not a missing feature: HTTP %d %.800s", c.name, what, status, raw)
				}
				t.Logf("%s: %s unsupported here: %s", c.name, what, reason)
			}

			pol, err := RetentionPolicy(flavor, 30)
			if err != nil {
				t.Fatal(err)
			}
			// Keep the test policy off the real alert indices.
			pol = bytes.ReplaceAll(pol, []byte(AlertsPattern), []byte(id+"-alerts-*"))
			path, _ := RetentionPolicyPath(flavor)
			path = strings.Replace(path, RetentionPolicyID, id, 1)
			expect("retention policy", http.MethodPut, path, pol, path)

			p := TriggerParams{URL: "http://127.0.0.1:8088", Token: "dashtest-token", Detection: id, ChannelID: id}
			switch flavor {
			case FlavorElasticsearch:
				w, err := WatcherDefinition(p)
				if err != nil {
					t.Fatal(err)
				}
				// Inactive: the test must not make the cluster call anything.
				expect("watch", http.MethodPut, "/_watcher/watch/"+id+"?active=false", w, "/_watcher/watch/"+id)
			case FlavorOpenSearch:
				ch, err := NotificationChannel(p)
				if err != nil {
					t.Fatal(err)
				}
				expect("notification channel", http.MethodPost, "/_plugins/_notifications/configs", ch, "/_plugins/_notifications/configs/"+id)
				m, err := AlertingMonitor(p)
				if err != nil {
					t.Fatal(err)
				}
				m = bytes.Replace(m, []byte(`"enabled": true`), []byte(`"enabled": false`), 1)
				expect("alerting monitor", http.MethodPost, "/_plugins/_alerting/monitors", m, "")
			}
		})
	}
}
