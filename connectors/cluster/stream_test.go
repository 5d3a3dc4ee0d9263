package cluster

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
)

// fakeStore answers point-in-time requests the way Elasticsearch and
// OpenSearch do, over an in-memory list of documents spread over shards:
// search_after compares the sort tuple, _doc is the per-shard doc number
// (not unique across shards), _shard_doc and _id are unique.
type fakeStore struct {
	flavor   Flavor
	shards   int
	docs     []fakeDoc
	shardDoc bool // the store knows _shard_doc

	mu       sync.Mutex
	requests []Request
	open     int // open points in time
	pitSeq   int
	failOn   int // search number that reports a shard failure (1-based; 0 = never)
	searches int
}

type fakeDoc struct {
	id    string
	time  int64
	shard int
	doc   int
}

func newFakeStore(f Flavor, shards, n int) *fakeStore {
	s := &fakeStore{flavor: f, shards: shards, shardDoc: f == Elasticsearch}
	perShard := make([]int, shards)
	for i := 0; i < n; i++ {
		sh := i % shards
		// Few distinct times: ties are the rule, as with real timestamps.
		s.docs = append(s.docs, fakeDoc{id: fmt.Sprintf("id-%04d", i), time: int64(i / 4), shard: sh, doc: perShard[sh]})
		perShard[sh]++
	}
	return s
}

func (s *fakeStore) Do(ctx context.Context, req Request) (*Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, req)
	ok := func(v any) (*Response, error) {
		b, _ := json.Marshal(v)
		return &Response{Status: http.StatusOK, Body: b}, nil
	}
	switch {
	case req.Method == http.MethodPost && (strings.HasSuffix(req.Path, "/_pit") || strings.HasSuffix(req.Path, "/_search/point_in_time")):
		s.open++
		s.pitSeq++
		id := fmt.Sprintf("pit-%d", s.pitSeq)
		if s.flavor == OpenSearch {
			return ok(jsonObj{"pit_id": id, "_shards": jsonObj{"total": s.shards}})
		}
		return ok(jsonObj{"id": id, "_shards": jsonObj{"total": s.shards}})
	case req.Method == http.MethodDelete:
		s.open--
		return ok(jsonObj{"succeeded": true})
	case req.Path == "/_search":
		s.searches++
		return s.search(req.Body)
	}
	return &Response{Status: 404, Body: []byte(`{"error":{"type":"not_found","reason":"` + req.Path + `"}}`)}, nil
}

func (s *fakeStore) client() *Client { return NewClient(s, ServerInfo{Flavor: s.flavor}) }

func (s *fakeStore) key(d fakeDoc, field string) any {
	switch field {
	case "t":
		return d.time
	case tiebreakShardDoc:
		return int64(d.shard)<<32 | int64(d.doc)
	case tiebreakDoc:
		return int64(d.doc)
	case tiebreakID:
		return d.id
	}
	panic("fake store: sort on " + field)
}

