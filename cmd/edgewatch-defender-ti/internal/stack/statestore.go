package stack

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

// StateStore is the incremental.StateStore over the state index: the
// production store of checkpoints, leases and retro-hunt records.
// Concurrency is the stores' own optimistic control: creates use
// op_type=create (409 when the id exists) and updates carry
// if_seq_no/if_primary_term (409 when someone wrote first). GET by id is
// real-time in both stores, so no refresh is needed between a write and
// the next read.
type StateStore struct {
	c     *cluster.Client
	index string
}

var (
	_ incremental.StateStore = (*StateStore)(nil)
	_ incremental.Lister     = (*StateStore)(nil)
)

// NewStateStore returns a store over index (wire.StateIndex when empty). The state
// index template (dynamic: false) maps type, detection, checkpoint, holder
// and expires_at; the rest of each document is kept in _source only.
func NewStateStore(c *cluster.Client, index string) *StateStore {
	if index == "" {
		index = wire.StateIndex
	}
	return &StateStore{c: c, index: index}
}

// Index is the state index name.
func (s *StateStore) Index() string { return s.index }

// Get implements incremental.StateStore. A missing index is a missing
// document (the first write creates the index).
func (s *StateStore) Get(ctx context.Context, id string) (json.RawMessage, incremental.Version, error) {
	d, err := GetDoc(ctx, s.c, s.index, id)
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
func (s *StateStore) Create(ctx context.Context, id string, doc json.RawMessage) (incremental.Version, error) {
	v, err := CreateDoc(ctx, s.c, s.index, id, doc)
	return version(v, err)
}

// Update implements incremental.StateStore (if_seq_no/if_primary_term). A
// conditional write to a document that is gone is a conflict too.
func (s *StateStore) Update(ctx context.Context, id string, doc json.RawMessage, v incremental.Version) (incremental.Version, error) {
	nv, err := PutDocIfMatch(ctx, s.c, s.index, id, doc, v.SeqNo, v.PrimaryTerm)
	return version(nv, err)
}

func version(v DocVersion, err error) (incremental.Version, error) {
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
func (s *StateStore) List(ctx context.Context, prefix string) ([]string, error) {
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
