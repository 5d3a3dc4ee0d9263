package incremental

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Errors a StateStore returns; check them with errors.Is.
var (
	// ErrNotFound: no document with that id.
	ErrNotFound = errors.New("state document not found")
	// ErrConflict: Create found the document already there, or Update's
	// version no longer matched (someone else wrote it first). HTTP 409.
	ErrConflict = errors.New("state document changed concurrently")
)

// Version is a document's optimistic-concurrency token: the
// _seq_no/_primary_term pair of OpenSearch and Elasticsearch.
type Version struct {
	SeqNo       int64 `json:"seq_no"`
	PrimaryTerm int64 `json:"primary_term"`
}

// StateStore is the small key-value view of the state index that this
// package needs. Reads by id must be real-time (GET by id is, in both
// stores); writes must be durable when they return.
type StateStore interface {
	// Get returns the document's source and version, or ErrNotFound.
	Get(ctx context.Context, id string) (json.RawMessage, Version, error)
	// Create writes a new document (op_type=create); ErrConflict when the
	// id exists.
	Create(ctx context.Context, id string, doc json.RawMessage) (Version, error)
	// Update replaces the document only if it is still at version v
	// (if_seq_no/if_primary_term); ErrConflict otherwise, ErrNotFound when
	// it is gone.
	Update(ctx context.Context, id string, doc json.RawMessage, v Version) (Version, error)
}

// Lister is an optional StateStore capability used by Status to find every
// detection: the ids of the documents whose id starts with prefix.
type Lister interface {
	List(ctx context.Context, prefix string) ([]string, error)
}

// MemStore is an in-memory StateStore with the same concurrency semantics
// as the cluster (a global sequence number, conflicts on stale versions).
// It is for tests and single-process use. The zero value is ready.
type MemStore struct {
	mu   sync.Mutex
	seq  int64
	docs map[string]memDoc
	// Fail, when set, is called before every operation; a non-nil error is
	// returned instead of performing it (fault injection in tests).
	Fail func(op, id string) error
}

type memDoc struct {
	src json.RawMessage
	v   Version
}

var (
	_ StateStore = (*MemStore)(nil)
	_ Lister     = (*MemStore)(nil)
)

func (m *MemStore) fail(op, id string) error {
	if m.Fail != nil {
		return m.Fail(op, id)
	}
	return nil
}

func (m *MemStore) next() Version {
	m.seq++
	return Version{SeqNo: m.seq, PrimaryTerm: 1}
}

// Get implements StateStore.
func (m *MemStore) Get(_ context.Context, id string) (json.RawMessage, Version, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fail("get", id); err != nil {
		return nil, Version{}, err
	}
	d, ok := m.docs[id]
	if !ok {
		return nil, Version{}, ErrNotFound
	}
	return append(json.RawMessage(nil), d.src...), d.v, nil
}

// Create implements StateStore.
func (m *MemStore) Create(_ context.Context, id string, doc json.RawMessage) (Version, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fail("create", id); err != nil {
		return Version{}, err
	}
	if _, ok := m.docs[id]; ok {
		return Version{}, ErrConflict
	}
	if m.docs == nil {
		m.docs = map[string]memDoc{}
	}
	v := m.next()
	m.docs[id] = memDoc{src: append(json.RawMessage(nil), doc...), v: v}
	return v, nil
}

// Update implements StateStore.
func (m *MemStore) Update(_ context.Context, id string, doc json.RawMessage, v Version) (Version, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fail("update", id); err != nil {
		return Version{}, err
	}
	d, ok := m.docs[id]
	if !ok {
		return Version{}, ErrNotFound
	}
	if d.v != v {
		return Version{}, ErrConflict
	}
	nv := m.next()
	m.docs[id] = memDoc{src: append(json.RawMessage(nil), doc...), v: nv}
	return nv, nil
}

// List implements Lister.
func (m *MemStore) List(_ context.Context, prefix string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ids []string
	for id := range m.docs {
		if strings.HasPrefix(id, prefix) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// readDoc reads the state document id as a T; nil when there is none.
func readDoc[T any](ctx context.Context, store StateStore, id string) (*T, error) {
	raw, _, err := store.Get(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", id, err)
	}
	var doc T
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("read %s: bad document: %w", id, err)
	}
	return &doc, nil
}
