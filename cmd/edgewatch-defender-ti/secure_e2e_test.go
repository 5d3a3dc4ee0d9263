package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/incremental"
	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/stack"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/connectors/cluster/clustertest"
	"github.com/edgewatch/edgewatch/dashboards"
	"github.com/edgewatch/edgewatch/internal/serve"
	"github.com/edgewatch/edgewatch/internal/serve/servetest"
	"github.com/edgewatch/edgewatch/internal/testlog"
	"github.com/edgewatch/edgewatch/plugin/wire"
	"github.com/google/go-cmp/cmp"
)

// The end-to-end tests of issue 13 on the secured test servers
// (scripts/cluster.sh start <flavor> --secure): TLS with the test CA, the
// least-privileged detector (OpenSearch user; Elasticsearch API key and
// user), the installer, and the admin that loads the Defender data into
// defender-* indices. The built host and plugin run as those identities.

// secureWorld is what one secured test sets up: the Defender sample loaded
// by the admin, the stack installed by the installer, a feed loaded by the
// detector. Everything is deleted when the test ends.
type secureWorld struct {
	det, admin, installer   clustertest.Target
	suffix                  string
	alertIndex, feed        string
	diIndex, evIndex        string
	detArgs, installerArgs  []string
	golden                  []string // event ids of the file-mode alerts
	nDeviceInfo, nNetEvents int
}

