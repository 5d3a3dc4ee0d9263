package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/engine"
	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/stack"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/connectors/cluster/clustertest"
	"github.com/edgewatch/edgewatch/connectors/conformance"
	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/dashboards"
	"github.com/edgewatch/edgewatch/internal/testenv"
	"github.com/edgewatch/edgewatch/plugin/wire"
	"github.com/google/go-cmp/cmp"
)

// The end-to-end tests of issues 4 and 6 against the real OpenSearch and
// Elasticsearch (scripts/cluster.sh): the built host and plugin binaries
// install the stack, load IPsum feeds, run the detection over the bundled
// sample indexed in the advanced-hunting profile, report, and uninstall.
// Every index and feed name is unique per test and deleted at the end.

const sampleDir = "../../testdata/sample"

func randSuffix() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// clusterArgs are the host flags that reach tg.
func clusterArgs(t *testing.T, tg clustertest.Target) []string {
	t.Helper()
	args := []string{"--source", string(tg.Flavor), "--url", strings.Join(tg.Config.URLs, ",")}
	if tg.Config.Username != "" {
		pw := filepath.Join(t.TempDir(), "password")
		if err := os.WriteFile(pw, []byte(tg.Config.Password), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--username", tg.Config.Username, "--password-file", pw)
	}
	if tg.Config.APIKey != "" {
		k := filepath.Join(t.TempDir(), "api-key")
		if err := os.WriteFile(k, []byte(tg.Config.APIKey), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--api-key-file", k)
	}
	if tg.Config.CAFile != "" {
		args = append(args, "--ca-file", tg.Config.CAFile)
	}
	if tg.Config.InsecureSkipVerify {
		args = append(args, "--insecure-skip-verify")
	}
	return args
}

// mustHost runs the host and fails the test on a non-zero exit.
func mustHost(t *testing.T, args ...string) (stdout, stderr string) {
	t.Helper()
	code, stdout, stderr := host(t, "", args...)
	if code != 0 {
		t.Fatalf("edgewatch %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(redactArgs(args), " "), code, stdout, stderr)
	}
	return stdout, stderr
}

func redactArgs(args []string) []string {
	out := slices.Clone(args)
	for i := range out {
		if i > 0 && out[i-1] == "--password" {
			out[i] = "[redacted]"
		}
	}
	return out
}

// stepsResult is install/uninstall's --json answer.
type stepsResult struct {
	Cluster string `json:"cluster"`
	Steps   []struct {
		Step, Target, Outcome, Detail string
	} `json:"steps"`
	Outcomes map[string]int `json:"outcomes"`
	Failed   int            `json:"failed"`
}

func (r stepsResult) outcome(step, target string) string {
	for _, s := range r.Steps {
		if s.Step == step && s.Target == target {
			return s.Outcome
		}
	}
	return "(no such step)"
}

func decodeJSON[T any](t *testing.T, what, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, s)
	}
	return v
}

// get performs a request on the cluster and decodes a 200 answer.
func get(t *testing.T, tg clustertest.Target, method, path string, q url.Values, body any, out any) int {
	t.Helper()
	req := cluster.Request{Method: method, Path: path, Query: q}
	if body != nil {
		req.Body = cluster.JSON(body)
	}
	resp, err := tg.Client.Do(context.Background(), req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if resp.Status == 200 && out != nil {
		if err := json.Unmarshal(resp.Body, out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return resp.Status
}

// sampleRows turns a line of testdata/sample into the flat
// advanced-hunting rows it holds, as an Advanced Hunting export indexes
// them: Streaming API records and Event Hub batches are unwrapped to their
// properties, a Sentinel row gets Timestamp and AdditionalFields as JSON
// text. A line that is not JSON yields nothing (file mode skips it too).
func sampleRows(line []byte) []map[string]any {
	var m map[string]any
	if json.Unmarshal(line, &m) != nil {
		return nil
	}
	if recs, ok := m["records"].([]any); ok {
		var out []map[string]any
		for _, r := range recs {
			if rm, ok := r.(map[string]any); ok {
				b, _ := json.Marshal(rm)
				out = append(out, sampleRows(b)...)
			}
		}
		return out
	}
	if p, ok := m["properties"].(map[string]any); ok {
		m = p
	}
	if ts, ok := m["TimeGenerated"]; ok {
		if _, has := m["Timestamp"]; !has {
			m["Timestamp"] = ts
		}
		delete(m, "TimeGenerated")
		delete(m, "TenantId")
		delete(m, "Type")
	}
	if af, ok := m["AdditionalFields"].(map[string]any); ok {
		b, _ := json.Marshal(af)
		m["AdditionalFields"] = string(b)
	}
	return []map[string]any{m}
}

// ingestSample bulk-indexes a sample file into a fresh advanced-hunting
// index (dynamic mapping, two shards) deleted when the test ends.
func ingestSample(t *testing.T, tg clustertest.Target, file, index string) int {
	t.Helper()
	ct := conformance.Target{Client: tg.Client}
	conformance.CreateIndex(t, ct, index, conformance.IndexBody(cluster.ProfileAdvancedHunting, tg.Flavor))
	f, err := os.Open(filepath.Join(sampleDir, file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var docs []conformance.Doc
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		for _, r := range sampleRows(sc.Bytes()) {
			docs = append(docs, conformance.Doc{Index: index, Source: r})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	// The first document alone fixes the dynamic mapping (a bulk over two
	// shards could map LocalPort as text from a "3389").
	ctx := context.Background()
	if err := conformance.Bulk(ctx, tg.Client.Doer(), docs[:1], true); err != nil {
		t.Fatal(err)
	}
	if err := conformance.Bulk(ctx, tg.Client.Doer(), docs[1:], true); err != nil {
		t.Fatal(err)
	}
	return len(docs)
}

// eventIDs reads the event.id of each alert line.
func eventIDs(t *testing.T, ndjson []byte) []string {
	t.Helper()
	var ids []string
	for _, line := range bytes.Split(bytes.TrimSpace(ndjson), []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var a struct {
			Event struct {
				ID string `json:"id"`
			} `json:"event"`
		}
		if err := json.Unmarshal(line, &a); err != nil || a.Event.ID == "" {
			t.Fatalf("alert line without event.id (%v): %.200s", err, line)
		}
		ids = append(ids, a.Event.ID)
	}
	sort.Strings(ids)
	return ids
}

// indexEventIDs reads the event ids stored in an alert index.
func indexEventIDs(t *testing.T, tg clustertest.Target, index string) []string {
	t.Helper()
	get(t, tg, http.MethodPost, "/"+index+"/_refresh", nil, nil, nil)
	var r cluster.SearchHits[struct {
		Event struct {
			ID string `json:"id"`
		} `json:"event"`
	}]
	if st := get(t, tg, http.MethodPost, "/"+index+"/_search", nil, map[string]any{"size": 1000, "_source": []string{"event.id"}}, &r); st != 200 {
		t.Fatalf("search %s: HTTP %d", index, st)
	}
	var ids []string
	for _, h := range r.Hits.Hits {
		if h.ID != h.Source.Event.ID {
			t.Errorf("alert _id %s differs from its event.id %s", h.ID, h.Source.Event.ID)
		}
		ids = append(ids, h.Source.Event.ID)
	}
	sort.Strings(ids)
	return ids
}

// runSummary finds the run summary in the host's JSON log.
func runSummary(t *testing.T, stderr string) wire.Summary {
	t.Helper()
	for _, line := range strings.Split(stderr, "\n") {
		var l struct {
			Msg     string          `json:"msg"`
			Summary json.RawMessage `json:"summary"`
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "run finished" {
			return decodeJSON[wire.Summary](t, "summary", string(l.Summary))
		}
	}
	t.Fatalf("no run summary in the log:\n%s", stderr)
	return wire.Summary{}
}

// parseFeedSet parses feed files the way feed load does.
func parseFeedSet(t *testing.T, files ...string) map[string]bool {
	t.Helper()
	set, _, err := engine.LoadFeedFiles(context.Background(), files, correlation.FeedOptions{Name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for ind := range set.All() {
		out[ind.Value()] = true
	}
	return out
}

type feedLoadOut struct {
	Index     string         `json:"index"`
	Previous  string         `json:"previous"`
	FirstLoad bool           `json:"first_load"`
	Loaded    int            `json:"loaded"`
	Added     int            `json:"added"`
	Kept      int            `json:"kept"`
	Removed   int            `json:"removed"`
	PerLevel  map[string]int `json:"per_level"`
	LoadMS    int64          `json:"load_ms"`
}

type feedStatusOut struct {
	Feeds []struct {
		Feed     string           `json:"feed"`
		Live     bool             `json:"live"`
		Index    string           `json:"index"`
		Total    int64            `json:"total"`
		PerLevel map[string]int64 `json:"per_level"`
		Age      string           `json:"age"`
	} `json:"feeds"`
}

// TestClusterEndToEnd drives the real binaries against each cluster:
// install (twice: idempotent, mapping as the server returns it), feed
// load/status with an alias swap, detection over the sample equal to the
// file-mode golden alerts (and a rerun that writes nothing new), report
// over the alert index, uninstall keeping then deleting the data.
func TestClusterEndToEnd(t *testing.T) {
	clustertest.Run(t, func(t *testing.T, tg clustertest.Target) {
		binaries(t)
		ctx := context.Background()
		ca := clusterArgs(t, tg)
		suffix := randSuffix()
		alertIndex := "edgewatch-alerts-test-" + suffix
		ipsumFeed, sampleFeed := "t"+suffix+"-ipsum", "t"+suffix+"-sample"
		diIndex, evIndex := "edgewatch-e2e-"+suffix+"-deviceinfo", "edgewatch-e2e-"+suffix+"-networkevents"
		t.Cleanup(func() {
			if os.Getenv("EDGEWATCH_KEEP_TEST_INDICES") == "1" {
				return
			}
			findings := wire.FindingsAlias(alertIndex)
			clustertest.DeleteIndices(t, tg, alertIndex+"-*", findings+"-*", wire.FeedAlias(ipsumFeed)+"-*", wire.FeedAlias(sampleFeed)+"-*")
			for _, name := range []string{alertIndex, findings} {
				get(t, tg, http.MethodDelete, "/_index_template/edgewatch-alert-index-"+name, nil, nil, nil)
			}
		})
		scope := []string{"--alert-index", alertIndex}
		with := func(args ...string) []string { return append(append(args, ca...), scope...) }

		t.Run("install twice", func(t *testing.T) {
			out, _ := mustHost(t, with("install", "--json")...)
			first := decodeJSON[stepsResult](t, "install", out)
			if first.Failed != 0 {
				t.Fatalf("first install failed steps: %s", out)
			}
			if got := first.outcome("write alias", alertIndex); got != "ok" {
				t.Errorf("alert alias step %q, want ok (created)", got)
			}
			// Retention: the integ-test distributions have no ISM/ILM; install
			// must say so and go on.
			for _, s := range first.Steps {
				if s.Step == "retention policy" && s.Outcome == "skipped" && !strings.Contains(s.Detail, "no handler found") {
					t.Errorf("retention skipped without the server's reason: %+v", s)
				}
			}
			out, _ = mustHost(t, with("install", "--json")...)
			second := decodeJSON[stepsResult](t, "install", out)
			for _, s := range second.Steps {
				if s.Outcome != "already-present" && s.Outcome != "skipped" {
					t.Errorf("second install: %s %s: %s (%s), want already-present or skipped", s.Step, s.Target, s.Outcome, s.Detail)
				}
			}
			if second.Outcomes["already-present"] < 5 {
				t.Errorf("second install outcomes %v: want the templates, the state index, the write aliases and the alert mapping already-present", second.Outcomes)
			}

			// The mapping the server returns for the alert index carries the
			// template's types, and every field a saved object uses.
			var raw json.RawMessage
			if st := get(t, tg, http.MethodGet, "/"+alertIndex+"/_mapping", nil, nil, &raw); st != 200 {
				t.Fatalf("GET mapping: HTTP %d", st)
			}
			server, err := dashboards.FlattenMapping(raw)
			if err != nil {
				t.Fatal(err)
			}
			tmpl, _ := dashboards.IndexTemplate(dashboards.AlertsTemplate)
			want, err := dashboards.FlattenMapping(tmpl.Body)
			if err != nil {
				t.Fatal(err)
			}
			for f, typ := range want {
				if server[f] != typ {
					t.Errorf("alert index field %s: server maps %q, template %q", f, server[f], typ)
				}
			}
			if server["source.ip"] != "ip" || server["@timestamp"] != "date" || server["event.id"] != "keyword" {
				t.Errorf("server mapping: source.ip %q, @timestamp %q, event.id %q", server["source.ip"], server["@timestamp"], server["event.id"])
			}
			bundle, _ := dashboards.SavedObjects(dashboards.KindOpenSearchDashboards)
			uses, err := dashboards.FieldsUsed(bundle)
			if err != nil {
				t.Fatal(err)
			}
			var alertUses []dashboards.FieldUse
			for _, u := range uses {
				if u.Pattern == dashboards.AlertsPattern {
					alertUses = append(alertUses, u)
				}
			}
			for _, e := range dashboards.CheckMapping(alertUses, map[string]map[string]string{dashboards.AlertsPattern: server}) {
				t.Error(e)
			}
		})

		t.Run("install dry run changes nothing", func(t *testing.T) {
			other := "edgewatch-alerts-test-" + suffix + "-dry"
			out, _ := mustHost(t, append([]string{"install", "--dry-run", "--json", "--alert-index", other}, ca...)...)
			r := decodeJSON[stepsResult](t, "install --dry-run", out)
			if got := r.outcome("write alias", other); got != "would-apply" {
				t.Errorf("dry run: alert alias step %q, want would-apply", got)
			}
			if st := get(t, tg, http.MethodHead, "/"+other, nil, nil, nil); st != 404 {
				t.Errorf("dry run created %s (HEAD: %d)", other, st)
			}
		})

		t.Run("feed load and status", func(t *testing.T) {
			ipsum := testenv.IPsumDir(t)
			l4, l5 := filepath.Join(ipsum, "levels", "4.txt"), filepath.Join(ipsum, "levels", "5.txt")
			out, _ := mustHost(t, with("feed", "load", "--file", l4, "--name", ipsumFeed)...)
			first := decodeJSON[feedLoadOut](t, "feed load", out)
			if !first.FirstLoad || first.Loaded != 5354 || first.Added != 5354 || first.PerLevel["4"] != 5354 {
				t.Errorf("first load %+v: want 5354 indicators at level 4, all added", first)
			}
			out, _ = mustHost(t, with("feed", "status", "--name", ipsumFeed)...)
			st := decodeJSON[feedStatusOut](t, "feed status", out)
			if len(st.Feeds) != 1 || !st.Feeds[0].Live || st.Feeds[0].Total != 5354 || st.Feeds[0].PerLevel["4"] != 5354 || st.Feeds[0].Index != first.Index {
				t.Fatalf("feed status after 4.txt: %s", out)
			}

			// An empty feed file is refused and the live feed stays.
			empty := filepath.Join(t.TempDir(), "empty.txt")
			if err := os.WriteFile(empty, []byte("# nothing\nnot-an-ip\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			code, _, stderr := host(t, "", with("feed", "load", "--file", empty, "--name", ipsumFeed)...)
			if code == 0 || !strings.Contains(stderr, "unchanged") {
				t.Errorf("empty feed load: exit %d, stderr %q: want a refusal saying the live feed is unchanged", code, stderr)
			}

			// A second load swaps the alias; added/removed are the set
			// differences.
			old, next := parseFeedSet(t, l4), parseFeedSet(t, l5)
			wantAdded, wantRemoved := 0, 0
			for v := range next {
				if !old[v] {
					wantAdded++
				}
			}
			for v := range old {
				if !next[v] {
					wantRemoved++
				}
			}
			out, _ = mustHost(t, with("feed", "load", "--file", l5, "--name", ipsumFeed)...)
			second := decodeJSON[feedLoadOut](t, "feed load", out)
			if second.Previous != first.Index || second.Index == first.Index || second.Loaded != len(next) ||
				second.Added != wantAdded || second.Removed != wantRemoved || second.Kept != len(next)-wantAdded {
				t.Errorf("second load %+v: want previous %s, loaded %d, added %d, removed %d", second, first.Index, len(next), wantAdded, wantRemoved)
			}
			var alias map[string]any
			get(t, tg, http.MethodGet, "/_alias/"+wire.FeedAlias(ipsumFeed), nil, nil, &alias)
			if len(alias) != 1 || alias[second.Index] == nil {
				t.Errorf("alias %s points at %v, want only %s", wire.FeedAlias(ipsumFeed), alias, second.Index)
			}
			out, _ = mustHost(t, with("feed", "status", "--name", ipsumFeed)...)
			st = decodeJSON[feedStatusOut](t, "feed status", out)
			if len(st.Feeds) != 1 || st.Feeds[0].Total != int64(len(next)) || st.Feeds[0].Index != second.Index {
				t.Errorf("feed status after 5.txt: %s", out)
			}
			t.Logf("%s: levels/4.txt loaded in %d ms, levels/5.txt in %d ms", tg.Name, first.LoadMS, second.LoadMS)
		})

		var golden []string
		t.Run("detection equals file mode", func(t *testing.T) {
			g, err := os.ReadFile(filepath.Join(sampleDir, "alerts.golden.ndjson"))
			if err != nil {
				t.Fatal(err)
			}
			golden = eventIDs(t, g)
			if len(golden) == 0 {
				t.Fatal("golden alerts are empty; the comparison would prove nothing")
			}
			feedFile, _ := filepath.Abs(filepath.Join(sampleDir, "feed.txt"))
			mustHost(t, with("feed", "load", "--file", feedFile, "--name", sampleFeed)...)
			nDI := ingestSample(t, tg, "device_info.ndjson", diIndex)
			nEV := ingestSample(t, tg, "network_events.ndjson", evIndex)
			t.Logf("indexed %d DeviceInfo and %d DeviceNetworkEvents rows", nDI, nEV)

			runArgs := with("run", "--log-format", "json", "--profile", cluster.ProfileAdvancedHunting,
				"--device-info-index", diIndex, "--network-events-index", evIndex, "--indicator-feed", sampleFeed)
			outFile := filepath.Join(t.TempDir(), "alerts.ndjson")
			_, stderr := mustHost(t, append(runArgs, "--out", outFile)...)
			sum := runSummary(t, stderr)
			b, err := os.ReadFile(outFile)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(golden, eventIDs(t, b)); diff != "" {
				t.Errorf("streamed alerts differ from the file-mode golden (-golden +cluster):\n%s", diff)
			}
			if diff := cmp.Diff(golden, indexEventIDs(t, tg, alertIndex)); diff != "" {
				t.Errorf("alerts in %s differ from the file-mode golden (-golden +index):\n%s", alertIndex, diff)
			}
			if sum.Alerts.Created != len(golden) || sum.Alerts.AlreadyPresent != 0 || sum.Alerts.Index != "" && sum.Alerts.Index != alertIndex {
				t.Errorf("first run alerts %+v: want %d created", sum.Alerts, len(golden))
			}

			// Rerun: nothing new.
			_, stderr = mustHost(t, append(runArgs, "--out", outFile)...)
			re := runSummary(t, stderr)
			if re.Alerts.Created != 0 || re.Alerts.AlreadyPresent != len(golden) || re.Alerts.Failed != 0 {
				t.Errorf("rerun alerts %+v: want 0 created, %d already present", re.Alerts, len(golden))
			}
			if n := len(indexEventIDs(t, tg, alertIndex)); n != len(golden) {
				t.Errorf("alert index holds %d documents after the rerun, want %d", n, len(golden))
			}

			// Both runs left a run record in the state index.
			for _, s := range []wire.Summary{sum, re} {
				doc, err := stack.GetDoc(ctx, tg.Client, wire.StateIndex, "run-"+s.RunID)
				if err != nil || !doc.Found {
					t.Errorf("run record run-%s: found=%v err=%v", s.RunID, doc.Found, err)
					continue
				}
				var rec wire.RunRecord
				if err := json.Unmarshal(doc.Source, &rec); err != nil {
					t.Fatal(err)
				}
				if rec.Outcome != "success" || rec.Counts.AlertsCreated != int64(s.Alerts.Created) || rec.Counts.Matches != int64(len(golden)) {
					t.Errorf("run record %+v does not match the run %+v", rec, s.Alerts)
				}
			}
		})

		// Every sink is explicit (issue 12.5, 18.6): a cluster run writes its
		// alert index and --out; the summary states per sink what was
		// created, already present and written; --no-index writes nothing
		// to the cluster.
		t.Run("sinks", func(t *testing.T) {
			if len(golden) == 0 {
				t.Fatal("the detection subtest produced no alerts")
			}
			n := len(golden)
			// The detection subtest's data indices are gone with it.
			ingestSample(t, tg, "device_info.ndjson", diIndex+"-sinks")
			ingestSample(t, tg, "network_events.ndjson", evIndex+"-sinks")
			runArgs := with("run", "--profile", cluster.ProfileAdvancedHunting,
				"--device-info-index", diIndex+"-sinks", "--network-events-index", evIndex+"-sinks", "--indicator-feed", sampleFeed)
			outFile := filepath.Join(t.TempDir(), "alerts.ndjson")

			// A rerun: the index answers "already present", the file gets all.
			_, stderr := mustHost(t, append(slices.Clone(runArgs), "--out", outFile)...)
			for _, want := range []string{
				fmt.Sprintf("written to:     index %s: 0 created, %d already present\n", alertIndex, n),
				fmt.Sprintf("                  file %s: %d written (ndjson)\n", outFile, n),
			} {
				if !strings.Contains(stderr, want) {
					t.Errorf("summary lacks %q:\n%s", want, stderr)
				}
			}
			if b, _ := os.ReadFile(outFile); len(eventIDs(t, b)) != n {
				t.Errorf("the file holds %d alerts, want %d", len(eventIDs(t, b)), n)
			}

			// The same in the JSON log, as a list of sinks.
			_, stderr = mustHost(t, append(slices.Clone(runArgs), "--log-format", "json", "--out", outFile)...)
			type sink struct {
				Kind, Name       string
				Written, Created int
				AlreadyPresent   int `json:"already_present"`
			}
			var sinks []sink
			for _, line := range strings.Split(stderr, "\n") {
				var l struct {
					Msg   string          `json:"msg"`
					Sinks json.RawMessage `json:"sinks"`
				}
				if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "run finished" {
					sinks = decodeJSON[[]sink](t, "sinks", string(l.Sinks))
				}
			}
			if len(sinks) != 2 || sinks[0].Kind != "index" || sinks[0].Name != alertIndex || sinks[0].AlreadyPresent != n ||
				sinks[1].Kind != "file" || sinks[1].Name != outFile || sinks[1].Written != n {
				t.Errorf("sinks %+v: want the index (%d already present) and the file (%d written)", sinks, n, n)
			}

			// --no-index: the file only; no alert and no run record in the cluster.
			_, stderr = mustHost(t, append(slices.Clone(runArgs)[:len(runArgs)-2], "--no-index", "--log-format", "json", "--out", outFile)...)
			sum := runSummary(t, stderr)
			if sum.Alerts.Index != "" || sum.Alerts.Created != 0 || sum.Alerts.AlreadyPresent != 0 || sum.Alerts.Matched != n {
				t.Errorf("--no-index alerts %+v: want %d matched, no index", sum.Alerts, n)
			}
			if doc, err := stack.GetDoc(ctx, tg.Client, wire.StateIndex, "run-"+sum.RunID); err != nil || doc.Found {
				t.Errorf("--no-index left a run record (found=%v, err=%v)", doc.Found, err)
			}
			get(t, tg, http.MethodPost, "/"+wire.AlertsPattern+"/_refresh", nil, nil, nil)
			var hits struct {
				Count int `json:"count"`
			}
			get(t, tg, http.MethodPost, "/"+wire.AlertsPattern+"/_count", nil,
				map[string]any{"query": map[string]any{"term": map[string]any{"edgewatch.run_id": sum.RunID}}}, &hits)
			if hits.Count != 0 {
				t.Errorf("--no-index wrote %d alerts of run %s into %s", hits.Count, sum.RunID, wire.AlertsPattern)
			}
			if b, _ := os.ReadFile(outFile); len(eventIDs(t, b)) != n {
				t.Errorf("--no-index: the file holds %d alerts, want %d", len(eventIDs(t, b)), n)
			}
			_, stderr = mustHost(t, append(slices.Clone(runArgs)[:len(runArgs)-2], "--no-index", "--out", outFile)...)
			if !strings.Contains(stderr, "no alert index, no run record (--no-index)") || strings.Contains(stderr, "index "+alertIndex) {
				t.Errorf("--no-index summary:\n%s", stderr)
			}

			// --no-index with --alert-index is a contradiction: exit 2.
			code, _, stderr := host(t, "", append(slices.Clone(runArgs), "--no-index", "--out", outFile)...)
			if code != 2 || !strings.Contains(stderr, "--no-index") {
				t.Errorf("--no-index --alert-index: exit %d, %s", code, stderr)
			}
		})

		t.Run("report over the alert index", func(t *testing.T) {
			if len(golden) == 0 {
				t.Fatal("the detection subtest produced no alerts to report on")
			}
			html := filepath.Join(t.TempDir(), "report.html")
			_, stderr := mustHost(t, with("report", "--indicator-feed", sampleFeed, "--out", html)...)
			if !strings.Contains(stderr, fmt.Sprintf("report of %d alerts", len(golden))) {
				t.Errorf("report stderr %q: want %d alerts", stderr, len(golden))
			}
			b, err := os.ReadFile(html)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(b, []byte(fmt.Sprintf(`"total":%d`, len(golden)))) {
				t.Errorf("report page does not carry total %d", len(golden))
			}
			feedFile, _ := filepath.Abs(filepath.Join(sampleDir, "feed.txt"))
			if want := fmt.Sprintf(`id="feed-total">%d<`, len(parseFeedSet(t, feedFile))); !bytes.Contains(b, []byte(want)) {
				t.Errorf("report page feed panel: want %s", want)
			}
		})

		t.Run("uninstall", func(t *testing.T) {
			// Uninstall removes the (shared) templates: put them back at the
			// end whatever happens, for the other tests of this cluster.
			t.Cleanup(func() {
				if _, err := stack.InstallTemplates(context.Background(), tg.Client, stack.TemplateOptions{}); err != nil {
					t.Errorf("reinstall templates: %v", err)
				}
			})
			scoped := append(slices.Clone(scope), "--indicator-feed", sampleFeed)
			out, _ := mustHost(t, append(append([]string{"uninstall", "--json"}, ca...), scoped...)...)
			r := decodeJSON[stepsResult](t, "uninstall", out)
			if r.Failed != 0 {
				t.Errorf("uninstall failed steps: %s", out)
			}
			for _, name := range []string{dashboards.AlertsTemplate, dashboards.IndicatorsTemplate, dashboards.StateTemplate} {
				if got := r.outcome("index template", name); got != "removed" && got != "absent" {
					t.Errorf("template %s: %s, want removed", name, got)
				}
				if st := get(t, tg, http.MethodGet, "/_index_template/"+name, nil, nil, nil); st != 404 {
					t.Errorf("template %s still there after uninstall (HTTP %d)", name, st)
				}
			}
			if got := r.outcome("alert indices", alertIndex); got != "kept" {
				t.Errorf("alert index step %q, want kept", got)
			}
			if n := len(indexEventIDs(t, tg, alertIndex)); n != len(golden) {
				t.Errorf("alerts after uninstall without --delete-data: %d, want %d", n, len(golden))
			}

			out, _ = mustHost(t, append(append([]string{"uninstall", "--json", "--delete-data"}, ca...), scoped...)...)
			r = decodeJSON[stepsResult](t, "uninstall --delete-data", out)
			if got := r.outcome("alert indices", alertIndex); got != "removed" {
				t.Errorf("alert index step %q, want removed: %s", got, out)
			}
			if got := r.outcome("indicator indices", wire.FeedAlias(sampleFeed)); got != "removed" {
				t.Errorf("indicator step %q, want removed: %s", got, out)
			}
			if got := r.outcome("state index", wire.StateIndex); got != "kept" {
				t.Errorf("state index step %q, want kept (scoped uninstall)", got)
			}
			if st := get(t, tg, http.MethodHead, "/"+alertIndex, nil, nil, nil); st != 404 {
				t.Errorf("alert index still there after --delete-data (HEAD %d)", st)
			}
			if st := get(t, tg, http.MethodHead, "/"+wire.StateIndex, nil, nil, nil); st != 200 {
				t.Errorf("state index gone after a scoped uninstall (HEAD %d)", st)
			}
			// The other feed of this test was out of scope.
			var alias map[string]any
			if st := get(t, tg, http.MethodGet, "/_alias/"+wire.FeedAlias(ipsumFeed), nil, nil, &alias); st != 200 || len(alias) != 1 {
				t.Errorf("feed %s touched by an uninstall scoped to %s (HTTP %d, %v)", ipsumFeed, sampleFeed, st, alias)
			}
		})
	})
}

// TestReportFromAlertsFile: file mode end to end without any cluster:
// run --out alerts.ndjson, then report --alerts alerts.ndjson.
func TestReportFromAlertsFile(t *testing.T) {
	dir := t.TempDir()
	alerts, html := filepath.Join(dir, "alerts.ndjson"), filepath.Join(dir, "report.html")
	abs := func(p string) string { a, _ := filepath.Abs(p); return a }
	mustHost(t, "run", "--device-info", abs(sampleDir+"/device_info.ndjson"), "--network-events", abs(sampleDir+"/network_events.ndjson"),
		"--feed", abs(sampleDir+"/feed.txt"), "--format", "ndjson", "--out", alerts)
	b, err := os.ReadFile(alerts)
	if err != nil {
		t.Fatal(err)
	}
	n := len(eventIDs(t, b))
	if n == 0 {
		t.Fatal("the sample produced no alerts")
	}
	_, stderr := mustHost(t, "report", "--alerts", alerts, "--out", html)
	if !strings.Contains(stderr, fmt.Sprintf("report of %d alerts written to %s", n, html)) {
		t.Errorf("stderr %q", stderr)
	}
	page, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(page, []byte(fmt.Sprintf(`"total":%d`, n))) || !bytes.HasPrefix(bytes.TrimSpace(page), []byte("<!DOCTYPE html>")) {
		t.Errorf("report page does not show %d alerts:\n%.300s", n, page)
	}

	// A report without --alerts and without a cluster says what to give,
	// as a usage error (exit 2).
	code, _, stderr := host(t, "", "report", "--out", html)
	if code != 2 || !strings.Contains(stderr, "--alerts FILE") {
		t.Errorf("report with no input: exit %d, stderr %q", code, stderr)
	}
}
