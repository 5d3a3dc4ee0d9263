package incremental

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/edgewatch/edgewatch/plugin/wire"
)

// WindowFunc runs the detection over one window [w.From, w.To) and returns
// only once every alert it found is durable. An error means the window is
// not done (its alerts may be partly written: ids keep the retry clean).
type WindowFunc func(ctx context.Context, w wire.Window) (wire.WindowStats, error)

// Request is one incremental run.
type Request struct {
	Detection string
	Config    wire.Config
	// Holder identifies the runner in the lease. Give a stable id per host
	// process (serve instance) so that a restarted plugin re-takes its own
	// lease at once; empty means a fresh wire.NewHolderID().
	Holder string
	// wire.Window, when set, runs exactly that window (split by MaxWindow) and
	// leaves the checkpoint where it is: a backfill or a manual re-run.
	Window *wire.Window
	// RunID is the caller's id for this call, recorded in the last run.
	RunID string
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// OnWindow, when set, is told after each window: done of total.
	OnWindow func(done, total int)
}

// commitTimeout bounds a checkpoint commit, which runs even when the run's
// context was cancelled just after its window finished: the window's alerts
// are durable, so recording that is right.
const commitTimeout = 15 * time.Second

// RunIncremental takes the detection's lease, plans the windows from its
// checkpoint, runs them oldest first and commits the checkpoint after each
// successful window; then records the run and releases the lease.
//
// With Request.Window set it is a backfill instead: the window (at most
// Config.MaxBackfill long) is split by MaxWindow and run under the
// detection's backfill lease (BackfillLeaseID), so that it runs beside the
// incremental runs, never in their place; it never reads or writes the
// checkpoint document (a commit of the incremental run in between cannot
// conflict with it), and records its progress and outcome in the
// detection's backfill record (BackfillID) after each window.
//
//   - A failed window stops the sequence; the checkpoint stays at the end of
//     the last successful window.
//   - Another runner holding the lease gives wire.StatusSkipped and no error.
//   - Cancelling ctx abandons the current window without committing it.
//   - A lease lost mid-run (this process stalled past the TTL and another
//     took over) cancels the current window; the checkpoint commit is a
//     compare-and-set, so a stale runner can never move it.
//
// The wire.Outcome is always returned; the error is non-nil when its status is
// wire.StatusFailed.
func RunIncremental(ctx context.Context, req Request, run WindowFunc, store StateStore, now func() time.Time) (*wire.Outcome, error) {
	mode := wire.ModeIncremental
	if req.Window != nil {
		mode = wire.ModeWindow
	}
	out, log, now, err := begin(req.Detection, req.RunID, mode, req.Config, req.Logger, now)
	if err != nil {
		return out, err
	}
	if req.Window != nil {
		if !req.Window.From.Before(req.Window.To) {
			return failed(out, now, fmt.Errorf("%w: window %s is empty", wire.ErrInvalidConfig, req.Window))
		}
		if err := req.Config.CheckBackfill(*req.Window); err != nil {
			return failed(out, now, err)
		}
	}
	cfg := req.Config.WithDefaults()
	holder := req.Holder
	if holder == "" {
		holder = wire.NewHolderID()
	}
	out.Holder = holder

	acquire := AcquireLease
	if req.Window != nil {
		acquire = AcquireBackfillLease
	}
	lease, err := acquire(ctx, store, req.Detection, holder, cfg.LeaseTTL.D(), now())
	if errors.Is(err, ErrLeaseHeld) {
		out.Status, out.Reason = wire.StatusSkipped, err.Error()
		finish(out, now)
		log.Info("run skipped: another runner holds the lease", "mode", out.Mode, "reason", out.Reason)
		return out, nil
	}
	if err != nil {
		return failed(out, now, err)
	}

	runCtx, cancel := context.WithCancelCause(ctx)
	alive := make(chan struct{})
	go func() {
		defer close(alive)
		lease.keepAlive(runCtx, now, func(err error) {
			log.Warn("lease lost; abandoning the current window", "err", err)
			cancel(err)
		})
	}()
	defer func() {
		cancel(nil)
		<-alive // no renewal may land after the release
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
		defer rcancel()
		if err := lease.Release(rctx, now()); err != nil {
			log.Warn("lease release failed; it will expire", "err", err, "expires", lease.Expires())
		}
	}()

	if req.Window != nil {
		err = runBackfill(runCtx, req, cfg, run, store, now, out, log)
	} else {
		err = runWindows(runCtx, ctx, req, cfg, run, store, now, out, log)
	}
	if err != nil && out.Status == "" {
		out.Status, out.Error = wire.StatusFailed, err.Error()
	}
	if out.Status == "" {
		out.Status = wire.StatusSuccess
	}
	finish(out, now)
	if req.Window == nil && (out.Status != wire.StatusNoop || err != nil) {
		rec := record(out)
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
		if rerr := recordRun(rctx, store, req.Detection, rec, now()); rerr != nil {
			log.Warn("could not record the run", "err", rerr)
		}
		rcancel()
	}
	log.Info("incremental run finished", "status", out.Status, "mode", out.Mode, "windows", len(out.Windows),
		"remaining", out.Remaining, "events", out.EventsScanned, "alerts_created", out.AlertsCreated,
		"checkpoint", out.CheckpointAfter, "lag_s", int64(out.LagSeconds), "duration_ms", out.DurationMS)
	return out, err
}

