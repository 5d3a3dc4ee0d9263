package serve

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/edgewatch/edgewatch/plugin/wire"
)

// StatusResult is the answer of the plugin's detection.status operation.
type StatusResult struct {
	Now        time.Time              `json:"now"`
	Detections []wire.DetectionStatus `json:"detections"`
}

// RenderStatus prints a detection.status answer as a table: per detection
// its checkpoint, lag, last run (when, outcome, duration, alerts written),
// the live lease and the last retro-hunt. `edgewatch status` uses it as the
// operation's renderer.
func RenderStatus(w io.Writer, raw json.RawMessage) error {
	var st wire.DetectionStatusResult
	if err := json.Unmarshal(raw, &st); err != nil {
		return fmt.Errorf("status: bad answer: %w", err)
	}
	if len(st.Detections) == 0 {
		_, err := fmt.Fprintln(w, "no detection has run incrementally yet (no checkpoint in the state index)")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DETECTION\tCHECKPOINT\tLAG\tLAST RUN\tOUTCOME\tDURATION\tALERTS\tLEASE")
	var notes []string
	for _, d := range st.Detections {
		cp, lag := "never", "-"
		if !d.Checkpoint.IsZero() {
			cp = d.Checkpoint.UTC().Format(time.RFC3339)
			lag = (time.Duration(d.LagSeconds) * time.Second).String()
		}
		last, outcome, dur, alerts := "-", "-", "-", "-"
		if r := d.LastRun; r != nil {
			last = r.Finished.UTC().Format(time.RFC3339)
			outcome = r.Outcome
			if r.Mode != "" && r.Mode != wire.ModeIncremental {
				outcome += " (" + r.Mode + ")"
			}
			dur = (time.Duration(r.DurationMS) * time.Millisecond).String()
			alerts = fmt.Sprintf("%d new, %d present", r.AlertsCreated, r.AlreadyPresent)
			if r.Error != "" {
				notes = append(notes, fmt.Sprintf("%s: last run failed: %s", d.Detection, r.Error))
			}
		}
		lease := "-"
		if d.Lease != nil {
			lease = d.Lease.Holder + " until " + d.Lease.Expires.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Detection, cp, lag, last, outcome, dur, alerts, lease)
		if bf := d.Backfill; bf != nil {
			switch {
			case bf.State == wire.BackfillRunning:
				notes = append(notes, fmt.Sprintf("%s: backfill %s running: %d of %d windows (holder %s, updated %s)",
					d.Detection, bf.Window, bf.Done, bf.Total, bf.Holder, bf.Updated.UTC().Format(time.RFC3339)))
			case bf.LastRun != nil:
				notes = append(notes, fmt.Sprintf("%s: last backfill %s finished %s: %s, %d of %d windows, %d alerts",
					d.Detection, bf.Window, bf.LastRun.Finished.UTC().Format(time.RFC3339), bf.LastRun.Outcome, bf.Done, bf.Total, bf.LastRun.AlertsCreated))
			}
		}
		if rh := d.Retro; rh != nil {
			notes = append(notes, fmt.Sprintf("%s: last retro-hunt %s over %s with %d new indicators: %s, %d alerts",
				d.Detection, rh.LastRun.Finished.UTC().Format(time.RFC3339), rh.Window, rh.Indicators, rh.LastRun.Outcome, rh.LastRun.AlertsCreated))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range notes {
		if _, err := fmt.Fprintln(w, n); err != nil {
			return err
		}
	}
	return nil
}