func newSecureWorld(t *testing.T, det clustertest.Target) *secureWorld {
	t.Helper()
	binaries(t)
	w := &secureWorld{det: det, admin: det.As(t, clustertest.Admin), installer: det.As(t, clustertest.Installer), suffix: randSuffix()}
	w.alertIndex = "edgewatch-alerts-sec-" + w.suffix
	w.feed = "s" + w.suffix
	w.diIndex, w.evIndex = "defender-sec-"+w.suffix+"-deviceinfo", "defender-sec-"+w.suffix+"-networkevents"
	t.Cleanup(func() {
		if os.Getenv("EDGEWATCH_KEEP_TEST_INDICES") != "1" {
			clustertest.DeleteIndices(t, w.admin, w.alertIndex, wire.FindingsAlias(w.alertIndex), wire.FeedAlias(w.feed)+"-*")
		}
	})
	w.detArgs, w.installerArgs = clusterArgs(t, det), clusterArgs(t, w.installer)
	g, err := os.ReadFile(filepath.Join(sampleDir, "alerts.golden.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	if w.golden = eventIDs(t, g); len(w.golden) == 0 {
		t.Fatal("golden alerts are empty; the comparison would prove nothing")
	}
	return w
}

// as returns args followed by the identity's cluster flags and the test's
// alert index.
func (w *secureWorld) as(id []string, args ...string) []string {
	return append(append(args, id...), "--alert-index", w.alertIndex)
}

// install runs install as the installer and fails on a failed step.
func (w *secureWorld) install(t *testing.T) stepsResult {
	t.Helper()
	out, _ := mustHost(t, w.as(w.installerArgs, "install", "--json")...)
	r := decodeJSON[stepsResult](t, "install", out)
	if r.Failed != 0 {
		t.Fatalf("install as the installer failed steps: %s", out)
	}
	return r
}

// loadData has the admin index the sample into defender-* indices and the
// detector load the sample feed.
func (w *secureWorld) loadData(t *testing.T) {
	t.Helper()
	w.nDeviceInfo = ingestSample(t, w.admin, "device_info.ndjson", w.diIndex)
	w.nNetEvents = ingestSample(t, w.admin, "network_events.ndjson", w.evIndex)
	feedFile, _ := filepath.Abs(filepath.Join(sampleDir, "feed.txt"))
	out, _ := mustHost(t, w.as(w.detArgs, "feed", "load", "--file", feedFile, "--name", w.feed)...)
	if r := decodeJSON[feedLoadOut](t, "feed load", out); !r.FirstLoad || r.Loaded == 0 {
		t.Fatalf("feed load as the detector: %s", out)
	}
}

// runArgs are `edgewatch run` over the loaded data as the detector.
func (w *secureWorld) runArgs(out string) []string {
	return w.as(w.detArgs, "run", "--log-format", "json", "--profile", cluster.ProfileAdvancedHunting,
		"--device-info-index", w.diIndex, "--network-events-index", w.evIndex, "--indicator-feed", w.feed, "--out", out)
}

// TestSecureEndToEnd is issue 13's "done when": with the data loaded by
// the admin into defender-* indices, edgewatch running as the detector
// (OpenSearch user; Elasticsearch API key, then user; both with --ca-file)
// loads a feed, detects, writes alerts through the write alias (ids looked
// up across its backing indices) and gets exactly the file-mode results,
// grouped too (findings as evidence, grouped alerts rewritten with
// if_seq_no); the installer installs (write aliases, a single alert index
// migrated into one) and uninstalls; the detector can neither install nor
// delete a Defender index.
func TestSecureEndToEnd(t *testing.T) {
	clustertest.RunSecure(t, func(t *testing.T, det clustertest.Target) {
		w := newSecureWorld(t, det)
		ctx := context.Background()

		t.Run("install as the installer", func(t *testing.T) {
			r := w.install(t)
			for _, a := range []string{w.alertIndex, wire.FindingsAlias(w.alertIndex)} {
				if got := r.outcome("write alias", a); got != "ok" {
					t.Errorf("write alias %s step %q, want ok (created)", a, got)
				}
			}
			if got := r.outcome("alert mapping", w.alertIndex); got != "ok" {
				t.Errorf("alert mapping step %q, want ok", got)
			}
		})

		// The admin loads the Defender data, the detector the feed (the
		// indices live as long as the whole test).
		w.loadData(t)
		t.Logf("the admin indexed %d DeviceInfo and %d DeviceNetworkEvents rows", w.nDeviceInfo, w.nNetEvents)

		t.Run("install as the detector is refused", func(t *testing.T) {
			code, out, stderr := host(t, "", w.as(w.detArgs, "install", "--json")...)
			if code == 0 {
				t.Fatalf("install as the detector succeeded: %s", out)
			}
			r := decodeJSON[stepsResult](t, "install", out)
			want := map[cluster.Flavor]string{cluster.OpenSearch: "indices:admin/index_template/", cluster.Elasticsearch: "manage_index_templates"}[det.Flavor]
			var refused bool
			for _, s := range r.Steps {
				if s.Step == "index template" && s.Outcome == "failed" && strings.Contains(s.Detail, "403") && strings.Contains(s.Detail, want) {
					refused = true
				}
			}
			if !refused {
				t.Errorf("no index template step refused with 403 naming %q:\n%s\n%s", want, out, stderr)
			}
		})

		t.Run("detection as the detector equals file mode", func(t *testing.T) {
			outFile := filepath.Join(t.TempDir(), "alerts.ndjson")
			_, stderr := mustHost(t, w.runArgs(outFile)...)
			sum := runSummary(t, stderr)
			// The detector may not read the cluster settings (the clause and
			// bucket limits): the run keeps its defaults without a warning.
			for _, line := range strings.Split(stderr, "\n") {
				var l struct{ Level, Msg string }
				if json.Unmarshal([]byte(line), &l) == nil && l.Level != "INFO" && l.Level != "DEBUG" {
					t.Errorf("the run as the detector logged %s: %s", l.Level, line)
				}
			}
			b, err := os.ReadFile(outFile)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(w.golden, eventIDs(t, b)); diff != "" {
				t.Errorf("streamed alerts differ from the file-mode golden (-golden +cluster):\n%s", diff)
			}
			// The admin checks the alias (the detector reads it too: its
			// writer looks ids up across the backing indices).
			if diff := cmp.Diff(w.golden, indexEventIDs(t, w.admin, w.alertIndex)); diff != "" {
				t.Errorf("alerts in %s differ from the file-mode golden (-golden +index):\n%s", w.alertIndex, diff)
			}
			if sum.Alerts.Created != len(w.golden) || sum.Alerts.Failed != 0 {
				t.Errorf("run alerts %+v: want %d created", sum.Alerts, len(w.golden))
			}
			_, stderr = mustHost(t, w.runArgs(outFile)...)
			if re := runSummary(t, stderr); re.Alerts.Created != 0 || re.Alerts.AlreadyPresent != len(w.golden) {
				t.Errorf("rerun alerts %+v: want 0 created, %d already present", re.Alerts, len(w.golden))
			}
			doc, err := stack.GetDoc(ctx, det.Client, wire.StateIndex, "run-"+sum.RunID)
			if err != nil || !doc.Found {
				t.Errorf("the detector reads its run record run-%s: found=%v err=%v", sum.RunID, doc.Found, err)
			}
		})

		t.Run("grouped detection as the detector equals file mode", func(t *testing.T) {
			w.groupedRun(t)
		})

		t.Run("migration of a single alert index as the installer", func(t *testing.T) {
			w.migration(t)
		})

		t.Run("the detector cannot delete a Defender index", func(t *testing.T) {
			req := cluster.Request{Method: http.MethodDelete, Path: "/" + w.diIndex}
			err := det.Client.Call(ctx, "delete "+w.diIndex, req, nil)
			var ce *cluster.Error
			if !errors.As(err, &ce) || ce.Status != 403 || !errors.Is(err, cluster.ErrUnauthorized) {
				t.Fatalf("delete %s as the detector: %v, want 403", w.diIndex, err)
			}
			// One line naming the privilege (the action) and the index.
			msg := err.Error()
			if strings.Contains(msg, "\n") || !strings.Contains(msg, "indices:admin/delete") || !strings.Contains(msg, " on "+w.diIndex) {
				t.Errorf("403 message does not name the action and the index on one line: %s", msg)
			}
			if n := clustertest.Count(t, w.admin.Client, w.diIndex); n != int64(w.nDeviceInfo) {
				t.Errorf("%s holds %d documents after the refused delete, want %d", w.diIndex, n, w.nDeviceInfo)
			}
		})

		t.Run("uninstall as the installer", func(t *testing.T) {
			t.Cleanup(func() {
				if _, err := stack.InstallTemplates(context.Background(), w.installer.Client, stack.TemplateOptions{}); err != nil {
					t.Errorf("reinstall templates as the installer: %v", err)
				}
			})
			out, _ := mustHost(t, w.as(w.installerArgs, "uninstall", "--json", "--delete-data", "--indicator-feed", w.feed)...)
			r := decodeJSON[stepsResult](t, "uninstall", out)
			if r.Failed != 0 {
				t.Errorf("uninstall as the installer failed steps: %s", out)
			}
			if got := r.outcome("alert indices", w.alertIndex); got != "removed" {
				t.Errorf("alert index step %q, want removed: %s", got, out)
			}
			if got := r.outcome("indicator indices", wire.FeedAlias(w.feed)); got != "removed" {
				t.Errorf("indicator step %q, want removed: %s", got, out)
			}
			if st := get(t, w.admin, http.MethodHead, "/"+w.alertIndex, nil, nil, nil); st != 404 {
				t.Errorf("alert index still there after uninstall --delete-data (HEAD %d)", st)
			}
		})
	})
}

// groupedArgs group the sample's alerts: per device and port per week (9 alerts, 5 groups).
var groupedArgs = []string{"--group-by", "host.id,destination.port", "--group-window", "7d"}

// groupedRun: a grouping detection run as the detector into write aliases
// the installer created gives exactly the file-mode grouped alerts — in
// its output and in the alert alias — keeps every per-event finding in the
// findings alias, and a rerun changes no group.
func (w *secureWorld) groupedRun(t *testing.T) {
	t.Helper()
	alias := w.alertIndex + "-grouped"
	findings := wire.FindingsAlias(alias)
	t.Cleanup(func() { clustertest.DeleteIndices(t, w.admin, alias, findings) })
	out, _ := mustHost(t, append(append([]string{"install", "--json"}, w.installerArgs...), "--alert-index", alias)...)
	if r := decodeJSON[stepsResult](t, "install", out); r.Failed != 0 || r.outcome("write alias", findings) != "ok" {
		t.Fatalf("install of the grouped aliases as the installer: %s", out)
	}

	dir := t.TempDir()
	ref := filepath.Join(dir, "file-mode.ndjson")
	mustHost(t, append([]string{"run", "--device-info", filepath.Join(sampleDir, "device_info.ndjson"),
		"--network-events", filepath.Join(sampleDir, "network_events.ndjson"), "--feed", filepath.Join(sampleDir, "feed.txt"),
		"--out", ref}, groupedArgs...)...)
	refB, err := os.ReadFile(ref)
	if err != nil {
		t.Fatal(err)
	}
	want := groupCounts(t, refB)
	if len(want) == 0 || len(want) >= len(w.golden) {
		t.Fatalf("%d groups for %d alerts: the sample does not exercise grouping", len(want), len(w.golden))
	}

	outFile := filepath.Join(dir, "cluster.ndjson")
	args := append(append(w.runArgs(outFile), "--alert-index", alias), groupedArgs...)
	_, stderr := mustHost(t, args...)
	sum := runSummary(t, stderr)
	b, err := os.ReadFile(outFile)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, groupCounts(t, b)); diff != "" {
		t.Errorf("streamed grouped alerts differ from file mode (-file +cluster):\n%s", diff)
	}
	if diff := cmp.Diff(want, indexGroupCounts(t, w.admin, alias)); diff != "" {
		t.Errorf("grouped alerts in %s differ from file mode (-file +index):\n%s", alias, diff)
	}
	if diff := cmp.Diff(w.golden, indexEventIDs(t, w.admin, findings)); diff != "" {
		t.Errorf("findings in %s differ from the per-event golden (-golden +index):\n%s", findings, diff)
	}
	g := sum.Groups
	if g == nil || g.Created != len(want) || g.Failed != 0 || sum.Alerts.Index != alias || sum.Alerts.Created != len(w.golden) {
		t.Errorf("run summary: alerts %+v, groups %+v", sum.Alerts, g)
	}
	_, stderr = mustHost(t, args...)
	if re := runSummary(t, stderr); re.Groups == nil || re.Groups.Unchanged != len(want) || re.Groups.Created+re.Groups.Updated != 0 ||
		re.Alerts.AlreadyPresent != len(w.golden) {
		t.Errorf("rerun: alerts %+v, groups %+v: want every finding already present and every group unchanged", re.Alerts, re.Groups)
	}
}

