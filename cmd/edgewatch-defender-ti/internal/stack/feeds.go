package stack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/dashboards"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// The indicator lookup index. A feed named N is served by the alias
// edgewatch-indicators-N, which points at one concrete index
// edgewatch-indicators-N-<UTC load time>. A load writes a fresh concrete
// index, verifies it, and swaps the alias in one _aliases call, so readers
// see the old feed or the new one, never a half-loaded one. After a swap the
// previous index is kept (KeepPrevious, default 1) for rollback — point the
// alias back at it with one _aliases call — and older ones are deleted.

var (
	feedNameRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	loadStampRE   = regexp.MustCompile(`^[0-9]{8}t[0-9]{9}z$`)
	errNoLiveFeed = errors.New("no live feed")
)

// ErrNoFeed: the feed has no live index (never loaded, or its alias was
// removed). It matches cluster.ErrNotFound too.
var ErrNoFeed = fmt.Errorf("%w: %w", cluster.ErrNotFound, errNoLiveFeed)

// noFeedError says which feed is not loaded and how to load it, in one
// line. It matches ErrNoFeed (and so cluster.ErrNotFound).
type noFeedError struct{ name string }

func (e *noFeedError) Error() string {
	name := ""
	if e.name != wire.DefaultFeedName {
		name = " --name " + e.name
	}
	return fmt.Sprintf("feed %s is not loaded (no alias %s): run edgewatch feed load%s --file FEED", e.name, wire.FeedAlias(e.name), name)
}

func (e *noFeedError) Is(target error) bool {
	return target == ErrNoFeed || errors.Is(ErrNoFeed, target)
}

// CheckFeedName accepts lower-case letters, digits, '-' and '_' (index name
// rules), up to 64 characters.
func CheckFeedName(name string) error {
	if !feedNameRE.MatchString(name) {
		return cluster.ConfigErrorf("feed name %q: want lower-case letters, digits, '-' or '_' (at most 64)", name)
	}
	return nil
}

func loadIndexName(name string, t time.Time) string {
	t = t.UTC()
	return fmt.Sprintf("%s%s-%st%02d%02d%02d%03dz", wire.IndicatorIndexPrefix, name, t.Format("20060102"),
		t.Hour(), t.Minute(), t.Second(), t.Nanosecond()/1e6)
}

// isLoadIndexOf reports whether index is a concrete load index of feed name
// (and not of a feed whose name merely starts with name).
func isLoadIndexOf(name, index string) bool {
	rest, ok := strings.CutPrefix(index, wire.IndicatorIndexPrefix+name+"-")
	return ok && loadStampRE.MatchString(rest)
}

// LoadOptions tunes LoadFeed.
type LoadOptions struct {
	// Now is the load time (loaded_at, last_seen, the index name); default
	// time.Now.
	Now func() time.Time
	// KeepPrevious is how many superseded load indices stay after the swap
	// (rollback); 0 means 1, negative keeps none.
	KeepPrevious int
	// Bulk tunes the writes (refresh is handled by the load itself).
	Bulk cluster.BulkOptions
	// Progress, when set, is called after each bulk request with the
	// documents written so far.
	Progress func(written int)
}

// LoadResult is what a successful load did.
type LoadResult struct {
	Feed      string        `json:"feed"`
	Alias     string        `json:"alias"`
	Index     string        `json:"index"`    // now live
	Previous  string        `json:"previous"` // live before ("" on the first load)
	LoadedAt  time.Time     `json:"loaded_at"`
	Written   int           `json:"written"`
	FirstLoad bool          `json:"first_load"`
	Kept      int           `json:"kept"`    // present before and now: first_seen carried over
	Removed   int           `json:"removed"` // present before, gone now
	Deleted   []string      `json:"deleted,omitempty"`
	Duration  time.Duration `json:"duration"`
	// Added are the indicators that were not in the previous live feed
	// (every indicator on a first load): retro-hunt re-scans for these.
	Added []correlation.Indicator `json:"-"`
	// Warnings are non-fatal problems (an old index that could not be
	// deleted).
	Warnings []string `json:"warnings,omitempty"`
}

// FeedLoadError explains a failed load. The live feed is untouched.
type FeedLoadError struct {
	Feed    string
	Stage   string // "read previous", "create index", "write", "verify", "swap"
	Index   string // the half-written index (deleted unless Cleanup says otherwise)
	Live    string // what the alias still serves ("" if nothing)
	Cleanup string // "deleted" or why not
	Err     error
}

