package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/internal/engine"
)

// FeedLoadArgs are the args of feed.load.
type FeedLoadArgs struct {
	Settings engine.Settings `json:"settings"`
	File     string          `json:"file"`
	Name     string          `json:"name,omitempty"` // default "ipsum"
	MinLevel *int            `json:"min_level,omitempty"`
	// AllowEmpty lets a feed that parses to no indicator replace the live
	// one (refused by default: an empty download must not wipe the feed).
	AllowEmpty bool `json:"allow_empty,omitempty"`
	// KeepPrevious is how many superseded load indices stay for rollback
	// (default 1).
	KeepPrevious int `json:"keep_previous,omitempty"`
}

// FeedLoadResult is the answer of feed.load.
type FeedLoadResult struct {
	Feed       string                   `json:"feed"`
	Alias      string                   `json:"alias"`
	Index      string                   `json:"index"`
	Previous   string                   `json:"previous,omitempty"`
	FirstLoad  bool                     `json:"first_load"`
	LoadedAt   time.Time                `json:"loaded_at"`
	Loaded     int                      `json:"loaded"`  // documents in the new live index
	Added      int                      `json:"added"`   // not in the previous live feed
	Kept       int                      `json:"kept"`    // in both (first_seen carried over)
	Removed    int                      `json:"removed"` // in the previous feed only
	PerLevel   map[string]int           `json:"per_level"`
	Ranges     int                      `json:"ranges"`
	Deleted    []string                 `json:"deleted_indices,omitempty"`
	Warnings   []string                 `json:"warnings,omitempty"`
	ParseMS    int64                    `json:"parse_ms"`
	LoadMS     int64                    `json:"load_ms"`
	DurationMS int64                    `json:"duration_ms"`
	Duration   string                   `json:"duration"`
	Parse      []correlation.FeedReport `json:"parse"` // per file: lines, invalid (with line numbers), dropped
}