// runWindows plans and runs the windows under the lease. runCtx is
// cancelled on lease loss or by the caller; parent is the caller's ctx.
func runWindows(runCtx, parent context.Context, req Request, cfg wire.Config, run WindowFunc, store StateStore,
	now func() time.Time, out *wire.Outcome, log *slog.Logger) error {
	st, err := readCheckpoint(runCtx, store, req.Detection)
	if err != nil {
		return err
	}
	out.CheckpointBefore, out.CheckpointAfter = st.doc.Checkpoint, st.doc.Checkpoint

	all := cfg
	all.MaxWindows = 0
	windows := Plan(now(), st.doc.Checkpoint, all)
	windows = capWindows(windows, cfg.MaxWindows, out)
	if req.OnWindow != nil && len(windows) > 0 {
		req.OnWindow(0, len(windows))
	}
	if len(windows) == 0 {
		out.Status = wire.StatusNoop
		out.Reason = fmt.Sprintf("nothing to run: now − delay is not after the checkpoint %s", st.doc.Checkpoint.UTC().Format(time.RFC3339))
		return nil
	}

	for i, w := range windows {
		wo, err := runNext(runCtx, run, windows, i, out, log, "window failed; checkpoint not advanced")
		if err != nil {
			return err
		}
		// The window is durable: commit even if the caller has just
		// cancelled (shutdown), but not after losing the lease (the
		// compare-and-set would refuse it anyway).
		if errors.Is(context.Cause(runCtx), ErrLeaseLost) {
			out.Windows = append(out.Windows, wo)
			out.Remaining += len(windows) - i - 1
			out.CaughtUp = false
			return fmt.Errorf("window %s ran but was not committed: %w", w, context.Cause(runCtx))
		}
		doc := st.doc
		doc.Type, doc.Detection = wire.StateTypeCheckpoint, req.Detection
		doc.Checkpoint, doc.Updated = w.To, now().UTC()
		cctx, ccancel := context.WithTimeout(context.WithoutCancel(parent), commitTimeout)
		st, err = writeCheckpoint(cctx, store, st, doc)
		ccancel()
		if err != nil {
			wo.Status, wo.Error = wire.StatusFailed, err.Error()
			out.Windows = append(out.Windows, wo)
			out.Remaining += len(windows) - i - 1
			out.CaughtUp = false
			return err
		}
		wo.Committed = true
		out.CheckpointAfter = w.To
		out.Windows = append(out.Windows, wo)
		if req.OnWindow != nil {
			req.OnWindow(i+1, len(windows))
		}
		log.Debug("window done", "window", w.String(), "events", wo.EventsScanned,
			"alerts_created", wo.AlertsCreated, "already_present", wo.AlreadyPresent, "duration_ms", wo.DurationMS)
	}
	return nil
}

// begin starts the Outcome of one call of mode: the clock and logger
// defaults, then the detection name and configuration checks; a failed
// check finishes the Outcome as failed and is returned.
func begin(detection, runID, mode string, cfg wire.Config, log *slog.Logger, now func() time.Time) (*wire.Outcome, *slog.Logger, func() time.Time, error) {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	out := &wire.Outcome{Detection: detection, RunID: runID, Mode: mode, Started: now().UTC(), Windows: []wire.WindowOutcome{}}
	err := wire.ValidateDetectionName(detection)
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		failed(out, now, err)
	}
	return out, log.With("detection", detection), now, err
}

// failed finishes out as failed with err.
func failed(out *wire.Outcome, now func() time.Time, err error) (*wire.Outcome, error) {
	out.Status, out.Error = wire.StatusFailed, err.Error()
	finish(out, now)
	return out, err
}