// groupCounts reads grouped alert documents: group id -> events.
func groupCounts(t *testing.T, ndjson []byte) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for line := range bytes.Lines(bytes.TrimSpace(ndjson)) {
		var a struct {
			Event struct {
				ID string `json:"id"`
			} `json:"event"`
			Edgewatch struct {
				Suppression *struct {
					DocsCount int64 `json:"docs_count"`
				} `json:"suppression"`
			} `json:"edgewatch"`
		}
		if err := json.Unmarshal(line, &a); err != nil || a.Edgewatch.Suppression == nil {
			t.Fatalf("not a grouped alert (%v): %.200s", err, line)
		}
		out[a.Event.ID] = a.Edgewatch.Suppression.DocsCount
	}
	return out
}

// indexGroupCounts reads the grouped alerts of target as the admin.
func indexGroupCounts(t *testing.T, tg clustertest.Target, target string) map[string]int64 {
	t.Helper()
	get(t, tg, http.MethodPost, "/"+target+"/_refresh", nil, nil, nil)
	var r cluster.SearchHits[json.RawMessage]
	if st := get(t, tg, http.MethodPost, "/"+target+"/_search", nil, map[string]any{"size": 1000}, &r); st != 200 {
		t.Fatalf("search %s: HTTP %d", target, st)
	}
	var nd []byte
	for _, h := range r.Hits.Hits {
		nd = append(append(nd, h.Source...), '\n')
	}
	return groupCounts(t, nd)
}

