package wire

import "time"

// DefaultFeedName is the feed a load or a run uses when none is named.
const DefaultFeedName = "ipsum"

// MaxFeedContent bounds FeedLoadArgs.Content: the args travel in one gRPC
// message (64 MiB, base64 inflates by a third). A larger feed is loaded
// from a file the plugin reads.
const MaxFeedContent = 40 << 20

// FeedLoadArgs are the args of OpFeedLoad. The feed is File (a path the
// plugin reads) or Content (the feed itself, e.g. the host's stdin).
type FeedLoadArgs struct {
	Settings Settings `json:"settings"`
	File     string   `json:"file,omitempty"`
	Content  []byte   `json:"content,omitzero"` // nil: read File
	Name     string   `json:"name,omitempty"`   // default DefaultFeedName
	MinLevel *int     `json:"min_level,omitempty"`
	// AllowEmpty lets a feed that parses to no indicator replace the live
	// one (refused by default: an empty download must not wipe the feed).
	AllowEmpty bool `json:"allow_empty,omitempty"`
	// KeepPrevious is how many superseded load indices stay for rollback
	// (default 1).
	KeepPrevious int `json:"keep_previous,omitempty"`
}

// FeedLoadResult is the answer of OpFeedLoad.
type FeedLoadResult struct {
	Feed       string         `json:"feed"`
	Alias      string         `json:"alias"`
	Index      string         `json:"index"`
	Previous   string         `json:"previous,omitempty"`
	FirstLoad  bool           `json:"first_load"`
	LoadedAt   time.Time      `json:"loaded_at"`
	Loaded     int            `json:"loaded"`  // documents in the new live index
	Added      int            `json:"added"`   // not in the previous live feed
	Kept       int            `json:"kept"`    // in both (first_seen carried over)
	Removed    int            `json:"removed"` // in the previous feed only
	PerLevel   map[string]int `json:"per_level"`
	Ranges     int            `json:"ranges"`
	Deleted    []string       `json:"deleted_indices,omitempty"`
	Warnings   []string       `json:"warnings,omitempty"`
	ParseMS    int64          `json:"parse_ms"`
	LoadMS     int64          `json:"load_ms"`
	DurationMS int64          `json:"duration_ms"`
	Duration   string         `json:"duration"`
	Parse      []FeedReport   `json:"parse"` // per file: lines, invalid (with line numbers), dropped
}

// FeedStatusArgs are the args of OpFeedStatus.
type FeedStatusArgs struct {
	Settings Settings `json:"settings"`
	// Name selects one feed; empty lists every feed with a live alias
	// (and the settings' indicator_feed even when it is not live).
	Name string `json:"name,omitempty"`
}

// FeedStatusResult is the answer of OpFeedStatus.
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