func (e *FeedLoadError) Error() string {
	live := e.Live
	if live == "" {
		live = "nothing"
	}
	return fmt.Sprintf("load feed %s: %s failed: %v; the live feed is unchanged (alias %s serves %s); new index %s %s",
		e.Feed, e.Stage, e.Err, wire.FeedAlias(e.Feed), live, e.Index, e.Cleanup)
}

func (e *FeedLoadError) Unwrap() error { return e.Err }

// indicatorDoc is one document of the lookup index.
type indicatorDoc struct {
	Value     string    `json:"value"`
	IP        string    `json:"ip,omitempty"`
	Range     string    `json:"range,omitempty"`
	Count     int       `json:"count"`
	Level     int       `json:"level"`
	Feed      string    `json:"feed"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	LoadedAt  time.Time `json:"loaded_at"`
}

// LoadFeed loads indicators (which must be distinct, as IndicatorSet.All
// yields them) as feed name: into a fresh index, verified by count after a
// refresh, then made live by one atomic alias swap. first_seen is carried
// over from the previous live index for indicators that persist; last_seen
// and loaded_at are the load time. A failed or partial load never touches
// the alias, deletes its own index and returns a *FeedLoadError saying why.
func LoadFeed(ctx context.Context, c *cluster.Client, name string, indicators iter.Seq[correlation.Indicator], opts LoadOptions) (LoadResult, error) {
	start := time.Now()
	if err := CheckFeedName(name); err != nil {
		return LoadResult{}, err
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	loadedAt := now().UTC().Truncate(time.Millisecond)
	res := LoadResult{Feed: name, Alias: wire.FeedAlias(name), LoadedAt: loadedAt}

	live, err := aliasIndices(ctx, c, res.Alias)
	if err != nil {
		return res, loadFailed(ctx, c, &res, "resolve alias", "", err)
	}
	if len(live) > 0 {
		res.Previous = live[len(live)-1] // newest by name (= load time)
	}
	res.FirstLoad = res.Previous == ""
	prev, err := firstSeen(ctx, c, res.Previous, loadedAt)
	if err != nil {
		return res, loadFailed(ctx, c, &res, "read previous", "", err)
	}
	index := loadIndexName(name, loadedAt)
	if err := createLoadIndex(ctx, c, index); err != nil {
		return res, loadFailed(ctx, c, &res, "create index", "", err)
	}
	res.Index = index
	if err := writeIndicators(ctx, c, &res, indicators, prev, opts); err != nil {
		return res, loadFailed(ctx, c, &res, "write", index, err)
	}
	if err := verifyLoadIndex(ctx, c, index, res.Written); err != nil {
		return res, loadFailed(ctx, c, &res, "verify", index, err)
	}
	if err := swapAlias(ctx, c, res.Alias, live, index); err != nil {
		return res, loadFailed(ctx, c, &res, "swap", index, err)
	}
	res.Deleted, res.Warnings = pruneLoadIndices(ctx, c, name, index, opts.KeepPrevious)
	res.Duration = time.Since(start)
	c.Logger().Info("feed loaded", "feed", name, "index", index, "written", res.Written,
		"added", len(res.Added), "removed", res.Removed, "duration", res.Duration)
	return res, nil
}

// loadFailed deletes the half-written index (if any) and says why the
// load failed and that the live feed is unchanged.
func loadFailed(ctx context.Context, c *cluster.Client, res *LoadResult, stage, index string, err error) error {
	e := &FeedLoadError{Feed: res.Feed, Stage: stage, Index: index, Live: res.Previous, Err: err, Cleanup: "was not created"}
	if index != "" {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if derr := deleteIndices(cctx, c, []string{index}); derr != nil && !errors.Is(derr, cluster.ErrNotFound) {
			e.Cleanup = "could not be deleted: " + derr.Error()
		} else {
			e.Cleanup = "was deleted"
		}
	}
	return e
}

// firstSeen reads the first_seen of every indicator of the live index,
// keyed by value (unix ms saves memory); none on a first load.
func firstSeen(ctx context.Context, c *cluster.Client, live string, loadedAt time.Time) (map[string]int64, error) {
	prev := map[string]int64{}
	if live == "" {
		return prev, nil
	}
	err := scanIndicatorDocs(ctx, c, live, []string{"first_seen"}, func(d *indicatorDoc) error {
		if !d.FirstSeen.IsZero() {
			prev[d.Value] = d.FirstSeen.UnixMilli()
		} else {
			prev[d.Value] = loadedAt.UnixMilli()
		}
		return nil
	})
	return prev, err
}

// writeIndicators bulk-writes the indicators into the load index, carrying
// first_seen over from prev, and counts them in res: written, kept, added
// and removed (what prev holds that the load did not).
func writeIndicators(ctx context.Context, c *cluster.Client, res *LoadResult, indicators iter.Seq[correlation.Indicator], prev map[string]int64, opts LoadOptions) error {
	bopts := opts.Bulk
	bopts.Refresh = ""
	if opts.Progress != nil {
		written := 0
		bopts.OnRequest = func(n int) { written += n; opts.Progress(written) }
	}
	w := c.NewBulkWriter(res.Index, bopts)
	for ind := range indicators {
		value := ind.Value()
		doc := indicatorDoc{Value: value, Count: ind.Count, Level: ind.Level, Feed: ind.Feed,
			FirstSeen: res.LoadedAt, LastSeen: res.LoadedAt, LoadedAt: res.LoadedAt}
		if doc.Feed == "" {
			doc.Feed = res.Feed
		}
		if ind.IsRange() {
			doc.Range = value
		} else {
			doc.IP = value
		}
		if ms, ok := prev[value]; ok {
			doc.FirstSeen = time.UnixMilli(ms).UTC()
			delete(prev, value)
			res.Kept++
		} else {
			res.Added = append(res.Added, ind)
		}
		if err := w.Add(ctx, cluster.Doc{ID: value, Source: cluster.JSON(doc)}); err != nil {
			return err
		}
	}
	br, err := w.Close(ctx)
	if err != nil {
		return err
	}
	if br.AlreadyPresent > 0 {
		return fmt.Errorf("%d indicators were given twice (the input must be distinct)", br.AlreadyPresent)
	}
	res.Written, res.Removed = br.Created, len(prev)
	return nil
}

// verifyLoadIndex makes the load index searchable and checks it holds
// what was written.
func verifyLoadIndex(ctx context.Context, c *cluster.Client, index string, written int) error {
	if err := finishLoadIndex(ctx, c, index); err != nil {
		return err
	}
	n, err := count(ctx, c, index)
	if err != nil {
		return err
	}
	if n != int64(written) {
		return fmt.Errorf("index holds %d documents after refresh, %d were written", n, written)
	}
	return nil
}

// swapAlias points alias at index instead of live, in one _aliases call:
// readers see the old feed or the new one, never both or none.
func swapAlias(ctx context.Context, c *cluster.Client, alias string, live []string, index string) error {
	actions := []any{}
	for _, old := range live {
		actions = append(actions, map[string]any{"remove": map[string]any{"index": old, "alias": alias}})
	}
	actions = append(actions, map[string]any{"add": map[string]any{"index": index, "alias": alias}})
	swap := cluster.Request{Method: http.MethodPost, Path: "/_aliases", Body: cluster.JSON(map[string]any{"actions": actions})}
	return c.Call(ctx, "swap alias "+alias, swap, nil)
}

// createLoadIndex creates a load index with the indicator template's
// settings and mappings spelled out (so a load does not depend on the
// template being installed) and refresh off while loading.
func createLoadIndex(ctx context.Context, c *cluster.Client, index string) error {
	t, ok := dashboards.IndexTemplate(dashboards.IndicatorsTemplate)
	if !ok {
		return cluster.ConfigErrorf("bundled template %s missing", dashboards.IndicatorsTemplate)
	}
	var tb struct {
		Template struct {
			Settings map[string]any  `json:"settings"`
			Mappings json.RawMessage `json:"mappings"`
		} `json:"template"`
	}
	if err := json.Unmarshal(t.Body, &tb); err != nil {
		return cluster.ConfigErrorf("bundled template %s: %v", t.Name, err)
	}
	settings := tb.Template.Settings
	if settings == nil {
		settings = map[string]any{}
	}
	idx, _ := settings["index"].(map[string]any)
	if idx == nil {
		idx = map[string]any{}
		settings["index"] = idx
	}
	idx["refresh_interval"] = "-1"
	body := cluster.JSON(map[string]any{"settings": settings, "mappings": tb.Template.Mappings})
	return c.Call(ctx, "create index "+index, cluster.Request{Method: http.MethodPut, Path: cluster.DocPath(index), Body: body}, nil)
}

// finishLoadIndex restores the refresh interval and refreshes.
func finishLoadIndex(ctx context.Context, c *cluster.Client, index string) error {
	set := cluster.Request{Method: http.MethodPut, Path: cluster.DocPath(index, "_settings"),
		Body: []byte(`{"index":{"refresh_interval":null}}`)}
	if err := c.Call(ctx, "reset refresh interval of "+index, set, nil); err != nil {
		return err
	}
	return c.Refresh(ctx, index)
}

func count(ctx context.Context, c *cluster.Client, index string) (int64, error) {
	var r struct {
		Count int64 `json:"count"`
	}
	err := c.Call(ctx, "count "+index, cluster.Request{Method: http.MethodGet, Path: cluster.DocPath(index, "_count")}, &r)
	return r.Count, err
}

// aliasIndices lists the indices alias points at, sorted; none when the
// alias does not exist.
func aliasIndices(ctx context.Context, c *cluster.Client, alias string) ([]string, error) {
	m, err := aliases(ctx, c, "resolve alias "+alias, alias)
	return slices.Sorted(maps.Keys(m)), err
}

// aliases is GET edgewatch-indicators-*/_alias/name: the indicator indices
// and their aliases, none when nothing matches. The index pattern is in the
// path because a role may read aliases of the indices it covers only:
// OpenSearch authorizes an unscoped GET _alias/name on every index and
// refuses it (403) to the detector.
func aliases(ctx context.Context, c *cluster.Client, op, name string) (map[string]struct {
	Aliases map[string]json.RawMessage `json:"aliases"`
}, error) {
	req := cluster.Request{Method: http.MethodGet, Path: cluster.DocPath(wire.IndicatorsPattern, "_alias", name)}
	resp, err := c.Do(ctx, req)
	if err != nil {
		return nil, err
	}
	if resp.Status == 404 {
		return nil, nil
	}
	if resp.Status != 200 {
		return nil, cluster.StatusError(op, req, resp.Status, resp.Body)
	}
	var m map[string]struct {
		Aliases map[string]json.RawMessage `json:"aliases"`
	}
	if err := json.Unmarshal(resp.Body, &m); err != nil {
		return nil, &cluster.Error{Op: op, Status: 200, Downstream: true, Reason: "cannot decode answer"}
	}
	return m, nil
}

// loadIndices lists the concrete load indices of feed name, oldest first.
func loadIndices(ctx context.Context, c *cluster.Client, name string) ([]string, error) {
	all, err := listIndices(ctx, c, wire.IndicatorIndexPrefix+name+"-*")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, idx := range all {
		if isLoadIndexOf(name, idx) {
			out = append(out, idx)
		}
	}
	return out, nil
}

// pruneLoadIndices deletes load indices of name older than current, keeping
// the newest keep of them. Indices newer than current (a concurrent load in
// progress) are left alone. Failures are warnings: the load has succeeded.
func pruneLoadIndices(ctx context.Context, c *cluster.Client, name, current string, keep int) (deleted, warnings []string) {
	if keep == 0 {
		keep = 1
	}
	keep = max(keep, 0)
	all, err := loadIndices(ctx, c, name)
	if err != nil {
		return nil, []string{"list old indices: " + err.Error()}
	}
	var older []string
	for _, idx := range all {
		if idx < current {
			older = append(older, idx)
		}
	}
	if len(older) <= keep {
		return nil, nil
	}
	victims := older[:len(older)-keep]
	if err := deleteIndices(ctx, c, victims); err != nil {
		return nil, []string{"delete old indices: " + err.Error()}
	}
	return victims, nil
}

func deleteIndices(ctx context.Context, c *cluster.Client, indices []string) error {
	if len(indices) == 0 {
		return nil
	}
	for _, idx := range indices {
		if strings.ContainsAny(idx, "*?,") || idx == "" || idx == "_all" {
			return cluster.ConfigErrorf("refusing to delete index pattern %q", idx)
		}
	}
	req := cluster.Request{Method: http.MethodDelete, Path: "/" + strings.Join(indices, ",")}
	return c.Call(ctx, "delete "+strings.Join(indices, ","), req, nil)
}

// scanIndicatorDocs streams the documents of one concrete index sorted by
// value with search_after. A load index does not change once live, so no
// point in time is needed for a consistent read. Fields come from doc values
// (docvalue_fields), not _source: no stored-field decompression; value is
// the sort key itself. fields may name count, level, feed and first_seen.
func scanIndicatorDocs(ctx context.Context, c *cluster.Client, index string, fields []string, fn func(*indicatorDoc) error) error {
	const page = 10000 // the largest page without raising index.max_result_window
	dv := make([]any, 0, len(fields))
	for _, f := range fields {
		if f == "first_seen" {
			dv = append(dv, map[string]any{"field": f, "format": "epoch_millis"})
		} else {
			dv = append(dv, f)
		}
	}
	var after []any
	var d indicatorDoc
	for {
		body := map[string]any{
			"size":             page,
			"sort":             []any{map[string]any{"value": "asc"}},
			"_source":          false,
			"docvalue_fields":  dv,
			"track_total_hits": false,
		}
		if after != nil {
			body["search_after"] = after
		}
		req := cluster.Request{Method: http.MethodPost, Path: cluster.DocPath(index, "_search"), Body: cluster.JSON(body),
			Query: url.Values{"filter_path": {"hits.hits.fields,hits.hits.sort"}}}
		// Call refuses an answer with failed shards (cluster.ErrPartialResults).
		var r struct {
			Hits struct {
				Hits []struct {
					Fields struct {
						Count     []int    `json:"count"`
						Level     []int    `json:"level"`
						Feed      []string `json:"feed"`
						FirstSeen []any    `json:"first_seen"`
					} `json:"fields"`
					Sort []any `json:"sort"`
				} `json:"hits"`
			} `json:"hits"`
		}
		if err := c.Call(ctx, "read indicators from "+index, req, &r); err != nil {
			return err
		}
		for i := range r.Hits.Hits {
			h := &r.Hits.Hits[i]
			d = indicatorDoc{}
			if len(h.Sort) > 0 {
				d.Value, _ = h.Sort[0].(string)
			}
			if len(h.Fields.Count) > 0 {
				d.Count = h.Fields.Count[0]
			}
			if len(h.Fields.Level) > 0 {
				d.Level = h.Fields.Level[0]
			}
			if len(h.Fields.Feed) > 0 {
				d.Feed = h.Fields.Feed[0]
			}
			if len(h.Fields.FirstSeen) > 0 {
				d.FirstSeen = epochMillis(h.Fields.FirstSeen[0])
			}
			if err := fn(&d); err != nil {
				return err
			}
		}
		if len(r.Hits.Hits) < page {
			return nil
		}
		after = r.Hits.Hits[len(r.Hits.Hits)-1].Sort
	}
}

// epochMillis reads a date doc value formatted epoch_millis (a string, or
// a number on some versions).
func epochMillis(v any) time.Time {
	var ms int64
	switch x := v.(type) {
	case string:
		f, err := strconv.ParseFloat(x, 64)
		if err != nil {
			return time.Time{}
		}
		ms = int64(f)
	case float64:
		ms = int64(x)
	default:
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// ScanIndicators streams the live indicators of feed name, sorted by value.
// The alias is resolved once, so a swap during the scan does not mix two
// loads. ErrNoFeed when the feed has no live index.
func ScanIndicators(ctx context.Context, c *cluster.Client, name string, fn func(correlation.Indicator) error) (index string, err error) {
	if err := CheckFeedName(name); err != nil {
		return "", err
	}
	live, err := aliasIndices(ctx, c, wire.FeedAlias(name))
	if err != nil {
		return "", err
	}
	if len(live) == 0 {
		return "", &noFeedError{name: name}
	}
	index = live[len(live)-1]
	var bad int
	err = scanIndicatorDocs(ctx, c, index, []string{"count", "level", "feed"}, func(d *indicatorDoc) error {
		p, perr := correlation.ParsePrefix(d.Value)
		if perr != nil {
			bad++
			return nil
		}
		return fn(correlation.Indicator{Prefix: p, Count: d.Count, Level: d.Level, Feed: d.Feed})
	})
	if err == nil && bad > 0 {
		c.Logger().Warn("indicator documents with an unparsable value were skipped", "index", index, "count", bad)
	}
	return index, err
}

// ReadIndicators loads the live indicators of feed name into a set, the
// detection's indicator step in cluster mode. Indicators are taken as
// stored (non-global ones too: the load decided what to keep).
func ReadIndicators(ctx context.Context, c *cluster.Client, name string) (*correlation.IndicatorSet, error) {
	set := correlation.NewIndicatorSet(name)
	_, err := ScanIndicators(ctx, c, name, func(ind correlation.Indicator) error {
		set.Add(ind, true)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return set, nil
}

// FeedState is a feed's live index, as feed status shows it.
type FeedState struct {
	Feed      string        `json:"feed"`
	Alias     string        `json:"alias"`
	Index     string        `json:"index,omitempty"` // the live index
	Live      bool          `json:"live"`
	Total     int64         `json:"total"`
	Ranges    int64         `json:"ranges"`
	PerLevel  map[int]int64 `json:"per_level,omitempty"`
	LoadedAt  time.Time     `json:"loaded_at,omitzero"`
	Age       time.Duration `json:"age,omitempty"`
	Others    []string      `json:"others,omitempty"` // other load indices (rollback, leftovers)
	FirstSeen time.Time     `json:"oldest_first_seen,omitzero"`
}

// FeedStatus reports the live index of feed name: documents per level,
// ranges, load time and age. A feed that was never loaded is Live=false
// with a nil error.
func FeedStatus(ctx context.Context, c *cluster.Client, name string) (FeedState, error) {
	if err := CheckFeedName(name); err != nil {
		return FeedState{}, err
	}
	st := FeedState{Feed: name, Alias: wire.FeedAlias(name)}
	live, err := aliasIndices(ctx, c, st.Alias)
	if err != nil {
		return st, err
	}
	all, err := loadIndices(ctx, c, name)
	if err != nil {
		return st, err
	}
	if len(live) > 0 {
		st.Index, st.Live = live[len(live)-1], true
	}
	for _, idx := range all {
		if idx != st.Index {
			st.Others = append(st.Others, idx)
		}
	}
	if !st.Live {
		return st, nil
	}
	body := map[string]any{
		"size": 0, "track_total_hits": true,
		"aggs": map[string]any{
			"levels":     map[string]any{"terms": map[string]any{"field": "level", "size": 64}},
			"loaded":     map[string]any{"max": map[string]any{"field": "loaded_at"}},
			"first_seen": map[string]any{"min": map[string]any{"field": "first_seen"}},
			"ranges":     map[string]any{"filter": map[string]any{"exists": map[string]any{"field": "range"}}},
		},
	}
	var r struct {
		Hits struct {
			Total struct {
				Value int64 `json:"value"`
			} `json:"total"`
		} `json:"hits"`
		Aggs struct {
			Levels struct {
				Buckets []struct {
					Key      int   `json:"key"`
					DocCount int64 `json:"doc_count"`
				} `json:"buckets"`
			} `json:"levels"`
			Loaded    struct{ Value *float64 } `json:"loaded"`
			FirstSeen struct{ Value *float64 } `json:"first_seen"`
			Ranges    struct {
				DocCount int64 `json:"doc_count"`
			} `json:"ranges"`
		} `json:"aggregations"`
	}
	req := cluster.Request{Method: http.MethodPost, Path: cluster.DocPath(st.Index, "_search"), Body: cluster.JSON(body)}
	if err := c.Call(ctx, "feed status "+name, req, &r); err != nil {
		return st, err
	}
	st.Total = r.Hits.Total.Value
	st.Ranges = r.Aggs.Ranges.DocCount
	st.PerLevel = map[int]int64{}
	for _, b := range r.Aggs.Levels.Buckets {
		st.PerLevel[b.Key] = b.DocCount
	}
	if v := r.Aggs.Loaded.Value; v != nil {
		st.LoadedAt = time.UnixMilli(int64(*v)).UTC()
		st.Age = time.Since(st.LoadedAt)
	}
	if v := r.Aggs.FirstSeen.Value; v != nil {
		st.FirstSeen = time.UnixMilli(int64(*v)).UTC()
	}
	return st, nil
}

// Feeds lists the feeds that have a live alias, sorted.
func Feeds(ctx context.Context, c *cluster.Client) ([]string, error) {
	m, err := aliases(ctx, c, "list feeds", wire.IndicatorsPattern)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, v := range m {
		for a := range v.Aliases {
			if n, ok := strings.CutPrefix(a, wire.IndicatorIndexPrefix); ok && feedNameRE.MatchString(n) {
				seen[n] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(seen)), nil
}
