package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/connectors/cluster/clustertest"
	"github.com/edgewatch/edgewatch/internal/testlog"
	"github.com/edgewatch/edgewatch/plugin"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// TestPluginLogLevelsReachTheHost: a warning the plugin logs arrives in the
// host's slog log as a WARN record with its attributes, through the real
// plugin process and go-plugin's stderr parsing (issue 12, item 7: it
// arrived as INFO with "WARN …" inside the message). The warning is a
// window that fails on the real OpenSearch because its indices are missing.
func TestPluginLogLevelsReachTheHost(t *testing.T) {
	tg := clustertest.Connect(t, cluster.OpenSearch)
	missing := clustertest.Name(t, tg, "ew-logs-missing")
	det := "logs-" + randSuffix()
	t.Cleanup(func() {
		for _, id := range []string{"lease-" + det, "checkpoint-" + det} {
			_ = tg.Client.Call(context.Background(), "cleanup", cluster.Request{Method: http.MethodDelete, Path: cluster.DocPath(wire.StateIndex, "_doc", id)}, nil)
		}
	})

	logs := &testlog.Buffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := plugin.Launch(ctx, filepath.Join(binaries(t), "edgewatch-defender-ti"), plugin.Options{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	feed, _ := filepath.Abs(filepath.Join(sampleDir, "feed.txt"))
	out, err := plugin.Call(ctx, c, wire.OpRunIncremental, wire.RunIncrementalArgs{
		Detection: det, RunID: "log-test", Holder: "log-test-holder", Trigger: "test",
		Settings: wire.Settings{Source: wire.SourceOpenSearch, Feeds: []string{feed}, Cluster: &wire.ClusterSettings{
			URLs: tg.Config.URLs, DeviceInfoIndex: missing, NetworkEventsIndex: missing, AlertIndex: missing + "-alerts"}},
		Incremental: wire.Config{InitialLookback: wire.Duration(time.Hour)},
	}, nil, nil)
	c.Close() // flushes the plugin's stderr into the log
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != wire.StatusFailed {
		t.Fatalf("outcome %+v: want a failed window", out)
	}

	var warn, finished map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("host log line is not JSON: %q", line)
		}
		msg, _ := rec["msg"].(string)
		for _, lv := range []string{"DEBUG ", "INFO ", "WARN ", "ERROR "} {
			if strings.HasPrefix(msg, lv) {
				t.Errorf("plugin level inside the message: %s", line)
			}
		}
		switch msg {
		case "window failed; checkpoint not advanced":
			warn = rec
		case "incremental run finished":
			finished = rec
		}
	}
	if warn == nil || finished == nil {
		t.Fatalf("host log lacks the plugin's records:\n%s", logs.String())
	}
	if warn["level"] != "WARN" || warn["plugin"] != "edgewatch-defender-ti" || warn["detection"] != det || warn["window"] == nil ||
		!strings.Contains(warn["err"].(string), missing) {
		t.Errorf("window-failed record %v: want WARN from the plugin with detection, window and err", warn)
	}
	if finished["level"] != "INFO" || finished["status"] != "failed" || finished["windows"] != float64(1) {
		t.Errorf("run-finished record %v: want INFO with status and windows as attributes", finished)
	}
}
