package incremental

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// RetroID is the state document id of a detection's last retro-hunt record.
func RetroID(detection string) string { return "retro-" + detection }

// RetroDoc records a detection's last retro-hunt.
type RetroDoc struct {
	Type       string    `json:"type"` // "retro_hunt"
	Detection  string    `json:"detection"`
	Updated    time.Time `json:"updated_at"`
	Indicators int       `json:"indicators"` // how many new indicators were hunted
	Window     Window    `json:"window"`
	LastRun    RunRecord `json:"last_run"`
}

// RetroRequest is one retro-hunt.
type RetroRequest struct {
	Detection string
	// Config supplies RetroLookback (default 7 days) and RetroMaxWindow
	// (default 24h).
	Config Config
	// Indicators is the number of new indicators the WindowFunc hunts for;
	// zero makes the call a no-op.
	Indicators int
	RunID      string
	Logger     *slog.Logger
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
// stops the hunt; Outcome.Windows and Remaining say how far it got, and the
// caller can re-run the rest with the same indicators. When store is not
// nil the result is recorded in "retro-<detection>".
func RetroHunt(ctx context.Context, req RetroRequest, run WindowFunc, store StateStore, now func() time.Time) (*Outcome, error) {
	if now == nil {
		now = time.Now
	}
	log := req.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("detection", req.Detection)
	out := &Outcome{Detection: req.Detection, RunID: req.RunID, Mode: ModeRetroHunt, Started: now().UTC(), Windows: []WindowOutcome{}, CaughtUp: true}
	if err := ValidateName(req.Detection); err != nil {
		out.Status, out.Error = StatusFailed, err.Error()
		out.finish(now)
		return out, err
	}
	if err := req.Config.Validate(); err != nil {
		out.Status, out.Error = StatusFailed, err.Error()
		out.finish(now)
		return out, err
	}
	cfg := req.Config.WithDefaults()
	if req.Indicators <= 0 {
		out.Status, out.Reason = StatusNoop, "no new indicators"
		out.finish(now)
		return out, nil
	}
	end := out.Started.Truncate(time.Second)
	win := Window{From: end.Add(-cfg.RetroLookback.D()), To: end}
	windows := Split(win.From, win.To, cfg.RetroMaxWindow.D())
	log.Info("retro-hunt started", "indicators", req.Indicators, "window", win.String(), "windows", len(windows))

	var err error
	for i, w := range windows {
		if cerr := ctx.Err(); cerr != nil {
			err = fmt.Errorf("stopped before window %s: %w", w, cerr)
			out.Remaining = len(windows) - i
			break
		}
		t0 := time.Now()
		stats, rerr := run(ctx, w)
		wo := WindowOutcome{Window: w, WindowStats: stats, Status: StatusSuccess, DurationMS: time.Since(t0).Milliseconds()}
		out.EventsScanned += stats.EventsScanned
		out.AlertsCreated += stats.AlertsCreated
		out.AlreadyPresent += stats.AlreadyPresent
		if rerr != nil {
			wo.Status, wo.Error = StatusFailed, rerr.Error()
			out.Windows = append(out.Windows, wo)
			out.Remaining = len(windows) - i - 1
			err = fmt.Errorf("retro-hunt window %s: %w", w, rerr)
			break
		}
		out.Windows = append(out.Windows, wo)
	}
	out.Status = StatusSuccess
	if err != nil {
		out.Status, out.Error, out.CaughtUp = StatusFailed, err.Error(), false
	}
	out.finish(now)
	out.LagSeconds = 0
	if store != nil {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
		if rerr := recordRetro(rctx, store, req, win, out.record(), now()); rerr != nil {
			log.Warn("could not record the retro-hunt", "err", rerr)
		}
		cancel()
	}
	log.Info("retro-hunt finished", "status", out.Status, "windows", len(out.Windows), "events", out.EventsScanned,
		"alerts_created", out.AlertsCreated, "already_present", out.AlreadyPresent, "duration_ms", out.DurationMS)
	return out, err
}

func recordRetro(ctx context.Context, store StateStore, req RetroRequest, win Window, rec RunRecord, now time.Time) error {
	doc, err := json.Marshal(RetroDoc{Type: "retro_hunt", Detection: req.Detection, Updated: now.UTC(), Indicators: req.Indicators, Window: win, LastRun: rec})
	if err != nil {
		return err
	}
	id := RetroID(req.Detection)
	for range 3 {
		_, v, gerr := store.Get(ctx, id)
		switch {
		case errors.Is(gerr, ErrNotFound):
			_, err = store.Create(ctx, id, doc)
		case gerr != nil:
			return gerr
		default:
			_, err = store.Update(ctx, id, doc, v)
		}
		if !errors.Is(err, ErrConflict) {
			return err
		}
	}
	return err
}

// ReadRetro returns the detection's last retro-hunt record, if any.
func ReadRetro(ctx context.Context, store StateStore, detection string) (*RetroDoc, error) {
	raw, _, err := store.Get(ctx, RetroID(detection))
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", RetroID(detection), err)
	}
	var d RetroDoc
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("read %s: bad document: %w", RetroID(detection), err)
	}
	return &d, nil
}
