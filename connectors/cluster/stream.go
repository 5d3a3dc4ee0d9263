package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/buger/jsonparser"

	"github.com/edgewatch/edgewatch/connectors/internal/jsonscan"
)

// DefaultPageSize is the number of hits per search_after page.
const DefaultPageSize = 5000

// DefaultKeepAlive is how long a point in time lives between pages.
const DefaultKeepAlive = 2 * time.Minute

// closeTimeout bounds closing a point in time after the read ended (also
// after the caller's context was cancelled).
const closeTimeout = 10 * time.Second

// searchSpec is one streamed search: the index, the query, the _source
// filter and the sort key (the tiebreak is added by the streamer).
type searchSpec struct {
	Index     string
	Query     any
	Source    any // true, false, or {"includes": […]}
	TimeField string
	// TimeSort sorts by TimeField first (DeviceInfo ties resolve in time
	// order); the tiebreak alone is the cheapest order.
	TimeSort  bool
	PageSize  int
	KeepAlive time.Duration
	// Progress, when set, gets the running hit count and the total.
	Progress func(done, total int64)
	// CheapQuery says the query costs little next to fetching its hits
	// (the facing step); it guides the OpenSearch 2.x tiebreak choice (see
	// streamPIT).
	CheapQuery bool
}

// searchHit is one search hit. Source and Sort are slices of their page's
// answer body (parseSearchResponse): each page is read afresh, so memory is
// bounded by one page, and whatever outlives a page must be copied.
type searchHit struct {
	Index  string            `json:"_index"`
	ID     string            `json:"_id"`
	Source json.RawMessage   `json:"_source"`
	Sort   []json.RawMessage `json:"sort"`
	// Fields holds the hit's "fields" object (docvalue fields, a collapse
	// key), when the search asked for any.
	Fields json.RawMessage `json:"fields"`
}

type searchResponse struct {
	PitID string `json:"pit_id"`
	Hits  struct {
		Total *struct {
			Value int64 `json:"value"`
		} `json:"total"`
		Hits []searchHit `json:"hits"`
	} `json:"hits"`
	TimedOut bool `json:"timed_out"`
	// Aggs is the answer's "aggregations" object, when there is one.
	Aggs   json.RawMessage `json:"aggregations"`
	Shards shardCounts     `json:"_shards"`
}

// pit is an open point in time.
type pointInTime struct {
	id     string
	shards int // shards the point in time covers (0 = not reported)
}

// openPIT opens a point in time on index.
//
//	Elasticsearch: POST /{index}/_pit?keep_alive=…        → {"id": …}
//	OpenSearch:    POST /{index}/_search/point_in_time?keep_alive=… → {"pit_id": …}
func openPIT(ctx context.Context, c *Client, index string, keepAlive time.Duration) (*pointInTime, error) {
	path := "/" + index + "/_pit"
	q := url.Values{"keep_alive": {keepAliveParam(keepAlive)}}
	if c.Flavor() == OpenSearch {
		path = "/" + index + "/_search/point_in_time"
		// OpenSearch 2.x creates a point in time without the shards that
		// have no copy unless told not to (Call would refuse the answer
		// anyway, but the point in time would stay open until it expires).
		q.Set("allow_partial_pit_creation", "false")
	}
	var body struct {
		ID     string `json:"id"`
		PitID  string `json:"pit_id"`
		Shards struct {
			Total int `json:"total"`
		} `json:"_shards"`
	}
	if err := c.Call(ctx, "open point in time on "+index, Request{
		Method: http.MethodPost,
		Path:   path,
		Query:  q,
	}, &body); err != nil {
		return nil, err
	}
	id := body.ID
	if id == "" {
		id = body.PitID
	}
	if id == "" {
		return nil, fmt.Errorf("open point in time on %s: no id in answer", index)
	}
	return &pointInTime{id: id, shards: body.Shards.Total}, nil
}

