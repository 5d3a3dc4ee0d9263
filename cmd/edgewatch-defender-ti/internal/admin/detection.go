package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/engine"
	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/incremental"
	"github.com/edgewatch/edgewatch/connectors"
	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/plugin"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// Env is what one operation works with, opened from its settings.
type Env struct {
	// Backend runs the detection (it must have a Writer: incremental runs
	// only make sense when alerts are stored).
	Backend *engine.Backend
	// State holds checkpoints and leases.
	State incremental.StateStore
	// LoadFeed loads indicators as feed name atomically and returns the
	// ones that were not in the previous live feed (nil when the store has
	// no lookup index).
	LoadFeed func(ctx context.Context, name string, set *correlation.IndicatorSet) (FeedLoad, error)
	// Close releases what Open opened.
	Close func()
}

// FeedLoad is what a feed load did.
type FeedLoad struct {
	Loaded    int
	Removed   int
	FirstLoad bool
	Added     []correlation.Indicator
}

func (d Deps) open(ctx context.Context, s wire.Settings, secrets map[string]string) (*Env, error) {
	env, err := d.Open(ctx, s, secrets)
	if err != nil {
		return nil, err
	}
	if env.Backend == nil || env.Backend.Writer == nil || env.State == nil {
		if env.Close != nil {
			env.Close()
		}
		return nil, fmt.Errorf("%w: incremental runs need a cluster source (opensearch or elasticsearch) to store alerts and checkpoints, and writes alerts (no no_index)", engine.ErrConfig)
	}
	return env, nil
}

// withFacingState serves env's facing step from the detection's facing
// state (scheduled runs only: retro-hunts and backfills read directly).
func (d Deps) withFacingState(env *Env, s wire.Settings, detection string, cfg wire.Config) {
	if d.Facing == nil || env.Backend.Source == nil {
		return
	}
	be := *env.Backend
	be.Source = d.Facing.Wrap(FacingScope{
		Source: sourceKey(s), Detection: detection, Overlap: cfg.WithDefaults().Overlap.D(),
	}, be.Source, env.State)
	env.Backend = &be
}

func (env *Env) close() {
	if env.Close != nil {
		env.Close()
	}
}

func (d Deps) runIncremental(ctx context.Context, a wire.RunIncrementalArgs, secrets map[string]string, s plugin.Stream) (wire.Outcome, error) {
	progress := progressTo(ctx, s)
	settings := a.Settings
	settings.Detection, settings.Trigger = a.Detection, a.Trigger // the run records' detection and trigger, and its alert alias
	env, err := d.open(ctx, settings, secrets)
	if err != nil {
		return wire.Outcome{}, err
	}
	defer env.close()
	if a.Window == nil {
		d.withFacingState(env, a.Settings, a.Detection, a.Incremental)
	}
	run := WindowRunner(env.Backend, settings, progress, d.Now)
	out, _ := incremental.RunIncremental(ctx, incremental.Request{
		Detection: a.Detection, Config: a.Incremental, Holder: a.Holder, Window: a.Window, RunID: a.RunID, Logger: d.log(),
		OnWindow: windowProgress(progress, a.Detection),
	}, run, env.State, d.Now)
	return *out, nil
}

// WindowRunner adapts the engine to an incremental.WindowFunc: each window
// is one engine run over [From, To) with the backend's writer. The
// indicator set is read once per WindowRunner (one operation call) and
// shared by its windows: a catch-up of 25 windows does not re-read a
// 220k-indicator lookup index 25 times. A feed load during the call is
// picked up by the next call.
func WindowRunner(be *engine.Backend, s wire.Settings, progress func(wire.Progress), now func() time.Time) incremental.WindowFunc {
	if now == nil {
		now = time.Now
	}
	if be.Indicators != nil {
		shared := *be
		shared.Indicators = onceIndicators(be.Indicators)
		be = &shared
	}
	return func(ctx context.Context, w wire.Window) (wire.WindowStats, error) {
		ws := s
		ws.From, ws.To = w.From, w.To
		sum, err := engine.RunWith(ctx, ws, be, progressObserver(progress), now)
		var st wire.WindowStats
		if sum != nil {
			st = wire.WindowStats{
				RunID: sum.RunID, EventsScanned: sum.Events.Read, AlertsMatched: sum.Alerts.Matched,
				AlertsCreated: sum.Alerts.Created, AlreadyPresent: sum.Alerts.AlreadyPresent,
			}
		}
		return st, err
	}
}

