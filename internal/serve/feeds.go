package serve

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/edgewatch/edgewatch/plugin"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// FeedRunner refreshes an indicator feed in the plugin: the load, then the
// retro-hunts of what it added. progress (which may be nil) receives the
// operation's progress: wire.ProgressWindows after each retro-hunt window,
// the detection in Message.
type FeedRunner interface {
	RefreshFeed(ctx context.Context, args wire.FeedRefreshArgs, secrets map[string]string, progress func(wire.Progress)) (wire.FeedRefreshResult, error)
}

// RefreshFeed implements FeedRunner with the plugin's wire.OpFeedRefresh.
func (r PluginRunner) RefreshFeed(ctx context.Context, args wire.FeedRefreshArgs, secrets map[string]string, progress func(wire.Progress)) (wire.FeedRefreshResult, error) {
	return plugin.Call(ctx, r.Sup, wire.OpFeedRefresh, args, secrets, teeProgress{r.Progress, progress})
}

// feedState is one scheduled feed file.
type feedState struct {
	key  string
	cfg  Feed
	stop context.CancelFunc

	// The file's identity at the last successful load: an unchanged file
	// is not reloaded.
	size    int64
	modTime time.Time

	LastChecked time.Time               `json:"last_checked,omitzero"`
	LastLoaded  time.Time               `json:"last_loaded,omitzero"`
	LastResult  *wire.FeedRefreshResult `json:"last_result,omitempty"`
	LastError   string                  `json:"last_error,omitempty"`
}

func feedKey(f Feed) string { return f.Name + "\x00" + f.Path }

// applyFeedsLocked restarts the feed loops for cfg, keeping what each feed
// last loaded so that a reload does not reload unchanged files.
func (s *Server) applyFeedsLocked(cfg *Config) {
	old := s.feeds
	s.feeds = map[string]*feedState{}
	for _, f := range old {
		f.stop()
	}
	if s.opts.FeedRunner == nil {
		if len(cfg.Feeds) > 0 {
			s.log.Warn("feeds are configured but this server has no feed runner; they are ignored")
		}
		return
	}
	for _, f := range cfg.Feeds {
		k := feedKey(f)
		fs := &feedState{key: k}
		if prev, ok := old[k]; ok {
			fs.size, fs.modTime, fs.LastChecked, fs.LastLoaded, fs.LastResult, fs.LastError =
				prev.size, prev.modTime, prev.LastChecked, prev.LastLoaded, prev.LastResult, prev.LastError
		}
		fs.cfg = f
		ctx, cancel := context.WithCancel(s.runCtx)
		fs.stop = cancel
		s.feeds[k] = fs
		s.schedWG.Add(1)
		go s.feedLoop(ctx, fs, cfg)
	}
}

func (s *Server) feedLoop(ctx context.Context, fs *feedState, cfg *Config) {
	defer s.schedWG.Done()
	t := time.NewTicker(fs.cfg.Every.D())
	defer t.Stop()
	for {
		s.refreshFeed(ctx, fs, cfg)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// refreshFeed loads the feed when its file changed since the last load.
func (s *Server) refreshFeed(ctx context.Context, fs *feedState, cfg *Config) {
	f := fs.cfg
	log := s.log.With("feed", f.Name, "path", f.Path)
	fi, err := os.Stat(f.Path)
	s.mu.Lock()
	fs.LastChecked = s.now().UTC()
	unchanged := err == nil && fi.Size() == fs.size && fi.ModTime().Equal(fs.modTime)
	s.mu.Unlock()
	if err != nil {
		s.metrics.errors.WithLabelValues(ErrKindFeed).Inc()
		log.Error("feed file not readable", "err", err)
		s.mu.Lock()
		fs.LastError = err.Error()
		s.mu.Unlock()
		return
	}
	if unchanged {
		log.Debug("feed file unchanged; not reloaded")
		return
	}
	var args wire.FeedRefreshArgs
	args.RunID = newRunID()
	args.Feed.Name, args.Feed.Path, args.Feed.MinLevel = f.Name, f.Path, f.MinLevel
	args.RetroHunt = f.RetroHunt == nil || *f.RetroHunt
	var secrets map[string]string
	for i, name := range f.Detections {
		d, ok := cfg.Detection(name)
		if !ok {
			continue
		}
		if i == 0 {
			args.Settings, secrets = d.RunSettings(), d.SecretValues()
		}
		args.Detections = append(args.Detections, wire.FeedRetroDetection{Name: d.Name, Settings: d.RunSettings(), Incremental: d.Incremental})
	}
	log.Info("loading feed", "run_id", args.RunID, "size", fi.Size(), "modified", fi.ModTime().UTC())
	res, err := s.opts.FeedRunner.RefreshFeed(ctx, args, secrets, func(p wire.Progress) { s.noteRetroProgress(args.RunID, p) })
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range args.Detections {
		if ds, ok := s.dets[d.Name]; ok && ds.retro != nil && ds.retro.RunID == args.RunID {
			ds.retro = nil
		}
	}
	if err != nil {
		if errors.Is(err, ErrPluginCrashed) {
			s.metrics.errors.WithLabelValues(ErrKindPluginCrash).Inc()
		}
		s.metrics.errors.WithLabelValues(ErrKindFeed).Inc()
		fs.LastError = err.Error()
		log.Error("feed refresh failed; it is retried at the next check", "err", err)
		return
	}
	fs.size, fs.modTime, fs.LastLoaded, fs.LastResult, fs.LastError = fi.Size(), fi.ModTime(), s.now().UTC(), &res, ""
	for _, o := range res.Retro {
		if o == nil {
			continue
		}
		s.metrics.alerts.WithLabelValues(o.Detection).Add(float64(o.AlertsCreated))
		s.metrics.events.WithLabelValues(o.Detection).Add(float64(o.EventsScanned))
	}
	log.Info("feed loaded", "loaded", res.Loaded, "added", res.Added, "removed", res.Removed, "retro_hunts", len(res.Retro))
}

// noteRetroProgress shows the retro-hunt a feed refresh (runID) is running
// as the detection's backfill in /healthz and /metrics, until it ends.
func (s *Server) noteRetroProgress(runID string, p wire.Progress) {
	if p.Stage != wire.ProgressWindows {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ds, ok := s.dets[p.Message]
	if !ok {
		return
	}
	if p.Total > 0 && p.Done >= p.Total {
		ds.retro = nil
		return
	}
	if ds.retro == nil || ds.retro.RunID != runID {
		ds.retro = &BackfillHealth{Kind: BackfillRetroHunt, RunID: runID, State: "running", Started: s.now().UTC()}
	}
	ds.retro.WindowProgress = WindowProgress{Done: p.Done, Total: p.Total}
}
