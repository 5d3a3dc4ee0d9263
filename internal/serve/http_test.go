package serve

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestTriggerAuth(t *testing.T) {
	body := `{"from":"2026-03-01T00:00:00Z","to":"2026-03-01T06:00:00Z"}`
	tests := []struct {
		name    string
		method  string
		path    string
		body    string
		headers map[string]string
		code    int
		runs    int // runs started
	}{
		{name: "no credentials", path: "/v1/detections/alpha/run", code: 401},
		{name: "wrong token", path: "/v1/detections/alpha/run", headers: map[string]string{"Authorization": "Bearer wrong-token-0123456789"}, code: 401},
		{name: "token prefix only", path: "/v1/detections/alpha/run", headers: map[string]string{"Authorization": "Bearer " + testToken[:10]}, code: 401},
		{name: "basic instead of bearer", path: "/v1/detections/alpha/run", headers: map[string]string{"Authorization": "Basic " + testToken}, code: 401},
		{name: "right token", path: "/v1/detections/alpha/run", headers: map[string]string{"Authorization": "Bearer " + testToken}, code: 202, runs: 1},
		{name: "bearer is case-insensitive", path: "/v1/detections/alpha/run", headers: map[string]string{"Authorization": "bearer " + testToken}, code: 202, runs: 1},
		{name: "right hmac", path: "/v1/detections/alpha/run", body: body, headers: map[string]string{SignatureHeader: Sign([]byte(testHMAC), []byte(body))}, code: 202, runs: 1},
		{name: "hmac of another body", path: "/v1/detections/alpha/run", body: body, headers: map[string]string{SignatureHeader: Sign([]byte(testHMAC), []byte(`{}`))}, code: 401},
		{name: "hmac with another key", path: "/v1/detections/alpha/run", body: body, headers: map[string]string{SignatureHeader: Sign([]byte("another-key-0123456789"), []byte(body))}, code: 401},
		{name: "hmac not hex", path: "/v1/detections/alpha/run", body: body, headers: map[string]string{SignatureHeader: "sha256=zz"}, code: 401},
		{name: "unknown detection, authorized", path: "/v1/detections/gamma/run", headers: map[string]string{"Authorization": "Bearer " + testToken}, code: 404},
		{name: "unknown detection, unauthorized: 401 first", path: "/v1/detections/gamma/run", code: 401},
		{name: "GET is not allowed", method: "GET", path: "/v1/detections/alpha/run", headers: map[string]string{"Authorization": "Bearer " + testToken}, code: 405},
		{name: "bad window", path: "/v1/detections/alpha/run", body: `{"from":"yesterday"}`, headers: map[string]string{"Authorization": "Bearer " + testToken}, code: 400},
		{name: "reversed window", path: "/v1/detections/alpha/run", body: `{"from":"2026-03-02T00:00:00Z","to":"2026-03-01T00:00:00Z"}`, headers: map[string]string{"Authorization": "Bearer " + testToken}, code: 400},
		{name: "to without from", path: "/v1/detections/alpha/run", body: `{"to":"2026-03-01T00:00:00Z"}`, headers: map[string]string{"Authorization": "Bearer " + testToken}, code: 400},
		{name: "body too large", path: "/v1/detections/alpha/run", body: strings.Repeat("x", maxBody+1), headers: map[string]string{"Authorization": "Bearer " + testToken}, code: 413},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fr := &fakeRunner{}
			s := newTestServer(t, fr)
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			req := httptest.NewRequest(method, tc.path, strings.NewReader(tc.body))
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, req)
			if rec.Code != tc.code {
				t.Fatalf("status %d, want %d (body %s)", rec.Code, tc.code, rec.Body)
			}
			if tc.code == 401 && rec.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if tc.code == 202 {
				var tr TriggerResponse
				if err := json.Unmarshal(rec.Body.Bytes(), &tr); err != nil || tr.RunID == "" || tr.Coalesced {
					t.Fatalf("answer %s (%v)", rec.Body, err)
				}
				if _, err := s.Wait(context.Background(), tr.RunID); err != nil {
					t.Fatal(err)
				}
			} else {
				time.Sleep(20 * time.Millisecond) // a wrongly started run would show up by now
			}
			if got := fr.count(); got != tc.runs {
				t.Fatalf("%d runs started, want %d", got, tc.runs)
			}
			if strings.Contains(rec.Body.String(), testToken) {
				t.Fatal("the answer shows the token")
			}
		})
	}
}

