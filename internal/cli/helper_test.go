package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/plugin"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// The test binary doubles as a detector plugin when envMode is set (the
// helper-process pattern); the host under test finds it through a symlink
// named edgewatch-defender-ti in a temporary --plugin-dir.
const (
	envMode   = "EDGEWATCH_CLI_TEST_PLUGIN" // ok | block | noadmin
	envDump   = "EDGEWATCH_CLI_TEST_DUMP"   // file the fake writes the request it got to
	envPid    = "EDGEWATCH_CLI_TEST_PID"    // file the fake writes its pid to once streaming
	envMarker = "EDGEWATCH_CLI_TEST_MARKER" // file the fake writes when it sees cancellation
)

func TestMain(m *testing.M) {
	switch mode := os.Getenv(envMode); mode {
	case "":
		// Only the test's own plugin directories: a plugin installed on the
		// machine by a package must not answer for a missing one.
		plugin.SystemDir = ""
		os.Exit(m.Run())
	case "noadmin":
		plugin.Serve(&fakePlugin{})
	default:
		plugin.Serve(&fakeAdmin{fakePlugin{block: mode == "block"}})
	}
	os.Exit(0)
}

type fakePlugin struct{ block bool }

func (f *fakePlugin) Describe(context.Context) (plugin.Info, error) {
	return plugin.Info{Name: "edgewatch-defender-ti", Version: "v9.9.9-fake", ProtocolVersion: plugin.ProtocolVersion,
		Operations: []string{"feed.load", "report"}}, nil
}

func (f *fakePlugin) Validate(_ context.Context, cfg plugin.Config) ([]plugin.Diagnostic, error) {
	var s wire.Settings
	_ = json.Unmarshal(cfg.Settings, &s)
	var d []plugin.Diagnostic
	if s.FeedName == "invalid" {
		d = append(d, plugin.Diagnostic{Severity: plugin.SeverityError, Field: "feed_name", Summary: "bad feed name", Detail: "invalid"})
	}
	if s.RuleName == "two-errors" {
		d = append(d, plugin.Diagnostic{Severity: plugin.SeverityError, Field: "rule_name", Summary: "first"},
			plugin.Diagnostic{Severity: plugin.SeverityError, Field: "rule_id", Summary: "second"})
	}
	return d, nil
}

func dump(v any) {
	if p := os.Getenv(envDump); p != "" {
		b, _ := json.Marshal(v)
		_ = os.WriteFile(p, b, 0o600)
	}
}

func fakeAlerts(n int) []plugin.Alert {
	out := make([]plugin.Alert, n)
	for i := range out {
		id := fmt.Sprintf("id-%d", i)
		out[i] = plugin.Alert{Document: json.RawMessage(fmt.Sprintf(`{"event":{"id":%q}}`, id)),
			Row: plugin.Row{Timestamp: time.Date(2026, 1, 2, 8, 0, i, 0, time.UTC), DeviceName: "web01.contoso.com",
				ThreatIntelligenceIP: "45.155.205.233", LocalPort: 443, InitiatingProcessFileName: "nginx",
				RemotePort: 51515 + i, IPsumCount: 9, Severity: "critical", ID: id}}
	}
	return out
}

const fakeSummary = `{"run_id":"fake-run","source":"file","indicators":{"loaded":3,"dropped":{"private":1},"invalid":1,
"feeds":[{"source":"ipsum.txt","invalid":1,"invalid_lines":[7]}]},"device_info":{"read":5,"skipped":{"bad JSON":1},
"examples":{"bad JSON":[{"source":"DeviceInfo.ndjson","line":5}]},"facing_ports":2,"devices":1},
"events":{"read":8,"candidates":3,"skipped":{"bad RemoteIP":1},"examples":{"bad RemoteIP":[{"source":"ev.ndjson","line":6}]},
"other_tables":{"DeviceProcessEvents":2,"DeviceInfo":3},"missing_columns":{"old.csv":["RemoteIP","LocalPort"]}},
"alerts":{"matched":2}}`

func (f *fakePlugin) Run(ctx context.Context, req plugin.RunRequest, s plugin.Stream) (plugin.Result, error) {
	dump(map[string]any{"settings": req.Settings, "secrets": req.Secrets})
	if err := s.Progress(ctx, plugin.Progress{Stage: "events", Done: 1, Total: 2, Unit: "rows"}); err != nil {
		return plugin.Result{}, err
	}
	if err := s.Alerts(ctx, plugin.NewAlertBatch(fakeAlerts(2))); err != nil {
		return plugin.Result{}, err
	}
	if f.block {
		if p := os.Getenv(envPid); p != "" {
			_ = os.WriteFile(p, []byte(strconv.Itoa(os.Getpid())), 0o600)
		}
		<-ctx.Done()
		if p := os.Getenv(envMarker); p != "" {
			_ = os.WriteFile(p, []byte("cancelled"), 0o600)
		}
		return plugin.Result{}, ctx.Err()
	}
	return plugin.Result{Summary: json.RawMessage(fakeSummary)}, nil
}

type fakeAdmin struct{ fakePlugin }

// fakeOps are the fake's operations, typed as the real plugin's.
var fakeOps = func() *plugin.Mux {
	m := &plugin.Mux{}
	plugin.Handle(m, wire.OpFeedLoad, func(ctx context.Context, a wire.FeedLoadArgs, _ map[string]string, s plugin.Stream) (wire.FeedLoadResult, error) {
		content := a.Content
		if content == nil {
			b, err := os.ReadFile(a.File)
			if err != nil {
				return wire.FeedLoadResult{}, err
			}
			content = b
		}
		_ = s.Progress(ctx, plugin.Progress{Stage: "feed.load", Done: 1})
		return wire.FeedLoadResult{Feed: a.Name, Loaded: strings.Count(string(content), "\n")}, nil
	})
	plugin.Handle(m, wire.OpReport, func(ctx context.Context, a wire.ReportArgs, _ map[string]string, s plugin.Stream) (wire.ReportData, error) {
		docs := []plugin.Alert{
			{Document: json.RawMessage(`{"@timestamp":"2026-01-02T08:00:00Z","event":{"id":"a1","severity":99},"source":{"ip":"45.155.205.233"},"host":{"name":"web01"},"destination":{"port":443},"edgewatch":{"severity":"critical"}}`)},
			{Document: json.RawMessage(`{"not":"an alert"}`)},
		}
		if err := s.Alerts(ctx, plugin.NewAlertBatch(docs)); err != nil {
			return wire.ReportData{}, err
		}
		return wire.ReportData{Source: "fake index " + a.Settings.AlertIndexOf(), TotalAlerts: 3,
			Feed: &wire.FeedPanel{Feed: "ipsum", Total: 42, PerLevel: map[int]int64{3: 42}},
			Runs: []wire.RunRecord{{Type: wire.StateTypeRun, Detection: "d", RunID: "r1", Outcome: wire.StatusSuccess}}}, nil
	})
	return m
}()

func (f *fakeAdmin) Exec(ctx context.Context, op string, args json.RawMessage, secrets map[string]string, s plugin.Stream) (json.RawMessage, error) {
	dump(map[string]any{"op": op, "args": args, "secrets": secrets})
	return fakeOps.Exec(ctx, op, args, secrets, s)
}