// onceIndicators memoises a successful indicator load; a failed one is
// retried by the next window.
func onceIndicators(load func(context.Context) (*correlation.IndicatorSet, error)) func(context.Context) (*correlation.IndicatorSet, error) {
	var mu sync.Mutex
	var set *correlation.IndicatorSet
	return func(ctx context.Context) (*correlation.IndicatorSet, error) {
		mu.Lock()
		defer mu.Unlock()
		if set != nil {
			return set, nil
		}
		s, err := load(ctx)
		if err != nil {
			return nil, err
		}
		set = s
		return set, nil
	}
}

type progressObs struct{ fn func(wire.Progress) }

func (o progressObs) Progress(p wire.Progress) {
	if o.fn != nil {
		o.fn(p)
	}
}
func (progressObs) Alerts(context.Context, engine.Batch) error { return nil }

func progressObserver(fn func(wire.Progress)) engine.Observer { return progressObs{fn} }

func (d Deps) retroHunt(ctx context.Context, a wire.RetroHuntArgs, secrets map[string]string, s plugin.Stream) (wire.Outcome, error) {
	progress := progressTo(ctx, s)
	feed := a.FeedName
	if feed == "" {
		feed = "retro-hunt"
	}
	set := correlation.NewIndicatorSet(feed)
	for _, v := range a.Indicators {
		p, err := correlation.ParsePrefix(v)
		if err != nil {
			return wire.Outcome{}, fmt.Errorf("%w: %s: indicator %q: %v", engine.ErrConfig, wire.OpRetroHunt.Name, v, err)
		}
		set.Add(correlation.Indicator{Prefix: p, Feed: feed}, true)
	}
	env, err := d.open(ctx, withDetection(a.Settings, a.Detection), secrets)
	if err != nil {
		return wire.Outcome{}, err
	}
	defer env.close()
	out, _ := RetroHunt(ctx, env, a.Detection, a.RunID, a.Settings, a.Incremental, set, progress, d.Now, d.log())
	return *out, nil
}

// RetroHunt re-scans the detection's past window (Config.RetroLookback)
// with only the indicators in set, marking what it writes
// edgewatch.retro_hunt: true.
func RetroHunt(ctx context.Context, env *Env, detection, runID string, s wire.Settings, cfg wire.Config,
	set *correlation.IndicatorSet, progress func(wire.Progress), now func() time.Time, log *slog.Logger) (*wire.Outcome, error) {
	be := RetroBackend(env.Backend, set)
	rs := s
	rs.Detection, rs.Trigger, rs.RetroHunt = detection, "retro-hunt", true
	cl := wire.ClusterSettings{}
	if s.Cluster != nil {
		cl = *s.Cluster
	}
	if cl.IndicatorFeed == "" {
		// The engine takes indicators from Backend.Indicators only when a
		// lookup feed is named; the name is informational here.
		cl.IndicatorFeed = set.Name()
	}
	rs.Cluster = &cl
	return incremental.RetroHunt(ctx, incremental.RetroRequest{
		Detection: detection, Config: cfg, Indicators: set.Len(), RunID: runID, Logger: log,
		OnWindow: windowProgress(progress, detection),
	}, WindowRunner(be, rs, progress, now), env.State, now)
}

// windowProgress reports each finished window of detection's call to the
// host (wire.ProgressWindows: serve shows a backfill's and a retro-hunt's
// progress from it).
func windowProgress(progress func(wire.Progress), detection string) func(done, total int) {
	if progress == nil {
		return nil
	}
	return func(done, total int) {
		progress(wire.Progress{Stage: wire.ProgressWindows, Done: int64(done), Total: int64(total), Unit: "windows", Message: detection})
	}
}

// RetroBackend is be restricted to the indicators in set, with every alert
// it writes marked edgewatch.retro_hunt: true (the mark does not change the
// finding id).
func RetroBackend(be *engine.Backend, set *correlation.IndicatorSet) *engine.Backend {
	rb := *be
	rb.Indicators = func(context.Context) (*correlation.IndicatorSet, error) { return set, nil }
	if be.Writer != nil {
		rb.Writer = retroWriter{be.Writer}
	}
	return &rb
}

type retroWriter struct{ w connectors.AlertWriter }

func (r retroWriter) Write(ctx context.Context, alerts []*correlation.Alert) (connectors.WriteResult, error) {
	for _, a := range alerts {
		a.Edgewatch.RetroHunt = true
	}
	return r.w.Write(ctx, alerts)
}

