package clusterstate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/incremental"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// Client is the part of *cluster.Client the store uses.
type Client interface {
	GetDoc(ctx context.Context, index, id string) (cluster.StoredDoc, error)
	CreateDoc(ctx context.Context, index, id string, body []byte) (cluster.DocVersion, error)
	PutDocIfMatch(ctx context.Context, index, id string, body []byte, seqNo, primaryTerm int64) (cluster.DocVersion, error)
	Call(ctx context.Context, op string, req cluster.Request, out any) error
}

var _ Client = (*cluster.Client)(nil)

// Store is an incremental.StateStore over one index of a cluster.
type Store struct {
	c     Client
	index string
}

var (
	_ incremental.StateStore = (*Store)(nil)
	_ incremental.Lister     = (*Store)(nil)
)

// New returns a store over index (wire.StateIndex when empty). The state
// index template (dynamic: false) maps type, detection, checkpoint, holder
// and expires_at; the rest of each document is kept in _source only.
func New(c Client, index string) *Store {
	if index == "" {
		index = wire.StateIndex
	}
	return &Store{c: c, index: index}
}

// Index is the state index name.
func (s *Store) Index() string { return s.index }

// Get implements incremental.StateStore. A missing index is a missing
// document (the first write creates the index).
func (s *Store) Get(ctx context.Context, id string) (json.RawMessage, incremental.Version, error) {
	d, err := s.c.GetDoc(ctx, s.index, id)
	if errors.Is(err, cluster.ErrNotFound) {
		return nil, incremental.Version{}, incremental.ErrNotFound
	}
	if err != nil {
		return nil, incremental.Version{}, err
	}
	if !d.Found {
		return nil, incremental.Version{}, incremental.ErrNotFound
	}
	return d.Source, incremental.Version{SeqNo: d.SeqNo, PrimaryTerm: d.PrimaryTerm}, nil
}

// Create implements incremental.StateStore (op_type=create).
func (s *Store) Create(ctx context.Context, id string, doc json.RawMessage) (incremental.Version, error) {
	v, err := s.c.CreateDoc(ctx, s.index, id, doc)
	return version(v, err)
}

// Update implements incremental.StateStore (if_seq_no/if_primary_term). A
// conditional write to a document that is gone is a conflict too.
func (s *Store) Update(ctx context.Context, id string, doc json.RawMessage, v incremental.Version) (incremental.Version, error) {
	nv, err := s.c.PutDocIfMatch(ctx, s.index, id, doc, v.SeqNo, v.PrimaryTerm)
	return version(nv, err)
}

func version(v cluster.DocVersion, err error) (incremental.Version, error) {
	switch {
	case errors.Is(err, cluster.ErrConflict):
		return incremental.Version{}, fmt.Errorf("%w: %w", incremental.ErrConflict, err)
	case err != nil:
		return incremental.Version{}, err
	}
	return incremental.Version{SeqNo: v.SeqNo, PrimaryTerm: v.PrimaryTerm}, nil
}

// List implements incremental.Lister: the ids starting with prefix among
// the documents whose type is the prefix's kind ("checkpoint-" → type
// checkpoint). Search is near-real-time: a document created within the last
// second may be missing.
func (s *Store) List(ctx context.Context, prefix string) ([]string, error) {
	kind := strings.TrimSuffix(prefix, "-")
	req := cluster.Request{Method: http.MethodPost, Path: "/" + url.PathEscape(s.index) + "/_search",
		Body: cluster.JSON(map[string]any{
			"size":    10000,
			"_source": false,
			"query":   map[string]any{"term": map[string]any{"type": kind}},
		})}
	var got struct {
		Hits struct {
			Hits []struct {
				ID string `json:"_id"`
			} `json:"hits"`
		} `json:"hits"`
	}
	err := s.c.Call(ctx, "list "+s.index, req, &got)
	if errors.Is(err, cluster.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
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
