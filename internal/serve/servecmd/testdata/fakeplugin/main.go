// Command fakeplugin is a detector plugin for servecmd's tests: its
// detection.run_incremental answers a successful outcome at once, except
// for the detection "crashy", for which the process exits as if killed.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/edgewatch/edgewatch/plugin"
)

type fake struct{}

func (fake) Describe(context.Context) (plugin.Info, error) {
	return plugin.Info{Name: "edgewatch-defender-ti", Version: "test", ProtocolVersion: plugin.ProtocolVersion,
		Operations: []string{"detection.run_incremental"}}, nil
}

func (fake) Validate(_ context.Context, cfg plugin.Config) ([]plugin.Diagnostic, error) {
	var s struct {
		Source string `json:"source"`
	}
	_ = json.Unmarshal(cfg.Settings, &s)
	if s.Source == "bogus" {
		return []plugin.Diagnostic{{Severity: plugin.SeverityError, Summary: "unknown source bogus", Field: "source"}}, nil
	}
	return nil, nil
}

func (fake) Run(context.Context, plugin.RunRequest, plugin.Stream) (plugin.Result, error) {
	return plugin.Result{}, fmt.Errorf("not used")
}

func (fake) Exec(ctx context.Context, op string, args json.RawMessage, secrets map[string]string, s plugin.Stream) (json.RawMessage, error) {
	var a struct {
		Detection string `json:"detection"`
		RunID     string `json:"run_id"`
		Holder    string `json:"holder"`
	}
	if err := json.Unmarshal(args, &a); err != nil {
		return nil, err
	}
	if a.Detection == "crashy" {
		os.Exit(3)
	}
	_ = s.Progress(ctx, plugin.Progress{Stage: "events", Message: "scanning"})
	now := time.Now().UTC()
	return json.Marshal(map[string]any{
		"detection": a.Detection, "run_id": a.RunID, "holder": a.Holder, "mode": "incremental", "status": "success",
		"checkpoint_after": now.Add(-time.Minute), "lag_seconds": 60.0, "events_scanned": 10, "alerts_created": len(secrets),
		"windows": []any{}, "started": now, "finished": now,
	})
}

func main() { plugin.Serve(fake{}) }
