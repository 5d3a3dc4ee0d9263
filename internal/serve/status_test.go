package serve

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/plugin/wire"
)

func TestRenderStatus(t *testing.T) {
	now := time.Date(2026, 3, 2, 12, 6, 0, 0, time.UTC)
	st := wire.DetectionStatusResult{Now: now, Detections: []wire.DetectionStatus{
		{Detection: "defender-ti", Checkpoint: now.Add(-time.Minute), LagSeconds: 60,
			LastRun: &wire.LastRun{Mode: "incremental", Outcome: "success", Finished: now.Add(-50 * time.Second), DurationMS: 1234, AlertsCreated: 3, AlreadyPresent: 1},
			Retro:   &wire.RetroDoc{Indicators: 12, Window: wire.Window{From: now.Add(-7 * 24 * time.Hour), To: now}, LastRun: wire.LastRun{Outcome: "success", AlertsCreated: 1, Finished: now}}},
		{Detection: "other", Never: true},
		{Detection: "broken", Checkpoint: now.Add(-3 * time.Hour), LagSeconds: 10800,
			LastRun: &wire.LastRun{Outcome: "failed", Error: "window 2026-03-02T09:00:00Z/…: cluster unavailable"},
			Lease:   &wire.LeaseDoc{Holder: "host-b/42/ab", Expires: now.Add(time.Minute)},
			Backfill: &wire.BackfillDoc{State: wire.BackfillRunning, Window: wire.Window{From: now.Add(-72 * time.Hour), To: now.Add(-48 * time.Hour)},
				Done: 5, Total: 24, Holder: "host-a/7/cd", Updated: now}},
		{Detection: "filled", Checkpoint: now.Add(-time.Minute), LagSeconds: 60,
			Backfill: &wire.BackfillDoc{State: wire.BackfillDone, Window: wire.Window{From: now.Add(-48 * time.Hour), To: now.Add(-24 * time.Hour)},
				Done: 24, Total: 24, LastRun: &wire.LastRun{Outcome: "success", Finished: now, AlertsCreated: 2}}},
	}}
	raw, _ := json.Marshal(st)
	var b bytes.Buffer
	if err := RenderStatus(&b, raw); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"DETECTION", "defender-ti", "2026-03-02T12:05:00Z", "1m0s", "success", "1.234s", "3 new, 1 present",
		"other", "never", "broken", "3h0m0s", "failed", "host-b/42/ab until 2026-03-02T12:07:00Z",
		"broken: last run failed: window", "defender-ti: last retro-hunt", "12 new indicators",
		"broken: backfill 2026-02-27T12:06:00Z/2026-02-28T12:06:00Z running: 5 of 24 windows (holder host-a/7/cd",
		"filled: last backfill 2026-02-28T12:06:00Z/2026-03-01T12:06:00Z finished 2026-03-02T12:06:00Z: success, 24 of 24 windows, 2 alerts",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status table lacks %q:\n%s", want, out)
		}
	}
	b.Reset()
	_ = RenderStatus(&b, json.RawMessage(`{"detections":[]}`))
	if !strings.Contains(b.String(), "no detection") {
		t.Errorf("empty status: %q", b.String())
	}
	if err := RenderStatus(&b, json.RawMessage(`[`)); err == nil {
		t.Error("bad JSON accepted")
	}
}
