package admin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/engine"
	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/stack"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/plugin"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

func (d Deps) feedLoad(ctx context.Context, a wire.FeedLoadArgs, secrets map[string]string, s plugin.Stream) (wire.FeedLoadResult, error) {
	progress := progressTo(ctx, s)
	start := time.Now()
	if a.File == "" && a.Content == nil {
		return wire.FeedLoadResult{}, fmt.Errorf("%w: feed.load: no feed file (--file)", engine.ErrConfig)
	}
	name := a.Name
	if name == "" {
		name = wire.DefaultFeedName
	}
	if err := stack.CheckFeedName(name); err != nil {
		return wire.FeedLoadResult{}, fmt.Errorf("%w: %w", engine.ErrConfig, err)
	}
	minLevel := a.Settings.MinLevel
	if a.MinLevel != nil {
		minLevel = *a.MinLevel
	}
	if minLevel < 0 {
		return wire.FeedLoadResult{}, fmt.Errorf("%w: feed.load: min level %d: want 0 or more", engine.ErrConfig, minLevel)
	}
	// Parse first: a file that cannot be read fails before the cluster is
	// touched.
	source := a.File
	if a.Content != nil {
		source = "stdin"
	}
	progress(wire.Progress{Stage: "feed", Message: "parsing " + source})
	set, reps, err := parseFeedArgs(ctx, a, source, correlation.FeedOptions{
		Name: name, MinLevel: minLevel, KeepNonGlobal: a.Settings.KeepNonGlobal,
	})
	if err != nil {
		return wire.FeedLoadResult{}, fmt.Errorf("feed.load: %w", err)
	}
	parsed := time.Now()
	if set.Len() == 0 && !a.AllowEmpty {
		rep := reps[0]
		return wire.FeedLoadResult{}, fmt.Errorf("%w: feed.load: %s holds no indicator to load (%d lines: %d invalid, %d below level %d, %d comments); "+
			"the live feed %s is unchanged (--allow-empty, allow_empty=true, loads an empty feed on purpose)",
			engine.ErrConfig, source, rep.Lines, rep.Invalid, rep.BelowLevel, minLevel, rep.Comments, wire.FeedAlias(name))
	}

	c, err := d.connect(ctx, wire.OpFeedLoad.Name, a.Settings, secrets)
	if err != nil {
		return wire.FeedLoadResult{}, err
	}
	total := int64(set.Len())
	progress(wire.Progress{Stage: "feed", Total: total, Unit: "rows", Message: "loading " + wire.FeedAlias(name)})
	lr, err := stack.LoadFeed(ctx, c, name, set.All(), stack.LoadOptions{
		Now:          d.Now,
		KeepPrevious: a.KeepPrevious,
		Progress: func(written int) {
			progress(wire.Progress{Stage: "feed", Done: int64(written), Total: total, Unit: "rows"})
		},
	})
	if err != nil {
		var fe *stack.FeedLoadError
		if errors.As(err, &fe) {
			return wire.FeedLoadResult{}, err // says why and that the live feed is unchanged
		}
		return wire.FeedLoadResult{}, fmt.Errorf("feed.load %s: %w (the live feed is unchanged)", name, err)
	}
	res := wire.FeedLoadResult{
		Feed: lr.Feed, Alias: lr.Alias, Index: lr.Index, Previous: lr.Previous, FirstLoad: lr.FirstLoad,
		LoadedAt: lr.LoadedAt, Loaded: lr.Written, Added: len(lr.Added), Kept: lr.Kept, Removed: lr.Removed,
		PerLevel: map[string]int{}, Deleted: lr.Deleted, Warnings: lr.Warnings, Parse: engine.FeedReports(reps),
		ParseMS: parsed.Sub(start).Milliseconds(), LoadMS: lr.Duration.Milliseconds(),
	}
	for ind := range set.All() {
		res.PerLevel[strconv.Itoa(ind.Level)]++
		if ind.IsRange() {
			res.Ranges++
		}
	}
	el := time.Since(start)
	res.DurationMS, res.Duration = el.Milliseconds(), humanDuration(el)
	progress(wire.Progress{Stage: "done", Done: int64(res.Loaded), Total: total, Unit: "rows", Message: "loaded"})
	return res, nil
}

func feedView(st stack.FeedState, now time.Time) wire.FeedView {
	v := wire.FeedView{Feed: st.Feed, Alias: st.Alias, Live: st.Live, Index: st.Index, Total: st.Total,
		Ranges: st.Ranges, LoadedAt: st.LoadedAt, FirstSeen: st.FirstSeen, Others: st.Others}
	if len(st.PerLevel) > 0 {
		v.PerLevel = map[string]int64{}
		for l, n := range st.PerLevel {
			v.PerLevel[strconv.Itoa(l)] = n
		}
	}
	if !st.LoadedAt.IsZero() {
		age := now.Sub(st.LoadedAt)
		v.AgeS, v.Age = age.Seconds(), humanDuration(age)
	}
	return v
}

// parseFeedArgs parses the feed the args carry, or the file they name.
func parseFeedArgs(ctx context.Context, a wire.FeedLoadArgs, source string, opts correlation.FeedOptions) (*correlation.IndicatorSet, []correlation.FeedReport, error) {
	if a.Content == nil {
		return engine.LoadFeedFiles(ctx, []string{a.File}, opts)
	}
	set, rep, err := engine.LoadFeed(ctx, bytes.NewReader(a.Content), source, opts)
	return set, []correlation.FeedReport{rep}, err
}

func (d Deps) feedStatus(ctx context.Context, a wire.FeedStatusArgs, secrets map[string]string, s plugin.Stream) (wire.FeedStatusResult, error) {
	c, err := d.connect(ctx, wire.OpFeedStatus.Name, a.Settings, secrets)
	if err != nil {
		return wire.FeedStatusResult{}, err
	}
	names, err := feedNames(ctx, c, a.Name, a.Settings)
	if err != nil {
		return wire.FeedStatusResult{}, err
	}
	now := d.Now().UTC()
	res := wire.FeedStatusResult{Cluster: c.Info().String(), Now: now, Feeds: []wire.FeedView{}}
	for _, n := range names {
		st, err := stack.FeedStatus(ctx, c, n)
		if err != nil {
			return wire.FeedStatusResult{}, fmt.Errorf("feed.status %s: %w", n, err)
		}
		res.Feeds = append(res.Feeds, feedView(st, now))
	}
	return res, nil
}

// feedNames is name when given, else every live feed plus the settings'
// indicator feed.
func feedNames(ctx context.Context, c *cluster.Client, name string, s wire.Settings) ([]string, error) {
	if name != "" {
		if err := stack.CheckFeedName(name); err != nil {
			return nil, fmt.Errorf("%w: %w", engine.ErrConfig, err)
		}
		return []string{name}, nil
	}
	names, err := stack.Feeds(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("list feeds: %w", err)
	}
	if s.Cluster != nil && s.Cluster.IndicatorFeed != "" {
		found := false
		for _, n := range names {
			found = found || n == s.Cluster.IndicatorFeed
		}
		if !found {
			names = append(names, s.Cluster.IndicatorFeed)
		}
	}
	return names, nil
}