// runBackfill runs the explicit window under the backfill lease: split by
// MaxWindow (and capped by MaxWindows), each window recorded in the
// backfill document, nothing committed. runCtx is cancelled on lease loss
// or by the caller (shutdown): the current window is abandoned.
func runBackfill(runCtx context.Context, req Request, cfg wire.Config, run WindowFunc, store StateStore,
	now func() time.Time, out *wire.Outcome, log *slog.Logger) error {
	windows := Split(req.Window.From, req.Window.To, cfg.MaxWindow.D())
	windows = capWindows(windows, cfg.MaxWindows, out)
	rec := &backfillRecorder{store: store, now: now, warn: log.Warn, doc: wire.BackfillDoc{
		Type: wire.StateTypeBackfill, Detection: req.Detection, RunID: req.RunID, Holder: out.Holder,
		Window: *req.Window, State: wire.BackfillRunning, Total: len(windows)}}
	rec.write(runCtx)
	if req.OnWindow != nil {
		req.OnWindow(0, len(windows))
	}
	log.Info("backfill started", "window", req.Window.String(), "windows", len(windows), "run_id", req.RunID)
	err := func() error {
		for i := range windows {
			wo, err := runNext(runCtx, run, windows, i, out, log, "backfill window failed")
			if err != nil {
				return err
			}
			out.Windows = append(out.Windows, wo)
			rec.doc.Done = i + 1
			rec.write(runCtx)
			if req.OnWindow != nil {
				req.OnWindow(i+1, len(windows))
			}
		}
		return nil
	}()
	status := wire.StatusSuccess
	if err != nil {
		status = wire.StatusFailed
	}
	last := record(out)
	last.Outcome, last.Finished = status, now().UTC()
	last.DurationMS = last.Finished.Sub(last.Started).Milliseconds()
	if err != nil {
		last.Error = err.Error()
	}
	rec.doc.State, rec.doc.LastRun = wire.BackfillDone, &last
	rec.write(runCtx)
	return err
}

// capWindows keeps the first maxWindows of windows (all when maxWindows is
// 0) and notes in out whether that leaves any for a later call.
func capWindows(windows []wire.Window, maxWindows int, out *wire.Outcome) []wire.Window {
	out.CaughtUp = true
	if maxWindows > 0 && len(windows) > maxWindows {
		out.Remaining = len(windows) - maxWindows
		out.CaughtUp = false
		windows = windows[:maxWindows]
	}
	return windows
}

// runNext runs windows[i] unless runCtx is already done. A stop before the
// window counts it and the rest as remaining; a failed window is recorded in
// out, logged with warn, and the rest counted as remaining.
func runNext(runCtx context.Context, run WindowFunc, windows []wire.Window, i int, out *wire.Outcome,
	log *slog.Logger, warn string) (wire.WindowOutcome, error) {
	w := windows[i]
	if err := context.Cause(runCtx); err != nil {
		out.Remaining += len(windows) - i
		out.CaughtUp = false
		return wire.WindowOutcome{}, fmt.Errorf("stopped before window %s: %w", w, err)
	}
	wo, err := runWindow(runCtx, run, w, out)
	if err != nil {
		out.Windows = append(out.Windows, wo)
		out.Remaining += len(windows) - i - 1
		out.CaughtUp = false
		log.Warn(warn, "window", w.String(), "err", err)
		return wo, fmt.Errorf("window %s: %w", w, err)
	}
	return wo, nil
}

// runWindow runs w and adds its counts to out. A failed window comes back
// marked failed, with the cause of a cancelled ctx (lease lost, shutdown)
// attached to its error.
func runWindow(ctx context.Context, run WindowFunc, w wire.Window, out *wire.Outcome) (wire.WindowOutcome, error) {
	t0 := time.Now()
	stats, err := run(ctx, w)
	wo := wire.WindowOutcome{Window: w, WindowStats: stats, Status: wire.StatusSuccess, DurationMS: time.Since(t0).Milliseconds()}
	out.EventsScanned += stats.EventsScanned
	out.AlertsCreated += stats.AlertsCreated
	out.AlreadyPresent += stats.AlreadyPresent
	if err != nil {
		if cause := context.Cause(ctx); cause != nil && !errors.Is(err, cause) {
			err = fmt.Errorf("%w (%w)", err, cause)
		}
		wo.Status, wo.Error = wire.StatusFailed, err.Error()
	}
	return wo, err
}

func finish(o *wire.Outcome, now func() time.Time) {
	o.Finished = now().UTC()
	o.DurationMS = o.Finished.Sub(o.Started).Milliseconds()
	if !o.CheckpointAfter.IsZero() {
		o.LagSeconds = o.Finished.Sub(o.CheckpointAfter).Seconds()
	}
}

func record(o *wire.Outcome) wire.LastRun {
	return wire.LastRun{
		RunID: o.RunID, Mode: o.Mode, Outcome: o.Status, Holder: o.Holder,
		Started: o.Started, Finished: o.Finished, DurationMS: o.DurationMS,
		Windows: len(o.Windows), EventsScanned: o.EventsScanned,
		AlertsCreated: o.AlertsCreated, AlreadyPresent: o.AlreadyPresent, Error: o.Error,
	}
}