func (d Deps) feedRefresh(ctx context.Context, a wire.FeedRefreshArgs, secrets map[string]string, s plugin.Stream) (wire.FeedRefreshResult, error) {
	progress := progressTo(ctx, s)
	if a.Feed.Path == "" {
		return wire.FeedRefreshResult{}, fmt.Errorf("%w: %s: feed.path is required", engine.ErrConfig, wire.OpFeedRefresh.Name)
	}
	name := a.Feed.Name
	if name == "" {
		name = "ipsum"
	}
	set, _, err := engine.LoadFeedFiles(ctx, []string{a.Feed.Path}, correlation.FeedOptions{Name: name, MinLevel: a.Feed.MinLevel, KeepNonGlobal: a.Settings.KeepNonGlobal})
	if err != nil {
		return wire.FeedRefreshResult{}, err
	}
	env, err := d.open(ctx, a.Settings, secrets)
	if err != nil {
		return wire.FeedRefreshResult{}, err
	}
	defer env.close()
	if env.LoadFeed == nil {
		return wire.FeedRefreshResult{}, fmt.Errorf("%w: %s: this store has no indicator lookup index", engine.ErrConfig, wire.OpFeedRefresh.Name)
	}
	if progress != nil {
		progress(wire.Progress{Stage: "indicators", Message: fmt.Sprintf("loading %d indicators as feed %s", set.Len(), name)})
	}
	ld, err := env.LoadFeed(ctx, name, set)
	if err != nil {
		return wire.FeedRefreshResult{}, fmt.Errorf("load feed %s: %w", name, err)
	}
	res := wire.FeedRefreshResult{Feed: name, Loaded: ld.Loaded, Added: len(ld.Added), Removed: ld.Removed, FirstLoad: ld.FirstLoad}
	switch {
	case !a.RetroHunt || len(ld.Added) == 0:
	case ld.FirstLoad && !a.RetroOnFirstLoad:
		res.Note = "first load of this feed: no retro-hunt (every indicator is new; the detections' initial look-back covers the past)"
	default:
		added := correlation.NewIndicatorSet(name)
		for _, ind := range ld.Added {
			added.Add(ind, true)
		}
		for _, det := range a.Detections {
			// Each detection's own settings say where its data is, where
			// its alerts go and how they are grouped; the feed's store is
			// the one the detection reads indicators from.
			denv := env
			ds := withDetection(det.Settings, det.Name)
			if (det.Settings.Cluster != nil && (a.Settings.Cluster == nil || !sameCluster(*det.Settings.Cluster, *a.Settings.Cluster))) ||
				ds.AlertAliasOf() != a.Settings.AlertAliasOf() || !sameGrouping(ds, a.Settings) {
				denv, err = d.open(ctx, ds, secrets)
				if err != nil {
					res.Retro = append(res.Retro, &wire.Outcome{Detection: det.Name, Mode: wire.ModeRetroHunt, Status: wire.StatusFailed, Error: err.Error()})
					continue
				}
			}
			out, _ := RetroHunt(ctx, denv, det.Name, a.RunID, det.Settings, det.Incremental, added, progress, d.Now, d.log())
			if denv != env {
				denv.close()
			}
			res.Retro = append(res.Retro, out)
		}
	}
	return res, nil
}

// withDetection is s for detection name: its run records and its alert
// alias (wire.Settings.AlertAliasOf) are the detection's.
func withDetection(s wire.Settings, name string) wire.Settings {
	s.Detection = name
	return s
}

// sameGrouping reports whether a and b group alerts alike (the backend
// opened for one then stores the other's groups too).
func sameGrouping(a, b wire.Settings) bool {
	return slices.Equal(a.GroupBy, b.GroupBy) && a.GroupWindow == b.GroupWindow
}

func sameCluster(a, b wire.ClusterSettings) bool {
	return strings.Join(a.URLs, ",") == strings.Join(b.URLs, ",") && a.Username == b.Username
}

func (d Deps) detectionStatus(ctx context.Context, a wire.DetectionStatusArgs, secrets map[string]string, s plugin.Stream) (wire.DetectionStatusResult, error) {
	env, err := d.Open(ctx, a.Settings, secrets)
	if err != nil {
		return wire.DetectionStatusResult{}, err
	}
	defer env.close()
	if env.State == nil {
		return wire.DetectionStatusResult{}, fmt.Errorf("%w: status needs a cluster source (opensearch or elasticsearch)", engine.ErrConfig)
	}
	now := d.Now()
	st, err := incremental.Status(ctx, env.State, a.Detections, now)
	if err != nil {
		if errors.Is(err, wire.ErrInvalidConfig) {
			return wire.DetectionStatusResult{}, fmt.Errorf("%w: %w", engine.ErrConfig, err)
		}
		return wire.DetectionStatusResult{}, err
	}
	return wire.DetectionStatusResult{Now: now.UTC(), Detections: st}, nil
}