// close deletes the point in time. It uses a fresh context: a cancelled read
// must still release the server's resources.
//
//	Elasticsearch: DELETE /_pit {"id": …}
//	OpenSearch:    DELETE /_search/point_in_time {"pit_id": [ … ]}
func (p *pointInTime) close(ctx context.Context, c *Client) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
	defer cancel()
	req := Request{Method: http.MethodDelete, Path: "/_pit", Body: JSON(jsonObj{"id": p.id})}
	if c.Flavor() == OpenSearch {
		req = Request{Method: http.MethodDelete, Path: "/_search/point_in_time", Body: JSON(jsonObj{"pit_id": []string{p.id}})}
	}
	err := c.Call(ctx, "close point in time", req, nil)
	if errors.Is(err, ErrNotFound) { // expired already
		return nil
	}
	return err
}

func keepAliveParam(d time.Duration) string {
	if d <= 0 {
		d = DefaultKeepAlive
	}
	return fmt.Sprintf("%ds", int(d.Round(time.Second)/time.Second))
}

// Tiebreaks of a point-in-time search_after stream: a unique per-hit sort
// key, so pages neither skip nor repeat hits.
const (
	// tiebreakShardDoc: Elasticsearch 7.12+ and OpenSearch 3.3+.
	tiebreakShardDoc = "_shard_doc"
	// tiebreakDoc: the Lucene doc id, unique only within one shard. Exact
	// for a one-shard point in time, or when everything fits in one page.
	tiebreakDoc = "_doc"
	// tiebreakID: the document id; OpenSearch 2.x has no _shard_doc, and
	// sorting on _id loads its field data, so it is only used when a
	// multi-shard read needs more than one page.
	tiebreakID = "_id"
)

// streamPIT runs spec with a point in time and search_after, calling fn for
// each hit in order. Memory is one page (two while the next page is
// prefetched). The point in time is closed on every return path, and ctx
// is checked between pages.
//
// shardDoc says whether the store sorts on _shard_doc. Without it (OpenSearch
// before 3.3) a one-shard point in time sorts on _doc, and so does a
// multi-shard read of at most one page; more pages sort on _id. Whether a
// multi-shard read fits one page is learned by a size-0 count on the point
// in time (spec.CheapQuery: the query runs twice, no hit is fetched twice),
// or else by fetching the first page sorted on _doc and starting over on _id
// when its total says more pages follow (the query runs again only then).
func streamPIT(ctx context.Context, c *Client, shardDoc bool, spec searchSpec, fn func(*searchHit) error) (err error) {
	if spec.PageSize <= 0 {
		spec.PageSize = DefaultPageSize
	}
	p, err := openPIT(ctx, c, spec.Index, spec.KeepAlive)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := p.close(ctx, c); cerr != nil && err == nil {
			err = cerr
		}
	}()
	s := &pitStream{c: c, spec: spec, pit: p}
	first, err := s.chooseTiebreak(ctx, shardDoc)
	if err != nil {
		return err
	}
	return s.pages(ctx, first, fn)
}

// pitStream is one streamed search over an open point in time.
type pitStream struct {
	c    *Client
	spec searchSpec
	pit  *pointInTime
	// tiebreak is the unique last sort key (tiebreakShardDoc, tiebreakDoc
	// or tiebreakID).
	tiebreak string
	// total is the exact number of hits when known; the first page
	// tracks it when it is not known yet.
	total int64
	known bool
}

// chooseTiebreak picks the tiebreak (see streamPIT). When it had to fetch
// the first page on _doc to decide and that page is the whole read, it
// returns the page, which the stream then starts with.
func (s *pitStream) chooseTiebreak(ctx context.Context, shardDoc bool) (*searchResponse, error) {
	switch {
	case shardDoc:
		s.tiebreak = tiebreakShardDoc
		return nil, nil
	case s.pit.shards == 1:
		s.tiebreak = tiebreakDoc
		return nil, nil
	case s.spec.CheapQuery:
		if err := s.count(ctx); err != nil {
			return nil, err
		}
		s.tiebreak = tiebreakDoc
		if !s.known || s.total > int64(s.spec.PageSize) {
			s.tiebreak = tiebreakID // several pages over several shards: _doc would skip hits
		}
		return nil, nil
	}
	return s.probe(ctx)
}