func (d Deps) feedLoad(ctx context.Context, raw json.RawMessage, secrets map[string]string, progress func(engine.Progress)) (json.RawMessage, error) {
	start := time.Now()
	var a FeedLoadArgs
	if err := decode(OpFeedLoad, raw, &a); err != nil {
		return nil, err
	}
	if a.File == "" {
		return nil, fmt.Errorf("%w: feed.load: no feed file (--file)", engine.ErrConfig)
	}
	name := a.Name
	if name == "" {
		name = "ipsum"
	}
	if err := cluster.CheckFeedName(name); err != nil {
		return nil, fmt.Errorf("%w: %w", engine.ErrConfig, err)
	}
	minLevel := a.Settings.MinLevel
	if a.MinLevel != nil {
		minLevel = *a.MinLevel
	}
	if minLevel < 0 {
		return nil, fmt.Errorf("%w: feed.load: min level %d: want 0 or more", engine.ErrConfig, minLevel)
	}
	// Parse first: a file that cannot be read fails before the cluster is
	// touched.
	progress(engine.Progress{Stage: "feed", Message: "parsing " + a.File})
	set, reps, err := engine.LoadFeedFiles(ctx, []string{a.File}, correlation.FeedOptions{
		Name: name, MinLevel: minLevel, KeepNonGlobal: a.Settings.KeepNonGlobal,
	})
	if err != nil {
		return nil, fmt.Errorf("feed.load: %w", err)
	}
	parsed := time.Now()
	if set.Len() == 0 && !a.AllowEmpty {
		rep := reps[0]
		return nil, fmt.Errorf("%w: feed.load: %s holds no indicator to load (%d lines: %d invalid, %d below level %d, %d comments); "+
			"the live feed %s is unchanged (set allow_empty=true to load an empty feed on purpose)",
			engine.ErrConfig, a.File, rep.Lines, rep.Invalid, rep.BelowLevel, minLevel, rep.Comments, cluster.FeedAlias(name))
	}

	c, err := d.connect(ctx, OpFeedLoad, a.Settings, secrets)
	if err != nil {
		return nil, err
	}
	total := int64(set.Len())
	progress(engine.Progress{Stage: "feed", Total: total, Unit: "rows", Message: "loading " + cluster.FeedAlias(name)})
	lr, err := c.LoadFeed(ctx, name, set.All(), cluster.LoadOptions{
		Now:          d.Now,
		KeepPrevious: a.KeepPrevious,
		Progress: func(written int) {
			progress(engine.Progress{Stage: "feed", Done: int64(written), Total: total, Unit: "rows"})
		},
	})
	if err != nil {
		var fe *cluster.FeedLoadError
		if errors.As(err, &fe) {
			return nil, err // says why and that the live feed is unchanged
		}
		return nil, fmt.Errorf("feed.load %s: %w (the live feed is unchanged)", name, err)
	}
	res := FeedLoadResult{
		Feed: lr.Feed, Alias: lr.Alias, Index: lr.Index, Previous: lr.Previous, FirstLoad: lr.FirstLoad,
		LoadedAt: lr.LoadedAt, Loaded: lr.Written, Added: len(lr.Added), Kept: lr.Kept, Removed: lr.Removed,
		PerLevel: map[string]int{}, Deleted: lr.Deleted, Warnings: lr.Warnings, Parse: reps,
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
	progress(engine.Progress{Stage: "done", Done: int64(res.Loaded), Total: total, Unit: "rows", Message: "loaded"})
	return json.Marshal(res)
}

// FeedStatusArgs are the args of feed.status.
type FeedStatusArgs struct {
	Settings engine.Settings `json:"settings"`
	// Name selects one feed; empty lists every feed with a live alias
	// (and the settings' indicator_feed even when it is not live).
	Name string `json:"name,omitempty"`
}

// FeedStatusResult is the answer of feed.status.
type FeedStatusResult struct {
	Cluster string     `json:"cluster"`
	Now     time.Time  `json:"now"`
	Feeds   []FeedView `json:"feeds"`
}

// FeedView is one feed's status, with the levels keyed by string and the
// age in words.
type FeedView struct {
	Feed      string           `json:"feed"`
	Alias     string           `json:"alias"`
	Live      bool             `json:"live"`
	Index     string           `json:"index,omitempty"`
	Total     int64            `json:"total"`
	Ranges    int64            `json:"ranges"`
	PerLevel  map[string]int64 `json:"per_level,omitempty"`
	LoadedAt  time.Time        `json:"loaded_at,omitzero"`
	AgeS      float64          `json:"age_seconds,omitempty"`
	Age       string           `json:"age,omitempty"`
	FirstSeen time.Time        `json:"oldest_first_seen,omitzero"`
	Others    []string         `json:"other_indices,omitempty"`
}

func feedView(st cluster.FeedStatus, now time.Time) FeedView {
	v := FeedView{Feed: st.Feed, Alias: st.Alias, Live: st.Live, Index: st.Index, Total: st.Total,
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

func (d Deps) feedStatus(ctx context.Context, raw json.RawMessage, secrets map[string]string, _ func(engine.Progress)) (json.RawMessage, error) {
	var a FeedStatusArgs
	if err := decode(OpFeedStatus, raw, &a); err != nil {
		return nil, err
	}
	c, err := d.connect(ctx, OpFeedStatus, a.Settings, secrets)
	if err != nil {
		return nil, err
	}
	names, err := feedNames(ctx, c, a.Name, a.Settings)
	if err != nil {
		return nil, err
	}
	now := d.Now().UTC()
	res := FeedStatusResult{Cluster: c.Info().String(), Now: now, Feeds: []FeedView{}}
	for _, n := range names {
		st, err := c.FeedStatus(ctx, n)
		if err != nil {
			return nil, fmt.Errorf("feed.status %s: %w", n, err)
		}
		res.Feeds = append(res.Feeds, feedView(st, now))
	}
	return json.Marshal(res)
}

// feedNames is name when given, else every live feed plus the settings'
// indicator feed.
func feedNames(ctx context.Context, c *cluster.Client, name string, s engine.Settings) ([]string, error) {
	if name != "" {
		if err := cluster.CheckFeedName(name); err != nil {
			return nil, fmt.Errorf("%w: %w", engine.ErrConfig, err)
		}
		return []string{name}, nil
	}
	names, err := c.Feeds(ctx)
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