func TestTriggerWindow(t *testing.T) {
	fr := &fakeRunner{}
	s := newTestServer(t, fr)
	body := `{"from":"2026-03-01T00:00:00Z","to":"2026-03-01T06:00:00+02:00"}`
	req := httptest.NewRequest(http.MethodPost, "/v1/detections/beta/run", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testToken)
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	var tr TriggerResponse
	_ = json.Unmarshal(rec.Body.Bytes(), &tr)
	v, err := s.Wait(context.Background(), tr.RunID)
	if err != nil {
		t.Fatal(err)
	}
	got := fr.calls[0]
	if got.Window == nil || got.Window.String() != "2026-03-01T00:00:00Z/2026-03-01T04:00:00Z" || got.Detection.Name != "beta" || got.Holder != "test-holder" || got.Trigger != "webhook" {
		t.Fatalf("run request %+v window %v", got, got.Window)
	}
	if v.Result == nil || v.Result.AlertsCreated != 3 {
		t.Fatalf("run view %+v", v)
	}
	// The run is visible through the API (authenticated).
	req = httptest.NewRequest(http.MethodGet, tr.StatusURL, nil)
	rec = httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != 401 {
		t.Fatalf("unauthenticated run view: %d", rec.Code)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	rec = httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"state": "done"`) {
		t.Fatalf("run view %d %s", rec.Code, rec.Body)
	}
}

// render fills the {{placeholders}} of a bundled trigger definition the way
// the scheduler would (ctx.* values) and edgewatch install would (the rest).
func render(tmpl string, vals map[string]string) string {
	for k, v := range vals {
		tmpl = strings.ReplaceAll(tmpl, "{{"+k+"}}", v)
	}
	return tmpl
}

// TestWatcherAndAlertingRequests sends what Elastic Watcher's webhook
// action and OpenSearch Alerting's Notifications webhook channel send, as
// defined by the bundled trigger definitions in dashboards/triggers.
func TestWatcherAndAlertingRequests(t *testing.T) {
	triggers := filepath.Join("..", "..", "dashboards", "triggers")
	read := func(name string) map[string]any {
		b, err := os.ReadFile(filepath.Join(triggers, name))
		if err != nil {
			t.Fatalf("bundled trigger definition: %v", err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return m
	}
	install := map[string]string{"name": "alpha", "token": testToken, "edgewatch_path": "", "interval": "5m"}

	// Watcher: POST <path> with the action's headers and its rendered body.
	watch := read("watcher.json")
	hook := watch["actions"].(map[string]any)["edgewatch_run"].(map[string]any)["webhook"].(map[string]any)
	watcherReq := func() *http.Request {
		path := render(hook["path"].(string), install)
		body := render(hook["body"].(string), map[string]string{"ctx.watch_id": "edgewatch-alpha", "ctx.trigger.scheduled_time": "2026-03-02T12:00:00.000Z"})
		req := httptest.NewRequest(strings.ToUpper(hook["method"].(string)), path, strings.NewReader(body))
		for k, v := range hook["headers"].(map[string]any) {
			req.Header.Set(k, render(v.(string), install))
		}
		return req
	}

	// Alerting: the channel's method, URL and header_params; the body is
	// the action's rendered message (text that may or may not be JSON).
	channel := read("alerting-channel.json")["config"].(map[string]any)["webhook"].(map[string]any)
	monitor := read("alerting-monitor.json")
	action := monitor["triggers"].([]any)[0].(map[string]any)["actions"].([]any)[0].(map[string]any)
	message := action["message_template"].(map[string]any)["source"].(string)
	alertingReq := func(body string) *http.Request {
		u := render(channel["url"].(string), map[string]string{"edgewatch_url": "http://127.0.0.1:8080", "name": "alpha"})
		req := httptest.NewRequest(channel["method"].(string), u, strings.NewReader(body))
		for k, v := range channel["header_params"].(map[string]any) {
			req.Header.Set(k, render(v.(string), install))
		}
		return req
	}
	alertingBody := render(message, map[string]string{"ctx.monitor._id": "m-1", "ctx.monitor.name": "edgewatch alpha",
		"ctx.periodStart": "2026-03-02T11:55:00Z", "ctx.periodEnd": "2026-03-02T12:00:00Z"})

	tests := []struct {
		name string
		req  *http.Request
	}{
		{"watcher webhook action", watcherReq()},
		{"alerting notification channel (bundled JSON message)", alertingReq(alertingBody)},
		{"alerting notification channel (plain-text message)", alertingReq("Monitor edgewatch alpha just entered alert status.")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fr := &fakeRunner{}
			s := newTestServer(t, fr)
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, tc.req)
			if rec.Code != http.StatusAccepted {
				t.Fatalf("status %d %s", rec.Code, rec.Body)
			}
			var tr TriggerResponse
			_ = json.Unmarshal(rec.Body.Bytes(), &tr)
			if _, err := s.Wait(context.Background(), tr.RunID); err != nil {
				t.Fatal(err)
			}
			if fr.count() != 1 || fr.calls[0].Window != nil {
				t.Fatalf("runs %+v: want one incremental run (no window)", fr.calls)
			}
		})
	}
}

func TestCoalescing(t *testing.T) {
	fr := &fakeRunner{block: make(chan struct{}), started: make(chan RunRequest, 4)}
	s := newTestServer(t, fr)
	h := s.Handler()
	post := func(det, body string) TriggerResponse {
		req := httptest.NewRequest(http.MethodPost, "/v1/detections/"+det+"/run", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testToken)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 202 {
			t.Fatalf("status %d", rec.Code)
		}
		var tr TriggerResponse
		_ = json.Unmarshal(rec.Body.Bytes(), &tr)
		return tr
	}
	// Concurrent triggers while the first run is in progress: one run.
	var wg sync.WaitGroup
	answers := make([]TriggerResponse, 6)
	for i := range answers {
		wg.Add(1)
		go func() { defer wg.Done(); answers[i] = post("alpha", "") }()
	}
	wg.Wait()
	<-fr.started
	coalesced := 0
	for _, a := range answers {
		if a.RunID != answers[0].RunID {
			t.Fatalf("run ids differ: %+v", answers)
		}
		if a.Coalesced {
			coalesced++
		}
	}
	if coalesced != len(answers)-1 {
		t.Fatalf("%d coalesced answers, want %d", coalesced, len(answers)-1)
	}
	// Another detection is not coalesced with alpha; a backfill window of
	// alpha is a separate run that starts beside the incremental one (its
	// own worker, its own lease plugin-side), and the same window posted
	// twice is one backfill.
	other := post("beta", "")
	window := `{"from":"2026-03-01T00:00:00Z","to":"2026-03-01T01:00:00Z"}`
	backfill, dup := post("alpha", window), post("alpha", window)
	if other.RunID == answers[0].RunID || other.Coalesced || backfill.RunID == answers[0].RunID || backfill.Coalesced || !backfill.Backfill {
		t.Fatalf("other %+v backfill %+v", other, backfill)
	}
	if dup.RunID != backfill.RunID || !dup.Coalesced {
		t.Fatalf("the same window again: %+v, want it joined to %s", dup, backfill.RunID)
	}
	started := map[string]bool{}
	for range 2 { // beta's run and alpha's backfill, while alpha's run is still blocked
		r := <-fr.started
		started[r.Detection.Name+" "+windowAttr(r.Window)] = true
	}
	if !started["beta from checkpoint"] || !started["alpha 2026-03-01T00:00:00Z/2026-03-01T01:00:00Z"] {
		t.Fatalf("started beside alpha's run: %v", started)
	}
	close(fr.block)
	for _, id := range []string{answers[0].RunID, other.RunID, backfill.RunID} {
		if _, err := s.Wait(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
	if got := fr.count(); got != 3 {
		t.Fatalf("%d runs, want 3", got)
	}
	// After the run finished, a new trigger is a new run.
	fr.mu.Lock()
	fr.block, fr.started = nil, nil
	fr.mu.Unlock()
	again := post("alpha", "")
	if again.RunID == answers[0].RunID || again.Coalesced {
		t.Fatalf("after completion: %+v", again)
	}
	_, _ = s.Wait(context.Background(), again.RunID)
}

func TestHealthAndMetrics(t *testing.T) {
	fr := &fakeRunner{}
	s := newTestServer(t, fr)
	id, _, err := s.Trigger("alpha", nil, "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Wait(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	// A failing run of beta.
	fr.mu.Lock()
	fr.result, fr.err = RunResult{Detection: "beta", Status: "failed", Error: "window 1: cluster unavailable"}, io.ErrUnexpectedEOF
	fr.mu.Unlock()
	id2, _, _ := s.Trigger("beta", nil, "test")
	if _, err := s.Wait(context.Background(), id2); err != nil {
		t.Fatal(err)
	}

	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var h Health
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || h.Status != "degraded" {
		t.Fatalf("healthz %d %+v", resp.StatusCode, h)
	}
	a, b := h.Detections["alpha"], h.Detections["beta"]
	if a.LastOutcome != "success" || a.LastRunID != id || a.AlertsLast != 3 || a.LagSeconds == nil || *a.LagSeconds != 61 {
		t.Fatalf("alpha %+v", a)
	}
	if b.LastOutcome != "failed" || !strings.Contains(b.LastError, "unexpected EOF") {
		t.Fatalf("beta %+v", b)
	}

	// One unauthorized webhook call, counted.
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/detections/alpha/run", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}

	resp, err = http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(b2)
	for _, want := range []string{
		`edgewatch_runs_total{detection="alpha",outcome="success"} 1`,
		`edgewatch_runs_total{detection="beta",outcome="failed"} 1`,
		`edgewatch_run_duration_seconds_bucket{detection="alpha",le=`,
		`edgewatch_run_duration_seconds_count{detection="alpha"} 1`,
		`edgewatch_events_scanned_total{detection="alpha"} 42`,
		`edgewatch_alerts_written_total{detection="alpha"} 3`,
		`edgewatch_lag_seconds{detection="alpha"} 61`,
		`edgewatch_errors_total{kind="run"} 1`,
		`edgewatch_errors_total{kind="webhook_auth"} 1`,
		`edgewatch_errors_total{kind="plugin_crash"} 0`,
		`edgewatch_webhook_requests_total{code="401"} 1`,
		"# TYPE edgewatch_run_duration_seconds histogram",
		"go_goroutines",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestMetricsOff(t *testing.T) {
	cfg, err := ParseConfig([]byte("metrics: false\ndetections: [{name: a, manual: true}]"), testEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := New(cfg, Options{Runner: &fakeRunner{}})
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != 404 {
		t.Fatalf("metrics off: %d", rec.Code)
	}
	// No webhook secrets configured: every trigger is refused.
	rec = httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/detections/a/run", nil))
	if rec.Code != 401 {
		t.Fatalf("webhook without secrets: %d", rec.Code)
	}
}

// TestLagGrowsWithoutRuns: the lag is computed when scraped, so it keeps
// growing while no run succeeds (an alert rule on it fires even when runs
// hang).
func TestLagGrowsWithoutRuns(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 3, 2, 12, 1, 0, 0, time.UTC)
	cfg, _ := ParseConfig([]byte("detections: [{name: alpha, manual: true}]"), testEnv(nil))
	s, _ := New(cfg, Options{Runner: &fakeRunner{}, Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
	s.Start()
	defer func() { _ = s.Shutdown(context.Background()) }()
	id, _, _ := s.Trigger("alpha", nil, "test")
	if _, err := s.Wait(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	scrape := func() string {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		return rec.Body.String()
	}
	if !strings.Contains(scrape(), `edgewatch_lag_seconds{detection="alpha"} 60`) {
		t.Fatal("lag after the run is not 60s")
	}
	mu.Lock()
	now = now.Add(30 * time.Minute)
	mu.Unlock()
	if !strings.Contains(scrape(), `edgewatch_lag_seconds{detection="alpha"} 1860`) {
		t.Fatal("lag did not grow with the clock")
	}
}
