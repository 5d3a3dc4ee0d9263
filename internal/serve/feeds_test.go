package serve

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/plugin/wire"
)

type fakeFeedRunner struct {
	mu    sync.Mutex
	calls []wire.FeedRefreshArgs
	fail  error
}

func (f *fakeFeedRunner) RefreshFeed(_ context.Context, args wire.FeedRefreshArgs, secrets map[string]string, _ func(wire.Progress)) (wire.FeedRefreshResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, args)
	if f.fail != nil {
		return wire.FeedRefreshResult{}, f.fail
	}
	return wire.FeedRefreshResult{Feed: args.Feed.Name, Loaded: 10, Added: 2,
		Retro: []*wire.Outcome{{Detection: "alpha", Mode: wire.ModeRetroHunt, Status: "success", AlertsCreated: 1}}}, nil
}

func (f *fakeFeedRunner) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func TestFeedRefresh(t *testing.T) {
	dir := t.TempDir()
	feed := filepath.Join(dir, "ipsum.txt")
	writeFile(t, feed, "1.2.3.4\t3\n")
	cfg, err := ParseConfig([]byte(`
detections:
  - {name: alpha, manual: true, retro_lookback: 3d, settings: {source: opensearch}, secrets: {password: {env: PW}}}
  - {name: beta, manual: true}
feeds:
  - {name: ipsum, path: `+feed+`, every: 1s, min_level: 3, detections: [alpha, beta]}
`), testEnv(map[string]string{"PW": "pw"}))
	if err != nil {
		t.Fatal(err)
	}
	fr := &fakeFeedRunner{}
	s := startServer(t, cfg, Options{Runner: &fakeRunner{}, FeedRunner: fr})

	waitFor(t, "first load", func() bool { return fr.count() == 1 })
	a := fr.calls[0]
	if a.Feed.Name != "ipsum" || a.Feed.Path != feed || a.Feed.MinLevel != 3 || !a.RetroHunt || a.Settings.Source != "opensearch" ||
		len(a.Detections) != 2 || a.Detections[0].Incremental.RetroLookback.D() != 72*time.Hour {
		t.Fatalf("args %+v", a)
	}
	// Unchanged file: checked every second, not reloaded.
	time.Sleep(2200 * time.Millisecond)
	if n := fr.count(); n != 1 {
		t.Fatalf("unchanged file reloaded: %d loads", n)
	}
	// The download job replaces the file: reloaded at the next check.
	writeFile(t, feed, "1.2.3.4\t3\n5.6.7.8\t4\n")
	later := time.Now().Add(time.Minute)
	_ = os.Chtimes(feed, later, later)
	waitFor(t, "reload after change", func() bool { return fr.count() == 2 })
	h := s.Health()
	if fh := h.Feeds["ipsum"]; fh == nil || fh.Added != 2 || fh.LastLoaded.IsZero() || fh.LastError != "" {
		t.Fatalf("feed health %+v", h.Feeds["ipsum"])
	}
	if v := counterValue(s.metrics.alerts.WithLabelValues("alpha")); v != 2 { // one per load
		t.Fatalf("retro-hunt alerts not counted: %v", v)
	}

	// A failed load is retried at the next check, even though the file did
	// not change again.
	fr.mu.Lock()
	fr.fail = errors.New("cluster unavailable")
	fr.mu.Unlock()
	writeFile(t, feed, "9.9.9.9\t5\n")
	later = later.Add(time.Minute)
	_ = os.Chtimes(feed, later, later)
	waitFor(t, "failed load", func() bool { return fr.count() == 3 })
	waitFor(t, "retry", func() bool { return fr.count() >= 4 })
	if v := counterValue(s.metrics.errors.WithLabelValues(ErrKindFeed)); v < 1 {
		t.Fatalf("feed errors %v", v)
	}
	fr.mu.Lock()
	fr.fail = nil
	fr.mu.Unlock()
	waitFor(t, "recovered", func() bool {
		h := s.Health()
		return h.Feeds["ipsum"] != nil && h.Feeds["ipsum"].LastError == ""
	})
}

func TestFeedMissingFile(t *testing.T) {
	cfg, err := ParseConfig([]byte("detections: [{name: alpha, manual: true}]\nfeeds: [{path: /nonexistent/ipsum.txt, every: 1h, detections: [alpha]}]"), testEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	fr := &fakeFeedRunner{}
	s := startServer(t, cfg, Options{Runner: &fakeRunner{}, FeedRunner: fr})
	waitFor(t, "feed error", func() bool { return counterValue(s.metrics.errors.WithLabelValues(ErrKindFeed)) == 1 })
	if fr.count() != 0 {
		t.Fatal("a missing file was loaded")
	}
}

// retroFeedRunner plays a feed refresh whose retro-hunt of alpha is in its
// third of seven windows until released.
type retroFeedRunner struct {
	inHunt, release chan struct{}
}

func (f retroFeedRunner) RefreshFeed(ctx context.Context, args wire.FeedRefreshArgs, _ map[string]string, progress func(wire.Progress)) (wire.FeedRefreshResult, error) {
	for done := range 3 {
		progress(wire.Progress{Stage: wire.ProgressWindows, Done: int64(done), Total: 7, Unit: "windows", Message: "alpha"})
	}
	f.inHunt <- struct{}{}
	select {
	case <-f.release:
	case <-ctx.Done():
		return wire.FeedRefreshResult{}, ctx.Err()
	}
	return wire.FeedRefreshResult{Feed: args.Feed.Name, Added: 3,
		Retro: []*wire.Outcome{{Detection: "alpha", Mode: wire.ModeRetroHunt, Status: wire.StatusSuccess}}}, nil
}

// TestRetroHuntProgress: a feed load's retro-hunt is a backfill of the
// detection: /healthz and /metrics show it while it runs, and not after.
func TestRetroHuntProgress(t *testing.T) {
	feed := filepath.Join(t.TempDir(), "ipsum.txt")
	writeFile(t, feed, "1.2.3.4\t3\n")
	cfg, err := ParseConfig([]byte("detections: [{name: alpha, manual: true}]\nfeeds: [{name: ipsum, path: "+feed+", every: 1h, detections: [alpha]}]"), testEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	fr := retroFeedRunner{inHunt: make(chan struct{}), release: make(chan struct{})}
	s := startServer(t, cfg, Options{Runner: &fakeRunner{}, FeedRunner: fr})
	<-fr.inHunt

	bf := s.Health().Detections["alpha"].Backfills
	if len(bf) != 1 || bf[0].Kind != BackfillRetroHunt || bf[0].State != "running" || bf[0].Done != 2 || bf[0].Total != 7 {
		t.Fatalf("backfills while the retro-hunt runs: %+v", bf)
	}
	if v, _ := metric(t, s.Handler(), `edgewatch_backfill_windows_remaining{detection="alpha"}`); v != 5 {
		t.Errorf("edgewatch_backfill_windows_remaining = %v, want 5", v)
	}
	close(fr.release)
	waitFor(t, "feed loaded", func() bool { return s.Health().Feeds["ipsum"].Added == 3 })
	if bf := s.Health().Detections["alpha"].Backfills; len(bf) != 0 {
		t.Fatalf("backfills after the feed refresh: %+v", bf)
	}
	if v, _ := metric(t, s.Handler(), `edgewatch_backfills_in_progress{detection="alpha"}`); v != 0 {
		t.Errorf("edgewatch_backfills_in_progress = %v after the refresh", v)
	}
}