// count counts the query's hits on the point in time (size 0).
func (s *pitStream) count(ctx context.Context) error {
	sr, err := pitPage(ctx, s.c, s.spec.Index, jsonObj{
		"size": 0, "track_total_hits": true, "query": s.spec.Query,
		"pit": jsonObj{"id": s.pit.id, "keep_alive": keepAliveParam(s.spec.KeepAlive)},
	})
	if err != nil {
		return err
	}
	s.nextPIT(sr)
	if sr.Hits.Total != nil {
		s.total, s.known = sr.Hits.Total.Value, true
	}
	return nil
}

// probe fetches the first page sorted on _doc. A page that is the whole
// read is returned to be streamed; when more pages follow, _doc would skip
// hits across shards: the read starts over on _id (nothing was delivered
// yet) and the probe's total is kept.
func (s *pitStream) probe(ctx context.Context) (*searchResponse, error) {
	s.tiebreak = tiebreakDoc
	sr, err := pitPageBody(ctx, s.c, s.spec.Index, s.pageBody(nil))
	if err != nil {
		return nil, err
	}
	s.nextPIT(sr)
	s.learnTotal(sr)
	if len(sr.Hits.Hits) >= s.spec.PageSize && (sr.Hits.Total == nil || sr.Hits.Total.Value > int64(len(sr.Hits.Hits))) {
		s.tiebreak = tiebreakID
		return nil, nil
	}
	return sr, nil
}

// nextPIT keeps the point-in-time id a page answered: it may change
// between pages.
func (s *pitStream) nextPIT(sr *searchResponse) {
	if sr.PitID != "" {
		s.pit.id = sr.PitID
	}
}

// learnTotal keeps the total the first page tracked.
func (s *pitStream) learnTotal(sr *searchResponse) {
	if !s.known && sr.Hits.Total != nil {
		s.total, s.known = sr.Hits.Total.Value, true
	}
}

// pageBody is the search of the page after the sort values after (nil:
// the first page). The first page tracks the total when it is not known,
// for progress and to know the last page without asking for one more.
func (s *pitStream) pageBody(after []json.RawMessage) []byte {
	var sort []any
	if s.spec.TimeSort && s.spec.TimeField != "" {
		sort = append(sort, jsonObj{s.spec.TimeField: jsonObj{"order": "asc", "unmapped_type": "date", "missing": "_last"}})
	}
	sort = append(sort, jsonObj{s.tiebreak: jsonObj{"order": "asc"}})
	body := jsonObj{
		"size":             s.spec.PageSize,
		"query":            s.spec.Query,
		"_source":          s.spec.Source,
		"sort":             sort,
		"pit":              jsonObj{"id": s.pit.id, "keep_alive": keepAliveParam(s.spec.KeepAlive)},
		"track_total_hits": after == nil && !s.known,
	}
	if after != nil {
		body["search_after"] = after
	}
	return JSON(body)
}

