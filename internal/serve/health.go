package serve

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"time"

	"github.com/edgewatch/edgewatch/plugin/wire"
)

// Health is the /healthz document. Status is "ok", "degraded" (Problems
// says why) or "stopping".
//
// /healthz answers 200 for ok and degraded alike, and 503 only while
// serve shuts down: it is a liveness endpoint, and a restart cannot fix a
// lagging cluster or an acknowledged trigger (it would only abandon the
// windows in progress). Alert on "status" or, better, on the same numbers
// in /metrics (edgewatch_lag_seconds, edgewatch_trigger_age_seconds,
// edgewatch_detection_degraded).
type Health struct {
	Status     string                     `json:"status"` // ok, degraded, stopping
	Problems   []string                   `json:"problems,omitempty"`
	Version    string                     `json:"version,omitempty"`
	Started    time.Time                  `json:"started"`
	Holder     string                     `json:"holder"`
	Plugin     *PluginStatus              `json:"plugin,omitempty"`
	Detections map[string]DetectionHealth `json:"detections"`
	Feeds      map[string]*FeedHealth     `json:"feeds,omitempty"`
}

// DetectionHealth is one detection in /healthz. Its lag and trigger age are
// computed when asked, from the checkpoint the last incremental run
// reported and the server's clock: the numbers /metrics exports.
type DetectionHealth struct {
	Interval     string    `json:"interval"`
	Trigger      string    `json:"trigger"`
	Manual       bool      `json:"manual,omitempty"`
	Running      bool      `json:"running"`
	LastRunID    string    `json:"last_run_id,omitempty"`
	LastTrigger  string    `json:"last_trigger,omitempty"`
	LastOutcome  string    `json:"last_outcome,omitempty"`
	LastFinished time.Time `json:"last_finished,omitzero"`
	LastError    string    `json:"last_error,omitempty"`
	Checkpoint   time.Time `json:"checkpoint,omitzero"`
	// LagSeconds is now − Checkpoint (absent before a run reported one).
	LagSeconds *float64 `json:"lag_seconds,omitempty"`
	// MaxLagSeconds is the lag past which the detection is degraded.
	MaxLagSeconds float64 `json:"max_lag_seconds,omitempty"`
	// For trigger: external: how often the trigger should call, when it
	// last did, and the seconds since (since start-up before its first
	// call); degraded past 2 × the interval.
	ExpectTriggerEvery string    `json:"expect_trigger_every,omitempty"`
	LastExternal       time.Time `json:"last_external_trigger,omitzero"`
	TriggerAgeSeconds  *float64  `json:"trigger_age_seconds,omitempty"`
	AlertsLast         int       `json:"alerts_created_last_run"`
	// Backfills are the backfills and retro-hunts queued or running;
	// LastBackfill the last one finished.
	Backfills    []BackfillHealth `json:"backfills,omitempty"`
	LastBackfill *BackfillHealth  `json:"last_backfill,omitempty"`
	// Problems say why the detection is degraded.
	Problems []string `json:"problems,omitempty"`
}

// Kinds of BackfillHealth.
const (
	BackfillWindow    = "window"     // a webhook's explicit window
	BackfillRetroHunt = "retro_hunt" // new indicators over retro_lookback
)

// BackfillHealth is a backfill or a retro-hunt in /healthz.
type BackfillHealth struct {
	Kind     string       `json:"kind"`
	RunID    string       `json:"run_id"`
	Window   *wire.Window `json:"window,omitempty"`
	State    string       `json:"state"` // queued, running, done
	Started  time.Time    `json:"started,omitzero"`
	Finished time.Time    `json:"finished,omitzero"`
	Outcome  string       `json:"outcome,omitempty"`
	Error    string       `json:"error,omitempty"`
	WindowProgress
}

// FeedHealth is one feed in /healthz.
type FeedHealth struct {
	Path        string    `json:"path"`
	LastChecked time.Time `json:"last_checked,omitzero"`
	LastLoaded  time.Time `json:"last_loaded,omitzero"`
	Added       int       `json:"added_last_load"`
	LastError   string    `json:"last_error,omitempty"`
}

