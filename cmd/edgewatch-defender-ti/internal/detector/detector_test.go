package detector

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/engine"
	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/plugin"
	"github.com/edgewatch/edgewatch/plugin/wire"
	"github.com/google/go-cmp/cmp"
)

type recorder struct {
	progress []plugin.Progress
	alerts   []plugin.Alert
	fail     error
}

func (r *recorder) Progress(_ context.Context, p plugin.Progress) error {
	r.progress = append(r.progress, p)
	return nil
}

func (r *recorder) Alerts(_ context.Context, b plugin.AlertBatch) error {
	if r.fail != nil {
		return r.fail
	}
	r.alerts = append(r.alerts, b.Alerts()...)
	return nil
}

// batchOf is alerts as the engine hands them on.
func batchOf(alerts ...*correlation.Alert) engine.Batch {
	b := engine.Batch{Alerts: alerts}
	for _, a := range alerts {
		b.NDJSON = append(a.AppendJSON(b.NDJSON), '\n')
	}
	return b
}

func sampleAlert(id string) *correlation.Alert {
	a := &correlation.Alert{Timestamp: time.Date(2026, 1, 2, 8, 0, 0, 0, time.UTC)}
	a.Event.ID = id
	a.Host.Name = "web01"
	a.Source = correlation.Endpoint{IP: "45.155.205.233", Port: 51515}
	a.Dest = correlation.Endpoint{IP: "10.0.0.5", Port: 443}
	a.Process = &correlation.AlertProcess{Name: "nginx"}
	a.Edgewatch.Indicator.Count = 9
	a.Edgewatch.Severity = "critical"
	a.Threat.Feed.Name, a.Threat.Indicator.Provider = "ipsum", "IPsum"
	return a
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	ops := &plugin.Mux{}
	plugin.Handle(ops, wire.OpStatus, func(context.Context, wire.StatusArgs, map[string]string, plugin.Stream) (wire.StatusResult, error) {
		return wire.StatusResult{}, nil
	})
	info, err := New(WithOps(ops)).Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != Name || info.ProtocolVersion != plugin.ProtocolVersion || info.Version == "" {
		t.Errorf("info %+v", info)
	}
	if diff := cmp.Diff([]string{"status"}, info.Operations); diff != "" {
		t.Error(diff)
	}
	var schema struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(info.SettingsSchema, &schema); err != nil {
		t.Fatal(err)
	}
	// Every settings key is in the schema.
	var keys map[string]any
	full, _ := json.Marshal(wire.Settings{Source: "x", Cluster: &wire.ClusterSettings{}})
	_ = json.Unmarshal(full, &keys)
	for _, k := range []string{"source", "device_info", "network_events", "feeds", "min_level", "from", "to",
		"facing_lookback", "exclude_ports", "allow", "cluster"} {
		if _, ok := schema.Properties[k]; !ok {
			t.Errorf("schema lacks %q", k)
		}
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	fileOK := `{"source":"file","device_info":["d"],"network_events":["e"],"feeds":["f"]}`
	tests := map[string]struct {
		settings string
		secrets  map[string]string
		want     []string // "severity field" of each diagnostic
	}{
		"file ok":          {settings: fileOK},
		"empty is file":    {settings: ``, want: []string{"error network_events", "error device_info", "error feeds"}},
		"unknown key":      {settings: `{"sourse":"file"}`, want: []string{"error "}},
		"unknown source":   {settings: `{"source":"splunk"}`, want: []string{"error source"}},
		"cluster no url":   {settings: `{"source":"opensearch","feeds":["f"]}`, want: []string{"error cluster.urls"}},
		"cluster no feed":  {settings: `{"source":"elasticsearch","cluster":{"urls":["https://127.0.0.1:9200"]}}`, want: []string{"error feeds"}},
		"cluster lookup":   {settings: `{"source":"opensearch","cluster":{"urls":["u"],"indicator_feed":"ipsum"}}`},
		"user no password": {settings: `{"source":"opensearch","cluster":{"urls":["u"],"username":"admin","indicator_feed":"ipsum"}}`, want: []string{"warning cluster.username"}},
		"user and password": {settings: `{"source":"opensearch","cluster":{"urls":["u"],"username":"admin","indicator_feed":"ipsum"}}`,
			secrets: map[string]string{"password": "pw"}},
		"negative level": {settings: `{"source":"file","device_info":["d"],"network_events":["e"],"feeds":["f"],"min_level":-1}`, want: []string{"error min_level"}},
		"bad port":       {settings: `{"source":"file","device_info":["d"],"network_events":["e"],"feeds":["f"],"exclude_ports":[25,70000]}`, want: []string{"error exclude_ports"}},
		"bad allow":      {settings: `{"source":"file","device_info":["d"],"network_events":["e"],"feeds":["f"],"allow":["10.0.0.0/8","1.2.3.4","nope"]}`, want: []string{"error allow"}},
		"empty window": {settings: `{"source":"file","device_info":["d"],"network_events":["e"],"feeds":["f"],"from":"2026-01-02T00:00:00Z","to":"2026-01-01T00:00:00Z"}`,
			want: []string{"error from"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			diags, err := New().Validate(context.Background(), plugin.Config{Settings: json.RawMessage(tc.settings), Secrets: tc.secrets})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range diags {
				got = append(got, d.Severity.String()+" "+d.Field)
				if d.Summary == "" {
					t.Errorf("diagnostic without summary: %+v", d)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRunStreamsEngineOutput(t *testing.T) {
	t.Parallel()
	var gotSettings wire.Settings
	var gotSecrets map[string]string
	run := func(ctx context.Context, s wire.Settings, secrets map[string]string, obs engine.Observer) (*wire.Summary, error) {
		gotSettings, gotSecrets = s, secrets
		obs.Progress(wire.Progress{Stage: "events", Done: 5, Total: 10, Unit: "rows", Message: "m"})
		if err := obs.Alerts(ctx, batchOf(sampleAlert("a1"), sampleAlert("a2"))); err != nil {
			return nil, err
		}
		return &wire.Summary{RunID: "r1"}, nil
	}
	rec := &recorder{}
	req := plugin.RunRequest{
		Settings: json.RawMessage(`{"source":"file","feeds":["f"],"facing_lookback":"30d","min_level":3}`),
		Secrets:  map[string]string{"password": "pw"},
	}
	res, err := New(WithRunFunc(run)).Run(context.Background(), req, rec)
	if err != nil {
		t.Fatal(err)
	}
	if gotSettings.MinLevel != 3 || time.Duration(gotSettings.FacingLookback) != 30*24*time.Hour || gotSecrets["password"] != "pw" {
		t.Errorf("engine got settings %+v secrets %v", gotSettings, gotSecrets)
	}
	var sum wire.Summary
	if err := json.Unmarshal(res.Summary, &sum); err != nil || sum.RunID != "r1" {
		t.Errorf("summary %s: %v", res.Summary, err)
	}
	if diff := cmp.Diff([]plugin.Progress{{Stage: "events", Done: 5, Total: 10, Unit: "rows", Message: "m"}}, rec.progress); diff != "" {
		t.Error(diff)
	}
	if len(rec.alerts) != 2 || rec.alerts[0].Row.ID != "a1" || rec.alerts[1].Row.ID != "a2" {
		t.Fatalf("alerts %+v", rec.alerts)
	}
	var doc correlation.Alert
	if err := json.Unmarshal(rec.alerts[1].Document, &doc); err != nil || doc.Event.ID != "a2" {
		t.Errorf("document %s: %v", rec.alerts[1].Document, err)
	}
	if rec.alerts[0].Row.Severity != "critical" {
		t.Errorf("row %+v", rec.alerts[0].Row)
	}
}

func TestRunErrors(t *testing.T) {
	t.Parallel()
	engineErr := errors.New("read DeviceInfo: boom")
	tests := map[string]struct {
		settings string
		run      RunFunc
		stream   error
		want     string
	}{
		"unknown settings key": {settings: `{"feedz":[]}`, want: `settings: json: unknown field "feedz"`},
		"engine error": {settings: `{}`, want: "read DeviceInfo: boom",
			run: func(context.Context, wire.Settings, map[string]string, engine.Observer) (*wire.Summary, error) {
				return &wire.Summary{}, engineErr
			}},
		"no summary": {settings: `{}`, want: "engine returned no summary",
			run: func(context.Context, wire.Settings, map[string]string, engine.Observer) (*wire.Summary, error) {
				return nil, nil
			}},
		"stream error aborts": {settings: `{}`, stream: errors.New("host went away"), want: "host went away",
			run: func(ctx context.Context, _ wire.Settings, _ map[string]string, obs engine.Observer) (*wire.Summary, error) {
				return nil, obs.Alerts(ctx, batchOf(sampleAlert("x")))
			}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			run := tc.run
			if run == nil {
				run = func(context.Context, wire.Settings, map[string]string, engine.Observer) (*wire.Summary, error) {
					t.Error("engine called")
					return nil, nil
				}
			}
			_, err := New(WithRunFunc(run)).Run(context.Background(), plugin.RunRequest{Settings: json.RawMessage(tc.settings)}, &recorder{fail: tc.stream})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestExec: the detector serves the operations it was given, typed.
func TestExec(t *testing.T) {
	t.Parallel()
	ops := &plugin.Mux{}
	plugin.Handle(ops, wire.OpFeedLoad, func(ctx context.Context, a wire.FeedLoadArgs, secrets map[string]string, s plugin.Stream) (wire.FeedLoadResult, error) {
		_ = s.Progress(ctx, wire.Progress{Stage: "feed.load", Done: 1})
		return wire.FeedLoadResult{Feed: a.File + "|" + a.Settings.Source + "|" + secrets["password"]}, nil
	})
	d := New(WithOps(ops))
	rec := &recorder{}
	got, err := d.Exec(context.Background(), "feed.load", json.RawMessage(`{"file":"ipsum.txt","settings":{"source":"opensearch"}}`),
		map[string]string{"password": "pw"}, rec)
	if err != nil {
		t.Fatal(err)
	}
	var res wire.FeedLoadResult
	if err := json.Unmarshal(got, &res); err != nil || res.Feed != "ipsum.txt|opensearch|pw" {
		t.Errorf("result %s: %v", got, err)
	}
	if len(rec.progress) != 1 || rec.progress[0].Stage != "feed.load" {
		t.Errorf("progress %+v", rec.progress)
	}
	_, err = d.Exec(context.Background(), "report", nil, nil, rec)
	if !errors.Is(err, plugin.ErrUnknownOp) || !strings.Contains(err.Error(), `"report"`) || !strings.Contains(err.Error(), "offers: feed.load") {
		t.Errorf("unknown op: %v", err)
	}
}

func TestRowOf(t *testing.T) {
	t.Parallel()
	full := sampleAlert("a")
	noProc := sampleAlert("b")
	noProc.Process = nil
	tests := map[string]struct {
		in   *correlation.Alert
		want plugin.Row
	}{
		"zero": {in: &correlation.Alert{}, want: plugin.Row{}},
		"full": {in: full, want: plugin.Row{Timestamp: full.Timestamp, DeviceName: "web01", ThreatIntelligenceIP: "45.155.205.233",
			LocalPort: 443, InitiatingProcessFileName: "nginx", RemotePort: 51515, IPsumCount: 9, Severity: "critical",
			ID: "a", Feed: "ipsum", Provider: "IPsum"}},
		"no process": {in: noProc, want: plugin.Row{Timestamp: full.Timestamp, DeviceName: "web01", ThreatIntelligenceIP: "45.155.205.233",
			LocalPort: 443, RemotePort: 51515, IPsumCount: 9, Severity: "critical", ID: "b", Feed: "ipsum", Provider: "IPsum"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, RowOf(tc.in)); diff != "" {
				t.Error(diff)
			}
		})
	}
}

// rowlessRecorder is a stream that does not use rows (an NDJSON host).
type rowlessRecorder struct {
	recorder
	batches []plugin.AlertBatch
}

func (r *rowlessRecorder) WantsRows() bool { return false }

func (r *rowlessRecorder) Alerts(_ context.Context, b plugin.AlertBatch) error {
	r.batches = append(r.batches, b)
	return nil
}

// TestRunRowsOnDemand: rows are built for a stream that wants them (or
// does not say), not for one that does not; the count is the engine's.
func TestRunRowsOnDemand(t *testing.T) {
	t.Parallel()
	run := func(ctx context.Context, _ wire.Settings, _ map[string]string, obs engine.Observer) (*wire.Summary, error) {
		return &wire.Summary{RunID: "r1"}, obs.Alerts(ctx, batchOf(sampleAlert("a1"), sampleAlert("a2"), sampleAlert("a3")))
	}
	req := plugin.RunRequest{Settings: json.RawMessage(`{"source":"file","feeds":["f"]}`)}
	rowless := &rowlessRecorder{}
	if _, err := New(WithRunFunc(run)).Run(context.Background(), req, rowless); err != nil {
		t.Fatal(err)
	}
	if len(rowless.batches) != 1 || rowless.batches[0].Rows != nil || rowless.batches[0].Count != 3 || rowless.batches[0].Len() != 3 {
		t.Errorf("batches %+v, want one of 3 documents without rows", rowless.batches)
	}
	plain := &recorder{}
	if _, err := New(WithRunFunc(run)).Run(context.Background(), req, plain); err != nil {
		t.Fatal(err)
	}
	if len(plain.alerts) != 3 || plain.alerts[2].Row.ID != "a3" {
		t.Errorf("alerts %+v, want 3 with rows", plain.alerts)
	}
}