// pages streams the pages in order, starting with first when the
// tiebreak choice already fetched it. While fn consumes a full page, the
// next one is already being searched and sent (one request in flight:
// memory stays two pages).
func (s *pitStream) pages(ctx context.Context, first *searchResponse, fn func(*searchHit) error) error {
	var next chan pageResult
	cancelNext := func() {}
	defer func() {
		cancelNext()
		if next != nil {
			<-next
		}
	}()
	var done int64
	for page := 0; ; page++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		var sr *searchResponse
		var err error
		switch {
		case first != nil:
			sr, first = first, nil
		case next != nil:
			r := <-next
			cancelNext()
			next, cancelNext = nil, func() {}
			sr, err = r.sr, r.err
		default:
			sr, err = pitPageBody(ctx, s.c, s.spec.Index, s.pageBody(nil))
		}
		if err != nil {
			return err
		}
		s.nextPIT(sr)
		if page == 0 {
			s.learnTotal(sr)
		}
		// A full page is followed by another, unless the exact total says
		// this was the last.
		full := len(sr.Hits.Hits) >= s.spec.PageSize && !(s.known && done+int64(len(sr.Hits.Hits)) >= s.total)
		if full {
			last := sr.Hits.Hits[len(sr.Hits.Hits)-1]
			if len(last.Sort) == 0 {
				return fmt.Errorf("search %s: hit without sort values", s.spec.Index)
			}
			next, cancelNext = s.prefetch(ctx, last.Sort)
		}
		for i := range sr.Hits.Hits {
			if err := fn(&sr.Hits.Hits[i]); err != nil {
				return err
			}
		}
		done += int64(len(sr.Hits.Hits))
		if s.spec.Progress != nil {
			s.spec.Progress(done, s.total)
		}
		if !full {
			return nil
		}
	}
}

// prefetch starts searching the page after the sort values after.
func (s *pitStream) prefetch(ctx context.Context, after []json.RawMessage) (chan pageResult, context.CancelFunc) {
	body := s.pageBody(after)
	nctx, cancel := context.WithCancel(ctx)
	ch := make(chan pageResult, 1)
	go func() {
		sr, err := pitPageBody(nctx, s.c, s.spec.Index, body)
		ch <- pageResult{sr, err}
	}()
	return ch, cancel
}

type pageResult struct {
	sr  *searchResponse
	err error
}

func pitPage(ctx context.Context, c *Client, index string, body jsonObj) (*searchResponse, error) {
	return pitPageBody(ctx, c, index, JSON(body))
}

func pitPageBody(ctx context.Context, c *Client, index string, body []byte) (*searchResponse, error) {
	op := "search " + index
	req := Request{Method: http.MethodPost, Path: "/_search", Body: body}
	resp, err := c.doer.Do(ctx, req)
	if err != nil {
		return nil, transportError(ctx, op, req, err, c.secrets)
	}
	if resp.Status < 200 || resp.Status > 299 {
		return nil, StatusError(op, req, resp.Status, resp.Body)
	}
	sr, err := parseSearchResponse(resp.Body)
	if err != nil {
		return nil, &Error{Op: op, Method: req.Method, Path: req.Path, Status: resp.Status,
			Reason: "cannot decode answer: " + err.Error(), Downstream: true}
	}
	if err := partialAnswer(op, req, sr.TimedOut, sr.Shards); err != nil {
		return nil, err
	}
	return sr, nil
}

// parseSearchResponse reads a search page without building a value per
// field: each hit's _source and sort values are slices of body (a page's
// hits alias its body, and nothing else).
func parseSearchResponse(body []byte) (*searchResponse, error) {
	sr := &searchResponse{}
	if len(bytes.TrimSpace(body)) == 0 {
		return sr, nil
	}
	it := jsonscan.NewObjIter(body)
	for it.Next() {
		var err error
		switch string(it.Key) {
		case "pit_id":
			if it.Kind == jsonscan.KindString {
				if sr.PitID, err = jsonString(it.Val); err != nil {
					return nil, fmt.Errorf("pit_id: %w", err)
				}
			}
		case "timed_out":
			sr.TimedOut = it.Kind == jsonscan.KindTrue
		case "_shards":
			if it.Kind == jsonscan.KindObject {
				sr.Shards = parseShards(it.Val)
			}
		case "hits":
			if it.Kind == jsonscan.KindObject {
				err = parseHits(it.Val, sr)
			}
		case "aggregations":
			sr.Aggs = json.RawMessage(it.Val)
		}
		if err != nil {
			return nil, fmt.Errorf("decode search answer: %w", err)
		}
	}
	if it.Err != nil {
		return nil, fmt.Errorf("decode search answer: %w", it.Err)
	}
	return sr, nil
}

