package alertstore

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
)

// Alias is what a write alias name stands for in a cluster.
type Alias struct {
	Name string
	// Concrete says Name is an index, not an alias: a single alert index
	// written before rollover (install migrates it). Indices and Write are
	// then Name itself.
	Concrete bool
	// Indices are the backing indices, sorted by name (oldest first: the
	// generation suffix is zero-padded).
	Indices []string
	// Write is the write index (is_write_index, or the only index).
	Write string
}

// Old are the backing indices other than the write index.
func (a Alias) Old() []string {
	var out []string
	for _, ix := range a.Indices {
		if ix != a.Write {
			out = append(out, ix)
		}
	}
	return out
}

// FirstBackingIndex is the index a write alias starts on: <alias>-000001.
// Rollover (by the API or ISM/ILM) increments the six-digit suffix.
func FirstBackingIndex(alias string) string { return BackingIndex(alias, 1) }

// BackingIndex is generation gen of alias: <alias>-00000N.
func BackingIndex(alias string, gen int) string { return fmt.Sprintf("%s-%06d", alias, gen) }

// ErrMissing: the name is neither an alias nor an index.
var ErrMissing = errors.New("no such alias or index")

// Resolve reads what name is: a write alias over backing indices, or a
// concrete index (Concrete), or nothing (ErrMissing).
func Resolve(ctx context.Context, c *cluster.Client, name string) (Alias, error) {
	req := cluster.Request{Method: http.MethodGet, Path: cluster.DocPath(name, "_alias"),
		Query: url.Values{"expand_wildcards": {"open"}}}
	resp, err := c.Do(ctx, req)
	if err != nil {
		return Alias{}, err
	}
	switch resp.Status {
	case http.StatusOK:
	case http.StatusNotFound:
		return Alias{Name: name}, ErrMissing
	default:
		return Alias{}, cluster.StatusError("resolve alias "+name, req, resp.Status, resp.Body)
	}
	var got map[string]struct {
		Aliases map[string]struct {
			IsWriteIndex *bool `json:"is_write_index"`
		} `json:"aliases"`
	}
	if err := json.Unmarshal(resp.Body, &got); err != nil {
		return Alias{}, fmt.Errorf("resolve alias %s: %w", name, err)
	}
	a := Alias{Name: name}
	if _, ok := got[name]; ok {
		// GET <index>/_alias answers with the index itself.
		return Alias{Name: name, Concrete: true, Indices: []string{name}, Write: name}, nil
	}
	for ix, v := range got {
		al, ok := v.Aliases[name]
		if !ok {
			continue
		}
		a.Indices = append(a.Indices, ix)
		if al.IsWriteIndex != nil && *al.IsWriteIndex {
			a.Write = ix
		}
	}
	sort.Strings(a.Indices)
	if a.Write == "" && len(a.Indices) == 1 {
		a.Write = a.Indices[0] // an alias over one index writes into it
	}
	if len(a.Indices) == 0 {
		return Alias{Name: name}, ErrMissing
	}
	return a, nil
}

// Bootstrap creates the first backing index of alias with the alias on it
// as the write index (settings, when not nil, are the new index's own; its
// mapping comes from the matching index template). An alias or index that
// appeared meanwhile (another instance bootstrapped it) is not an error.
// The answer is the alias as it now is.
func Bootstrap(ctx context.Context, c *cluster.Client, alias string, settings map[string]any) (Alias, error) {
	body := map[string]any{"aliases": map[string]any{alias: map[string]any{"is_write_index": true}}}
	if len(settings) > 0 {
		body["settings"] = settings
	}
	first := FirstBackingIndex(alias)
	req := cluster.Request{Method: http.MethodPut, Path: cluster.DocPath(first), Body: cluster.JSON(body)}
	err := c.Call(ctx, "create "+first+" for the write alias "+alias, req, nil)
	var e *cluster.Error
	if err != nil && !(errors.As(err, &e) && e.Type == "resource_already_exists_exception") {
		return Alias{}, err
	}
	return Resolve(ctx, c, alias)
}

// RolloverResult is the answer of a rollover.
type RolloverResult struct {
	OldIndex   string `json:"old_index"`
	NewIndex   string `json:"new_index"`
	RolledOver bool   `json:"rolled_over"`
}

// Rollover rolls alias over to a new write index now (conditions nil) or
// when one of conditions is met ({"max_age": "7d"}, …). ISM/ILM do this on
// their schedule; tests and operators call it by hand.
func Rollover(ctx context.Context, c *cluster.Client, alias string, conditions map[string]any) (RolloverResult, error) {
	req := cluster.Request{Method: http.MethodPost, Path: cluster.DocPath(alias, "_rollover")}
	if conditions != nil {
		req.Body = cluster.JSON(map[string]any{"conditions": conditions})
	}
	var r RolloverResult
	err := c.Call(ctx, "roll over "+alias, req, &r)
	return r, err
}

// Generation is the generation number of a backing index name (the digits
// after its last '-'), 0 when it has none.
func Generation(index string) int {
	i := strings.LastIndexByte(index, '-')
	if i < 0 {
		return 0
	}
	n, err := strconv.Atoi(index[i+1:])
	if err != nil {
		return 0
	}
	return n
}