// Health reports the server's state.
func (s *Server) Health() Health {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	h := Health{Status: "ok", Version: s.opts.Version, Started: s.started.UTC(), Holder: s.opts.Holder, Detections: map[string]DetectionHealth{}}
	for name, ds := range s.dets {
		dh := s.detectionHealthLocked(ds, now)
		h.Detections[name] = dh
		for _, p := range dh.Problems {
			h.Problems = append(h.Problems, name+": "+p)
		}
	}
	sort.Strings(h.Problems)
	if len(h.Problems) > 0 {
		h.Status = "degraded"
	}
	for _, fs := range s.feeds {
		if h.Feeds == nil {
			h.Feeds = map[string]*FeedHealth{}
		}
		fh := &FeedHealth{Path: fs.cfg.Path, LastChecked: fs.LastChecked, LastLoaded: fs.LastLoaded, LastError: fs.LastError}
		if fs.LastResult != nil {
			fh.Added = fs.LastResult.Added
		}
		h.Feeds[fs.cfg.Name] = fh
	}
	if s.opts.Plugin != nil {
		ps := s.opts.Plugin()
		h.Plugin = &ps
	}
	if s.stopping {
		h.Status = "stopping"
	}
	return h
}

// detectionHealthLocked is one detection's state at now: what /healthz
// shows and /metrics exports (one computation for both).
func (s *Server) detectionHealthLocked(ds *detState, now time.Time) DetectionHealth {
	cfg := ds.cfg
	dh := DetectionHealth{Interval: cfg.EffectiveInterval().String(), Trigger: cfg.Trigger, Manual: cfg.Manual}
	_, dh.Running = ds.pending["incremental"]
	if r := ds.last; r != nil {
		dh.LastRunID, dh.LastTrigger, dh.LastFinished, dh.LastError = r.ID, r.Trigger, r.Finished, r.Error
		if r.Result != nil {
			dh.LastOutcome, dh.AlertsLast = r.Result.Status, r.Result.AlertsCreated
		}
		if dh.LastOutcome == wire.StatusFailed {
			dh.Problems = append(dh.Problems, "last run failed: "+r.Error)
		}
	}
	maxLag := cfg.EffectiveMaxLag()
	if maxLag > 0 {
		dh.MaxLagSeconds = maxLag.Seconds()
	}
	if !ds.checkpoint.IsZero() {
		lag := now.Sub(ds.checkpoint)
		secs := lag.Seconds()
		dh.Checkpoint, dh.LagSeconds = ds.checkpoint, &secs
		if maxLag > 0 && lag > maxLag {
			dh.Problems = append(dh.Problems, fmt.Sprintf("lag %s is over max_lag %s (checkpoint %s)",
				wire.Duration(lag.Round(time.Second)).Human(), wire.Duration(maxLag).Human(), ds.checkpoint.UTC().Format(time.RFC3339)))
		}
	}
	if every := cfg.ExpectedTriggerEvery(); every > 0 {
		ref, what := ds.lastTrigger, "no external trigger for %s"
		if ref.IsZero() {
			ref, what = ds.since, "no external trigger since serve began expecting one %s ago"
		}
		age := now.Sub(ref)
		secs := age.Seconds()
		dh.ExpectTriggerEvery, dh.LastExternal, dh.TriggerAgeSeconds = cfg.EffectiveInterval().String(), ds.lastTrigger, &secs
		if age > 2*every {
			dh.Problems = append(dh.Problems, fmt.Sprintf(what+" (expected every %s): the Watcher watch or Alerting monitor may be acknowledged, disabled or deleted (README: Scheduled operation)",
				wire.Duration(age.Round(time.Second)).Human(), wire.Duration(every).Human()))
		}
	}
	for _, r := range ds.pending {
		if r.Window != nil {
			dh.Backfills = append(dh.Backfills, backfillOf(r))
		}
	}
	if ds.retro != nil {
		dh.Backfills = append(dh.Backfills, *ds.retro)
	}
	slices.SortFunc(dh.Backfills, func(a, b BackfillHealth) int { return a.Started.Compare(b.Started) })
	if r := ds.lastBackfill; r != nil {
		b := backfillOf(r)
		dh.LastBackfill = &b
	}
	return dh
}

func backfillOf(r *run) BackfillHealth {
	b := BackfillHealth{Kind: BackfillWindow, RunID: r.ID, Window: r.Window, State: r.State, Started: r.Started, Finished: r.Finished, Error: r.Error}
	if r.Progress != nil {
		b.WindowProgress = *r.Progress
	}
	if r.Result != nil {
		b.Outcome = r.Result.Status
	}
	return b
}

func (s *Server) handleHealth(w http.ResponseWriter, _ *http.Request) {
	h := s.Health()
	code := http.StatusOK
	if h.Status == "stopping" {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, h)
}