func parseHits(value []byte, sr *searchResponse) error {
	it := jsonscan.NewObjIter(value)
	for it.Next() {
		switch string(it.Key) {
		case "total":
			if it.Kind == jsonscan.KindObject {
				if n, err := jsonparser.GetInt(it.Val, "value"); err == nil {
					sr.Hits.Total = &struct {
						Value int64 `json:"value"`
					}{Value: n}
				}
			}
		case "hits":
			if it.Kind != jsonscan.KindArray {
				continue
			}
			hits := jsonscan.NewArrIter(it.Val)
			for hits.Next() {
				if hits.Kind != jsonscan.KindObject {
					return errors.New("hit is not an object")
				}
				var h searchHit
				err := parseHit(hits.Val, &h)
				sr.Hits.Hits = append(sr.Hits.Hits, h)
				if err != nil {
					return err
				}
			}
			if hits.Err != nil {
				return hits.Err
			}
		}
	}
	return it.Err
}

func parseHit(v []byte, h *searchHit) error {
	it := jsonscan.NewObjIter(v)
	for it.Next() {
		switch key := it.Key; string(key) {
		case "_index", "_id":
			if it.Kind != jsonscan.KindString {
				continue
			}
			s, err := jsonString(it.Val)
			if err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
			if key[1] == 'i' && key[2] == 'n' {
				h.Index = s
			} else {
				h.ID = s
			}
		case "_source":
			h.Source = json.RawMessage(it.Val)
		case "fields":
			h.Fields = json.RawMessage(it.Val)
		case "sort":
			if it.Kind != jsonscan.KindArray {
				continue
			}
			vals := jsonscan.NewArrIter(it.Val)
			for vals.Next() {
				h.Sort = append(h.Sort, json.RawMessage(vals.Val))
			}
			if vals.Err != nil {
				return vals.Err
			}
		}
	}
	return it.Err
}

// jsonString is the value of the JSON string v (quotes included).
func jsonString(v []byte) (string, error) {
	s, ok := jsonscan.Unquote(v, nil)
	if !ok {
		return "", jsonscan.ErrSyntax
	}
	return string(s), nil
}

// rawValue is the JSON text of a value jsonparser handed over: strings come
// without their quotes, which sit right around them in the same buffer.
func rawValue(parent, v []byte, vt jsonparser.ValueType) []byte {
	if vt != jsonparser.String {
		return v
	}
	// v is a slice of parent with its quotes on either side.
	start := cap(parent) - cap(v)
	if start < 1 || start+len(v) >= len(parent) {
		return append(append([]byte{'"'}, v...), '"') // not expected: v is still escaped
	}
	return parent[start-1 : start+len(v)+1 : start+len(v)+1]
}

// search runs one non-streamed search (aggregations, counts) and returns
// the answer body.
func searchOnce(ctx context.Context, c *Client, index string, body jsonObj) ([]byte, error) {
	req := Request{Method: http.MethodPost, Path: "/" + index + "/_search", Body: JSON(body)}
	resp, err := c.Do(ctx, req)
	if err != nil {
		return nil, err
	}
	if resp.Status != http.StatusOK {
		return nil, StatusError("search "+index, req, resp.Status, resp.Body)
	}
	var sr searchResponse
	if err := json.Unmarshal(resp.Body, &sr); err != nil {
		return nil, fmt.Errorf("search %s: decode answer: %w", index, err)
	}
	if err := partialAnswer("search "+index, req, sr.TimedOut, sr.Shards); err != nil {
		return nil, err
	}
	return resp.Body, nil
}