func compareKeys(a, b []any) int {
	for i := range a {
		var c int
		switch x := a[i].(type) {
		case int64:
			c = cmp.Compare(x, b[i].(int64))
		case string:
			c = cmp.Compare(x, b[i].(string))
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

func (s *fakeStore) search(body []byte) (*Response, error) {
	var req struct {
		Size        int               `json:"size"`
		Sort        []map[string]any  `json:"sort"`
		SearchAfter []json.RawMessage `json:"search_after"`
		PIT         struct {
			ID string `json:"id"`
		} `json:"pit"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, err
	}
	var fields []string
	for _, s := range req.Sort {
		for f := range s {
			fields = append(fields, f)
		}
	}
	if slices.Contains(fields, tiebreakShardDoc) && !s.shardDoc {
		return &Response{Status: 400, Body: []byte(`{"error":{"type":"query_shard_exception","reason":"No mapping found for [_shard_doc] in order to sort on"}}`)}, nil
	}
	keyOf := func(d fakeDoc) []any {
		k := make([]any, len(fields))
		for i, f := range fields {
			k[i] = s.key(d, f)
		}
		return k
	}
	var after []any
	for i, raw := range req.SearchAfter {
		if fields[i] == tiebreakID {
			var v string
			_ = json.Unmarshal(raw, &v)
			after = append(after, v)
		} else {
			var v int64
			_ = json.Unmarshal(raw, &v)
			after = append(after, v)
		}
	}
	// Each shard returns its own top hits after the key; the coordinator
	// merges by key, then by shard.
	var cands []fakeDoc
	for _, d := range s.docs {
		if after == nil || compareKeys(keyOf(d), after) > 0 {
			cands = append(cands, d)
		}
	}
	slices.SortStableFunc(cands, func(a, b fakeDoc) int {
		if c := compareKeys(keyOf(a), keyOf(b)); c != 0 {
			return c
		}
		return cmp.Compare(a.shard, b.shard)
	})
	total := len(cands)
	if len(cands) > req.Size {
		cands = cands[:req.Size]
	}
	hits := []any{}
	for _, d := range cands {
		hits = append(hits, jsonObj{"_index": "idx", "_id": d.id, "_source": jsonObj{"id": d.id}, "sort": keyOf(d)})
	}
	failed := 0
	if s.failOn == s.searches {
		failed = 1
	}
	b, _ := json.Marshal(jsonObj{
		"pit_id":  req.PIT.ID + "+", // the id changes between pages
		"_shards": jsonObj{"failed": failed, "failures": []any{jsonObj{"reason": "boom"}}},
		"hits":    jsonObj{"total": jsonObj{"value": total, "relation": "eq"}, "hits": hits},
	})
	return &Response{Status: http.StatusOK, Body: b}, nil
}

func readAll(t *testing.T, s *fakeStore, shardDoc bool, page int, cheap ...bool) ([]string, error) {
	t.Helper()
	var ids []string
	err := streamPIT(context.Background(), s.client(), shardDoc, searchSpec{
		Index: "idx", Query: jsonObj{"match_all": jsonObj{}}, Source: true,
		TimeField: "t", TimeSort: true, PageSize: page, CheapQuery: len(cheap) > 0 && cheap[0],
	}, func(h *searchHit) error {
		ids = append(ids, h.ID)
		return nil
	})
	return ids, err
}

func wantAll(t *testing.T, ids []string, n int) {
	t.Helper()
	seen := map[string]int{}
	for _, id := range ids {
		seen[id]++
	}
	for id, c := range seen {
		if c > 1 {
			t.Errorf("%s read %d times", id, c)
		}
	}
	if len(seen) != n {
		t.Errorf("read %d distinct documents, want %d", len(seen), n)
	}
}

func TestStreamPIT(t *testing.T) {
	tests := []struct {
		name     string
		flavor   Flavor
		shards   int
		n, page  int
		shardDoc bool
		cheap    bool
		tiebreak string // tiebreak of the last search
		searches int    // search requests, counts and restarts included
	}{
		{"elasticsearch, _shard_doc", Elasticsearch, 3, 101, 7, true, false, tiebreakShardDoc, 15},
		{"opensearch 2.x one shard: _doc", OpenSearch, 1, 50, 7, false, false, tiebreakDoc, 8},
		{"opensearch 2.x several shards, one page: _doc, no extra search", OpenSearch, 3, 6, 7, false, false, tiebreakDoc, 1},
		{"opensearch 2.x several shards, many pages: restart on _id", OpenSearch, 3, 101, 7, false, false, tiebreakID, 16},
		{"opensearch 2.x cheap query, one page: count, then _doc", OpenSearch, 3, 6, 7, false, true, tiebreakDoc, 2},
		{"opensearch 2.x cheap query, many pages: count, then _id", OpenSearch, 3, 101, 7, false, true, tiebreakID, 16},
		{"opensearch 2.x cheap query, exactly two pages: count, then _id, no empty third page", OpenSearch, 3, 14, 7, false, true, tiebreakID, 3},
		// The first page's exact total spares the empty page after the last.
		{"exact page multiple", Elasticsearch, 2, 14, 7, true, false, tiebreakShardDoc, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFakeStore(tt.flavor, tt.shards, tt.n)
			ids, err := readAll(t, s, tt.shardDoc, tt.page, tt.cheap)
			if err != nil {
				t.Fatal(err)
			}
			wantAll(t, ids, tt.n)
			if s.open != 0 {
				t.Errorf("%d points in time left open", s.open)
			}
			if s.searches != tt.searches {
				t.Errorf("%d searches, want %d", s.searches, tt.searches)
			}
			last := s.requests[len(s.requests)-2] // before the DELETE
			if !strings.Contains(string(last.Body), `"`+tt.tiebreak+`"`) {
				t.Errorf("last search %s, want tiebreak %s", last.Body, tt.tiebreak)
			}
			// The PIT id of each search is the one the previous answer gave.
			for i, r := range s.requests {
				if r.Path == "/_search" && i > 1 && s.requests[i-1].Path == "/_search" && !strings.Contains(string(r.Body), `+"`) {
					t.Errorf("search %d did not use the updated PIT id: %s", i, r.Body)
					break
				}
			}
		})
	}
}

// The probe exists because _doc alone loses documents on several shards.
func TestStreamPITDocTiebreakWouldLoseDocs(t *testing.T) {
	s := newFakeStore(OpenSearch, 3, 101)
	s.shards = 1 // lie: the streamer trusts _doc
	ids, err := readAll(t, s, false, 7)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) >= 101 {
		t.Fatalf("the fake store does not model _doc ties across shards (read %d)", len(ids))
	}
}

func TestStreamPITErrors(t *testing.T) {
	t.Run("callback error closes the PIT", func(t *testing.T) {
		s := newFakeStore(Elasticsearch, 2, 30)
		stop := errors.New("stop")
		err := streamPIT(context.Background(), s.client(), true, searchSpec{Index: "idx", PageSize: 5},
			func(*searchHit) error { return stop })
		if !errors.Is(err, stop) {
			t.Errorf("err = %v, want stop", err)
		}
		if s.open != 0 {
			t.Errorf("%d points in time left open", s.open)
		}
	})
	t.Run("shard failure is an error", func(t *testing.T) {
		s := newFakeStore(Elasticsearch, 2, 30)
		s.failOn = 2
		_, err := readAll(t, s, true, 5)
		if !errors.Is(err, ErrPartialResults) {
			t.Errorf("err = %v, want partial results", err)
		}
		if s.open != 0 {
			t.Errorf("%d points in time left open", s.open)
		}
	})
	t.Run("cancel between pages closes the PIT with a fresh context", func(t *testing.T) {
		s := newFakeStore(OpenSearch, 1, 30)
		ctx, cancel := context.WithCancel(context.Background())
		n := 0
		err := streamPIT(ctx, s.client(), false, searchSpec{Index: "idx", PageSize: 5}, func(*searchHit) error {
			n++
			if n == 5 {
				cancel()
			}
			return nil
		})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		if s.open != 0 {
			t.Errorf("%d points in time left open", s.open)
		}
		last := s.requests[len(s.requests)-1]
		if last.Method != http.MethodDelete || last.Path != "/_search/point_in_time" || !strings.Contains(string(last.Body), `"pit_id":["pit-1`) {
			t.Errorf("last request %s %s %s, want the OpenSearch PIT delete", last.Method, last.Path, last.Body)
		}
	})
}
