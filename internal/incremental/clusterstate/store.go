package clusterstate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/internal/incremental"
)

// Store is an incremental.StateStore over one index.
type Store struct {
	doer  cluster.Doer
	index string
}

var (
	_ incremental.StateStore = (*Store)(nil)
	_ incremental.Lister     = (*Store)(nil)
)

// New returns a store over index (incremental.StateIndex when empty).
func New(doer cluster.Doer, index string) *Store {
	if index == "" {
		index = incremental.StateIndex
	}
	return &Store{doer: doer, index: index}
}

// Index is the state index name.
func (s *Store) Index() string { return s.index }

func (s *Store) docPath(endpoint, id string) string {
	return "/" + url.PathEscape(s.index) + "/" + endpoint + "/" + url.PathEscape(id)
}

// writeResult is the part of an index/create answer we read.
type writeResult struct {
	SeqNo       *int64 `json:"_seq_no"`
	PrimaryTerm *int64 `json:"_primary_term"`
}

func (s *Store) do(ctx context.Context, op string, req cluster.Request) (*cluster.Response, error) {
	resp, err := s.doer.Do(ctx, req)
	if err != nil {
		var ce *cluster.Error
		if errors.As(err, &ce) {
			return nil, err
		}
		return nil, cluster.TransportError(op, req, err)
	}
	return resp, nil
}

// Get implements incremental.StateStore.
func (s *Store) Get(ctx context.Context, id string) (json.RawMessage, incremental.Version, error) {
	req := cluster.Request{Method: http.MethodGet, Path: s.docPath("_doc", id)}
	resp, err := s.do(ctx, "get state "+id, req)
	if err != nil {
		return nil, incremental.Version{}, err
	}
	if resp.Status == http.StatusNotFound {
		return nil, incremental.Version{}, incremental.ErrNotFound
	}
	if resp.Status != http.StatusOK {
		return nil, incremental.Version{}, cluster.StatusError("get state "+id, req, resp.Status, resp.Body)
	}
	var got struct {
		Found       bool            `json:"found"`
		SeqNo       int64           `json:"_seq_no"`
		PrimaryTerm int64           `json:"_primary_term"`
		Source      json.RawMessage `json:"_source"`
	}
	if err := json.Unmarshal(resp.Body, &got); err != nil {
		return nil, incremental.Version{}, fmt.Errorf("get state %s: bad answer: %w", id, err)
	}
	if !got.Found {
		return nil, incremental.Version{}, incremental.ErrNotFound
	}
	return got.Source, incremental.Version{SeqNo: got.SeqNo, PrimaryTerm: got.PrimaryTerm}, nil
}

// Create implements incremental.StateStore (op_type=create).
func (s *Store) Create(ctx context.Context, id string, doc json.RawMessage) (incremental.Version, error) {
	req := cluster.Request{Method: http.MethodPut, Path: s.docPath("_create", id), Body: doc}
	return s.write(ctx, "create state "+id, req)
}

// Update implements incremental.StateStore (if_seq_no/if_primary_term).
func (s *Store) Update(ctx context.Context, id string, doc json.RawMessage, v incremental.Version) (incremental.Version, error) {
	q := url.Values{}
	q.Set("if_seq_no", strconv.FormatInt(v.SeqNo, 10))
	q.Set("if_primary_term", strconv.FormatInt(v.PrimaryTerm, 10))
	req := cluster.Request{Method: http.MethodPut, Path: s.docPath("_doc", id), Query: q, Body: doc}
	return s.write(ctx, "update state "+id, req)
}

func (s *Store) write(ctx context.Context, op string, req cluster.Request) (incremental.Version, error) {
	resp, err := s.do(ctx, op, req)
	if err != nil {
		return incremental.Version{}, err
	}
	switch {
	case resp.Status == http.StatusConflict:
		return incremental.Version{}, fmt.Errorf("%s: %w", op, incremental.ErrConflict)
	case resp.Status == http.StatusNotFound:
		return incremental.Version{}, fmt.Errorf("%s: %w", op, incremental.ErrNotFound)
	case resp.Status/100 != 2:
		return incremental.Version{}, cluster.StatusError(op, req, resp.Status, resp.Body)
	}
	var wr writeResult
	if err := json.Unmarshal(resp.Body, &wr); err != nil || wr.SeqNo == nil || wr.PrimaryTerm == nil {
		return incremental.Version{}, fmt.Errorf("%s: answer without _seq_no/_primary_term", op)
	}
	return incremental.Version{SeqNo: *wr.SeqNo, PrimaryTerm: *wr.PrimaryTerm}, nil
}

// List implements incremental.Lister: the ids starting with prefix among
// the state documents whose type is the prefix's kind ("checkpoint-" →
// type checkpoint). Search is near-real-time: a document created in the
// last second may be missing.
func (s *Store) List(ctx context.Context, prefix string) ([]string, error) {
	kind := strings.TrimSuffix(prefix, "-")
	body, _ := json.Marshal(map[string]any{
		"size":    10000,
		"_source": false,
		"query":   map[string]any{"match": map[string]any{"type": kind}},
	})
	req := cluster.Request{Method: http.MethodPost, Path: "/" + url.PathEscape(s.index) + "/_search", Body: body}
	resp, err := s.do(ctx, "list state", req)
	if err != nil {
		return nil, err
	}
	if resp.Status == http.StatusNotFound {
		return nil, nil
	}
	if resp.Status != http.StatusOK {
		return nil, cluster.StatusError("list state", req, resp.Status, resp.Body)
	}
	var got struct {
		Hits struct {
			Hits []struct {
				ID string `json:"_id"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if err := json.Unmarshal(resp.Body, &got); err != nil {
		return nil, fmt.Errorf("list state: bad answer: %w", err)
	}
	var ids []string
	for _, h := range got.Hits.Hits {
		if strings.HasPrefix(h.ID, prefix) {
			ids = append(ids, h.ID)
		}
	}
	sort.Strings(ids)
	return ids, nil
}
