package incremental

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/edgewatch/edgewatch/plugin/wire"
)

// RetroID is the state document id of a detection's last retro-hunt record.
func RetroID(detection string) string { return "retro-" + detection }

// RetroRequest is one retro-hunt.
type RetroRequest struct {
	Detection string
	// wire.Config supplies RetroLookback (default 7 days) and RetroMaxWindow
	// (default 24h).
	Config wire.Config
	// Indicators is the number of new indicators the WindowFunc hunts for;
	// zero makes the call a no-op.
	Indicators int
	RunID      string
	Logger     *slog.Logger
	// OnWindow, when set, is told after each window: done of total.
	OnWindow func(done, total int)
}

// RetroHunt re-scans [now − RetroLookback, now) in windows of at most
// RetroMaxWindow, oldest first, with a WindowFunc that the caller has restricted
// to the indicators a feed load just added and that marks its alerts
// edgewatch.retro_hunt: true. It is how a SOC learns that yesterday's
// connection came from today's known-bad address; no anchor does this.
//
// Retro-hunt alerts carry the same finding id as a scheduled run's alert for
// the same event would, so an event that was already alerted (the address
// was on the feed before, dropped off, and came back) is counted as
// "already present" and not written twice; the existing alert keeps
// retro_hunt: false.
//
// It takes no lease and never touches the checkpoint: the re-scan is
// idempotent, and the window after the checkpoint is covered by the next
// scheduled run, which loads the full (new) indicator set. A failed window
// stops the hunt; wire.Outcome.Windows and Remaining say how far it got, and the
// caller can re-run the rest with the same indicators. When store is not
// nil the result is recorded in "retro-<detection>".
func RetroHunt(ctx context.Context, req RetroRequest, run WindowFunc, store StateStore, now func() time.Time) (*wire.Outcome, error) {
	out, log, now, err := begin(req.Detection, req.RunID, wire.ModeRetroHunt, req.Config, req.Logger, now)
	if err != nil {
		return out, err
	}
	out.CaughtUp = true
	cfg := req.Config.WithDefaults()
	if req.Indicators <= 0 {
		out.Status, out.Reason = wire.StatusNoop, "no new indicators"
		finish(out, now)
		return out, nil
	}
	end := out.Started.Truncate(time.Second)
	win := wire.Window{From: end.Add(-cfg.RetroLookback.D()), To: end}
	windows := Split(win.From, win.To, cfg.RetroMaxWindow.D())
	log.Info("retro-hunt started", "indicators", req.Indicators, "window", win.String(), "windows", len(windows))
	if req.OnWindow != nil {
		req.OnWindow(0, len(windows))
	}

	for i, w := range windows {
		if cerr := ctx.Err(); cerr != nil {
			err = fmt.Errorf("stopped before window %s: %w", w, cerr)
			out.Remaining = len(windows) - i
			break
		}
		wo, rerr := runWindow(ctx, run, w, out)
		if rerr != nil {
			out.Windows = append(out.Windows, wo)
			out.Remaining = len(windows) - i - 1
			err = fmt.Errorf("retro-hunt window %s: %w", w, rerr)
			break
		}
		out.Windows = append(out.Windows, wo)
		if req.OnWindow != nil {
			req.OnWindow(i+1, len(windows))
		}
	}
	out.Status = wire.StatusSuccess
	if err != nil {
		out.Status, out.Error, out.CaughtUp = wire.StatusFailed, err.Error(), false
	}
	finish(out, now)
	out.LagSeconds = 0
	if store != nil {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
		if rerr := recordRetro(rctx, store, req, win, record(out), now()); rerr != nil {
			log.Warn("could not record the retro-hunt", "err", rerr)
		}
		cancel()
	}
	log.Info("retro-hunt finished", "status", out.Status, "windows", len(out.Windows), "events", out.EventsScanned,
		"alerts_created", out.AlertsCreated, "already_present", out.AlreadyPresent, "duration_ms", out.DurationMS)
	return out, err
}

func recordRetro(ctx context.Context, store StateStore, req RetroRequest, win wire.Window, rec wire.LastRun, now time.Time) error {
	return putDoc(ctx, store, RetroID(req.Detection), wire.RetroDoc{Type: wire.StateTypeRetroHunt, Detection: req.Detection,
		Updated: now.UTC(), Indicators: req.Indicators, Window: win, LastRun: rec})
}

// ReadRetro returns the detection's last retro-hunt record, if any.
func ReadRetro(ctx context.Context, store StateStore, detection string) (*wire.RetroDoc, error) {
	return readDoc[wire.RetroDoc](ctx, store, RetroID(detection))
}