// migration: a single alert index (alerts written before write aliases,
// with the alert mapping), loaded by the admin, is turned into the first
// backing index of a write alias of its name by install as the installer:
// every alert readable through the alias, the detector's rerun writes none.
func (w *secureWorld) migration(t *testing.T) {
	t.Helper()
	single := w.alertIndex + "-single"
	t.Cleanup(func() {
		clustertest.DeleteIndices(t, w.admin, single, single+"-*", wire.FindingsAlias(single))
	})
	_, mappings := clustertest.AlertTemplate(t)
	clustertest.Call(t, w.admin.Client, http.MethodPut, "/"+single, map[string]any{"mappings": mappings,
		"settings": map[string]any{"number_of_replicas": 0}}, nil)
	g, err := os.ReadFile(filepath.Join(sampleDir, "alerts.golden.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	var nd []byte
	for line := range bytes.Lines(bytes.TrimSpace(g)) {
		var a struct {
			Event struct {
				ID string `json:"id"`
			} `json:"event"`
		}
		if err := json.Unmarshal(line, &a); err != nil {
			t.Fatal(err)
		}
		nd = fmt.Appendf(nd, "{\"create\":{\"_id\":%q}}\n%s\n", a.Event.ID, bytes.TrimSpace(line))
	}
	req := cluster.Request{Method: http.MethodPost, Path: "/" + single + "/_bulk", Query: url.Values{"refresh": {"true"}}, NDJSON: true, Body: nd}
	if err := w.admin.Client.Call(context.Background(), "load "+single, req, nil); err != nil {
		t.Fatal(err)
	}

	out, _ := mustHost(t, append(append([]string{"install", "--json"}, w.installerArgs...), "--alert-index", single)...)
	r := decodeJSON[stepsResult](t, "install", out)
	var mig string
	for _, s := range r.Steps {
		if s.Step == "write alias" && s.Target == single {
			mig = s.Outcome + ": " + s.Detail
		}
	}
	if r.Failed != 0 || !strings.HasPrefix(mig, "updated: migrated the single index ("+fmt.Sprint(len(w.golden))+" documents)") {
		t.Fatalf("migration as the installer: %q\n%s", mig, out)
	}
	if diff := cmp.Diff(w.golden, indexEventIDs(t, w.admin, single)); diff != "" {
		t.Errorf("alerts behind the alias %s after the migration (-golden +alias):\n%s", single, diff)
	}
	_, stderr := mustHost(t, append(w.runArgs(filepath.Join(t.TempDir(), "alerts.ndjson")), "--alert-index", single)...)
	if re := runSummary(t, stderr); re.Alerts.Created != 0 || re.Alerts.AlreadyPresent != len(w.golden) {
		t.Errorf("run as the detector after the migration: %+v, want every alert already present", re.Alerts)
	}
}

// oneLineError checks a failed host run: a non-zero exit and one line on
// stderr holding every want.
func oneLineError(t *testing.T, code int, stderr string, want ...string) {
	t.Helper()
	msg := strings.TrimSpace(stderr)
	if code == 0 {
		t.Fatalf("exit 0, want a failure; stderr %q", msg)
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("the error takes more than one line:\n%s", msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q lacks %q", msg, w)
		}
	}
}

// TestSecureConnectErrors: a wrong password, a wrong or missing CA, plain
// HTTP to the TLS port and a dead API key each end the run with one line
// that says what is wrong.
func TestSecureConnectErrors(t *testing.T) {
	otherCA, _, _ := newTestCA(t)
	otherCAFile := writePEM(t, "other-ca.pem", "CERTIFICATE", otherCA.Raw)
	for _, f := range clustertest.Flavors {
		t.Run(string(f.Flavor), func(t *testing.T) {
			det := clustertest.ConnectSecure(t, f.Flavor, clustertest.Detector)
			binaries(t)
			url, user := det.Config.URLs[0], det.Config.Username
			wrong := filepath.Join(t.TempDir(), "wrong")
			if err := os.WriteFile(wrong, []byte("not-the-password\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			good := clusterArgs(t, det)
			pwFile := good[slices.Index(good, "--password-file")+1]
			base := []string{"feed", "status", "--source", string(f.Flavor)}
			tests := []struct {
				name string
				args []string
				want []string
			}{
				{"wrong password", []string{"--url", url, "--ca-file", det.Config.CAFile, "--username", user, "--password-file", wrong},
					[]string{"401", "authentication failed for user " + user, "check the user name and the password"}},
				{"wrong CA", []string{"--url", url, "--ca-file", otherCAFile, "--username", user, "--password-file", pwFile},
					[]string{"TLS", "not signed by the CA in " + otherCAFile, "certificate signed by unknown authority"}},
				{"no CA", []string{"--url", url, "--username", user, "--password-file", pwFile},
					[]string{"TLS", "not signed by a trusted authority", "--ca-file"}},
				{"plain HTTP to the TLS port", []string{"--url", strings.Replace(url, "https://", "http://", 1), "--username", user, "--password-file", pwFile},
					[]string{"closed the connection", "use an https:// URL"}},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					code, _, stderr := host(t, "", append(base, tt.args...)...)
					oneLineError(t, code, stderr, tt.want...)
					if strings.Contains(stderr, "not-the-password") {
						t.Error("the error shows the password")
					}
				})
			}
			if f.Flavor == cluster.Elasticsearch {
				t.Run("API key invalidated", func(t *testing.T) {
					admin := det.As(t, clustertest.Admin)
					id, keyFile := newDetectorAPIKey(t, admin, "")
					args := append(slices.Clone(base), "--url", url, "--ca-file", det.Config.CAFile, "--api-key-file", keyFile)
					mustHost(t, args...)
					clustertest.Call(t, admin.Client, http.MethodDelete, "/_security/api_key", map[string]any{"ids": []string{id}}, nil)
					code, _, stderr := host(t, "", args...)
					oneLineError(t, code, stderr, "401", "authentication failed for the API key id "+id, "has been invalidated")
				})
				t.Run("API key expired", func(t *testing.T) {
					admin := det.As(t, clustertest.Admin)
					id, keyFile := newDetectorAPIKey(t, admin, "2s")
					args := append(slices.Clone(base), "--url", url, "--ca-file", det.Config.CAFile, "--api-key-file", keyFile)
					time.Sleep(3 * time.Second)
					code, _, stderr := host(t, "", args...)
					oneLineError(t, code, stderr, "401", "authentication failed for the API key id "+id, "expired")
				})
			}
		})
	}
}

// newDetectorAPIKey has the admin create an API key limited to the
// detector role (expiring after expiration when not ""), invalidated when
// the test ends; it returns the key's id and a file holding its encoded
// form.
func newDetectorAPIKey(t *testing.T, admin clustertest.Target, expiration string) (id, file string) {
	t.Helper()
	role, err := dashboards.SecurityRole("elasticsearch", dashboards.RoleDetector, dashboards.RoleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var desc map[string]any
	if err := json.Unmarshal(role, &desc); err != nil {
		t.Fatal(err)
	}
	delete(desc, "description") // not allowed in role_descriptors
	body := map[string]any{"name": "edgewatch-test-" + randSuffix(), "role_descriptors": map[string]any{"edgewatch_detector": desc}}
	if expiration != "" {
		body["expiration"] = expiration
	}
	var r struct {
		ID      string `json:"id"`
		Encoded string `json:"encoded"`
	}
	clustertest.Call(t, admin.Client, http.MethodPost, "/_security/api_key", body, &r)
	t.Cleanup(func() {
		req := cluster.Request{Method: http.MethodDelete, Path: "/_security/api_key", Body: cluster.JSON(map[string]any{"ids": []string{r.ID}})}
		_, _ = admin.Client.Do(context.Background(), req)
	})
	file = filepath.Join(t.TempDir(), "api-key")
	if err := os.WriteFile(file, []byte(r.Encoded+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return r.ID, file
}

// narrowDetector has the admin create a user whose role is the detector
// role as `install --print-roles` prints it for the test's Defender
// indices and another alert index: it may do everything a detection run
// does except write into w.alertIndex. The user and role are deleted when
// the test ends. It returns the user name and its password file.
func (w *secureWorld) narrowDetector(t *testing.T) (user, pwFile string) {
	t.Helper()
	flavor := string(w.admin.Flavor)
	role, err := dashboards.SecurityRole(flavor, dashboards.RoleDetector, dashboards.RoleOptions{
		DefenderIndices: []string{w.diIndex, w.evIndex}, AlertIndex: "edgewatch-alerts-elsewhere-" + w.suffix})
	if err != nil {
		t.Fatal(err)
	}
	name := "edgewatch_test_nowrite_" + w.suffix
	var pw [16]byte
	_, _ = rand.Read(pw[:])
	password := "Ew-" + hex.EncodeToString(pw[:]) + "!9x"
	var rawRole any
	if err := json.Unmarshal(role, &rawRole); err != nil {
		t.Fatal(err)
	}
	c := w.admin.Client
	var paths []string
	if w.admin.Flavor == cluster.OpenSearch {
		api := "/_plugins/_security/api/"
		clustertest.Call(t, c, http.MethodPut, api+"roles/"+name, rawRole, nil)
		clustertest.Call(t, c, http.MethodPut, api+"internalusers/"+name, map[string]any{"password": password}, nil)
		clustertest.Call(t, c, http.MethodPut, api+"rolesmapping/"+name, map[string]any{"users": []string{name}}, nil)
		paths = []string{api + "rolesmapping/" + name, api + "internalusers/" + name, api + "roles/" + name}
	} else {
		clustertest.Call(t, c, http.MethodPut, "/_security/role/"+name, rawRole, nil)
		clustertest.Call(t, c, http.MethodPut, "/_security/user/"+name, map[string]any{"password": password, "roles": []string{name}}, nil)
		paths = []string{"/_security/user/" + name, "/_security/role/" + name}
	}
	t.Cleanup(func() {
		for _, p := range paths {
			if resp, err := c.Do(context.Background(), cluster.Request{Method: http.MethodDelete, Path: p}); err != nil || resp.Status != 200 {
				t.Logf("delete %s: %v %v", p, resp, err)
			}
		}
	})
	pwFile = filepath.Join(t.TempDir(), "narrow.password")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return name, pwFile
}

// TestSecureServe runs `edgewatch serve` with its own HTTPS listener
// against each secured server, as the detector (OpenSearch user,
// Elasticsearch API key, both with ca_file): a webhook call over HTTPS with
// the listener's CA triggers an incremental run whose alerts are exactly the
// file-mode ones. A second detection runs as a user without write on its
// alert index: its run fails with one line naming the privilege and the
// index, writes nothing and leaves the checkpoint where it was.
func TestSecureServe(t *testing.T) {
	for _, f := range clustertest.Flavors {
		t.Run(string(f.Flavor), func(t *testing.T) {
			det := clustertest.ConnectSecure(t, f.Flavor, clustertest.DetectorIdentities(f.Flavor)[0])
			w := newSecureWorld(t, det)
			w.install(t)
			w.loadData(t)
			narrowUser, narrowPW := w.narrowDetector(t)

			dir := t.TempDir()
			caCert, certFile, keyFile := serveCertificate(t, dir)
			token := "tok-" + randSuffix() + randSuffix()
			tokenFile := filepath.Join(dir, "token")
			if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			good, narrow := "sec-"+w.suffix, "nowrite-"+w.suffix
			// The installer creates the alert index the narrow user may
			// not write: the refusal is about writing alerts, not about
			// creating the index.
			narrowAlerts := w.alertIndex + "-nowrite"
			t.Cleanup(func() { clustertest.DeleteIndices(t, w.admin, narrowAlerts, wire.FindingsAlias(narrowAlerts)) })
			mustHost(t, append(append([]string{"install"}, w.installerArgs...), "--alert-index", narrowAlerts)...)
			secret := map[string]any{"password": map[string]string{"file": filePath(t, det, dir)}}
			if det.Config.APIKey != "" {
				secret = map[string]any{"api_key": map[string]string{"file": filePath(t, det, dir)}}
			}
			settings := func(username, alerts string) map[string]any {
				cl := map[string]any{"urls": det.Config.URLs, "ca_file": det.Config.CAFile, "profile": cluster.ProfileAdvancedHunting,
					"device_info_index": w.diIndex, "network_events_index": w.evIndex, "indicator_feed": w.feed, "alert_index": alerts}
				if username != "" {
					cl["username"] = username
				}
				return map[string]any{"source": string(f.Flavor), "cluster": cl}
			}
			// One window over the whole sample (2025), run on request only.
			window := map[string]any{"manual": true, "initial_lookback": "1500d", "max_window": "1500d", "max_windows": 1, "delay": "1m"}
			det1 := map[string]any{"name": good, "settings": settings(det.Config.Username, w.alertIndex), "secrets": secret}
			det2 := map[string]any{"name": narrow, "settings": settings(narrowUser, narrowAlerts),
				"secrets": map[string]any{"password": map[string]string{"file": narrowPW}}}
			for k, v := range window {
				det1[k], det2[k] = v, v
			}
			addr := freeAddr(t)
			cfg := map[string]any{
				"listen":     addr,
				"tls":        map[string]string{"cert_file": certFile, "key_file": keyFile},
				"webhook":    map[string]string{"token_file": tokenFile},
				"log":        map[string]string{"format": "json"},
				"detections": []any{det1, det2},
			}
			cfgFile := filepath.Join(dir, "serve.yaml")
			b, _ := json.Marshal(cfg) // JSON is YAML
			if err := os.WriteFile(cfgFile, b, 0o600); err != nil {
				t.Fatal(err)
			}

			srv := startServe(t, cfgFile)
			pool := x509.NewCertPool()
			pool.AddCert(caCert)
			client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
			base := "https://" + addr
			srv.waitHealthy(t, client, base)

			// Plain HTTP to the HTTPS listener gets no service.
			if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
				if resp.StatusCode == 200 {
					t.Errorf("plain HTTP to the HTTPS listener answered 200")
				}
				resp.Body.Close()
			}

			v := srv.trigger(t, client, base, token, good)
			if v.Result == nil || v.Result.Status != wire.StatusSuccess || v.Error != "" {
				t.Fatalf("run of %s: %+v (result %+v)\n%s", good, v, v.Result, srv.log())
			}
			if v.Result.AlertsCreated != len(w.golden) {
				t.Errorf("run created %d alerts, want %d (result %+v)", v.Result.AlertsCreated, len(w.golden), v.Result)
			}
			if diff := cmp.Diff(w.golden, indexEventIDs(t, w.admin, w.alertIndex)); diff != "" {
				t.Errorf("alerts in %s differ from the file-mode golden (-golden +index):\n%s", w.alertIndex, diff)
			}
			cp, found, err := incremental.ReadCheckpoint(context.Background(), stack.NewStateStore(w.admin.Client, wire.StateIndex), good)
			if err != nil || !found || cp.Checkpoint.IsZero() {
				t.Errorf("checkpoint of %s after a successful run: %+v found=%v err=%v", good, cp, found, err)
			}

			v = srv.trigger(t, client, base, token, narrow)
			msg := v.Error
			if msg == "" && v.Result != nil {
				msg = v.Result.Error
			}
			if v.Result != nil && v.Result.Status == wire.StatusSuccess || msg == "" {
				t.Fatalf("run without write on %s succeeded: %+v (result %+v)", narrowAlerts, v, v.Result)
			}
			// The privilege and the index, on one line: on Elasticsearch the
			// preflight's, on OpenSearch the first request the alias writer
			// makes (it resolves the write alias).
			privilege := map[cluster.Flavor]string{cluster.OpenSearch: "indices:admin/aliases/get", cluster.Elasticsearch: "create_doc"}[f.Flavor]
			if strings.Contains(msg, "\n") || !strings.Contains(msg, "403") || !strings.Contains(msg, privilege) || !strings.Contains(msg, narrowAlerts) {
				t.Errorf("error does not name the privilege %s and the index %s on one line: %s", privilege, narrowAlerts, msg)
			}
			t.Logf("%s: %s", f.Flavor, msg)
			if n := clustertest.Count(t, w.admin.Client, narrowAlerts); n != 0 {
				t.Errorf("%s holds %d alerts after the refused run", narrowAlerts, n)
			}
			cp, _, err = incremental.ReadCheckpoint(context.Background(), stack.NewStateStore(w.admin.Client, wire.StateIndex), narrow)
			if err != nil || !cp.Checkpoint.IsZero() {
				t.Errorf("checkpoint of %s moved after a failed run: %+v (err %v)", narrow, cp, err)
			}
			srv.stop(t)
		})
	}
}

// filePath writes det's secret (password or API key) to a file in dir.
func filePath(t *testing.T, det clustertest.Target, dir string) string {
	t.Helper()
	secret := det.Config.Password
	if det.Config.APIKey != "" {
		secret = det.Config.APIKey
	}
	p := filepath.Join(dir, "detector.secret")
	if err := os.WriteFile(p, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// serveProcess is a running `edgewatch serve`.
type serveProcess struct {
	cmd    *exec.Cmd
	stderr *testlog.Buffer
	done   chan error
}

func startServe(t *testing.T, cfgFile string) *serveProcess {
	t.Helper()
	cmd := exec.Command(filepath.Join(binaries(t), "edgewatch"), "serve", "--config", cfgFile)
	p := &serveProcess{cmd: cmd, stderr: &testlog.Buffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = p.stderr, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

func (p *serveProcess) log() string { return p.stderr.String() }

func (p *serveProcess) waitHealthy(t *testing.T, client *http.Client, base string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := client.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			return
		}
		select {
		case err := <-p.done:
			t.Fatalf("serve exited: %v\n%s", err, p.log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not answer over HTTPS: %v\n%s", err, p.log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// trigger calls the webhook for detection and waits for the run to end.
func (p *serveProcess) trigger(t *testing.T, client *http.Client, base, token, detection string) serve.RunView {
	t.Helper()
	srv := servetest.Server{Client: client, Base: base, Token: token, Timeout: 3 * time.Minute, Poll: 200 * time.Millisecond, Log: p.log}
	return srv.Run(t, detection, "test")
}

// stop sends SIGTERM and waits for a clean exit.
func (p *serveProcess) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("serve: %v\n%s", err, p.log())
		}
	case <-time.After(60 * time.Second):
		t.Errorf("serve did not stop on SIGTERM\n%s", p.log())
	}
}

// newTestCA makes a throw-away certificate authority.
func newTestCA(t *testing.T) (*x509.Certificate, *ecdsa.PrivateKey, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "edgewatch test CA " + randSuffix()},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key, der
}

// serveCertificate makes a CA and a certificate for 127.0.0.1 signed by it
// for serve's listener; it returns the CA and the certificate and key files.
func serveCertificate(t *testing.T, dir string) (ca *x509.Certificate, certFile, keyFile string) {
	t.Helper()
	ca, caKey, _ := newTestCA(t)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile = writePEMIn(t, dir, "serve.pem", "CERTIFICATE", der)
	keyFile = writePEMIn(t, dir, "serve-key.pem", "PRIVATE KEY", kb)
	return ca, certFile, keyFile
}

func writePEM(t *testing.T, name, typ string, der []byte) string {
	t.Helper()
	return writePEMIn(t, t.TempDir(), name, typ, der)
}

func writePEMIn(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
