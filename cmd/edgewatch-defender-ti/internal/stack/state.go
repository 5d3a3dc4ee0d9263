package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// WriteRunRecord stores rec in the state index under the id "run-<run id>"
// (op_type=create: a record is written once; writing the same run id again
// returns an error matching cluster.ErrConflict). Type is forced to "run" and
// DurationMS derived from the times when zero.
func WriteRunRecord(ctx context.Context, c *cluster.Client, rec wire.RunRecord) (string, error) {
	if rec.RunID == "" {
		return "", cluster.ConfigErrorf("run record without run id")
	}
	rec.Type = wire.StateTypeRun
	if rec.DurationMS == 0 && !rec.FinishedAt.IsZero() {
		rec.DurationMS = rec.FinishedAt.Sub(rec.StartedAt).Milliseconds()
	}
	id := "run-" + rec.RunID
	_, err := CreateDoc(ctx, c, wire.StateIndex, id, cluster.JSON(rec))
	return id, err
}

// RunRecords reads the n newest run records of the state index, oldest
// first.
func RunRecords(ctx context.Context, c *cluster.Client, n int) ([]wire.RunRecord, error) {
	body := map[string]any{
		"size":  min(n, 10_000),
		"query": map[string]any{"term": map[string]any{"type": wire.StateTypeRun}},
		"sort":  []any{map[string]any{"started_at": map[string]any{"order": "desc", "unmapped_type": "date"}}},
	}
	req := cluster.Request{Method: http.MethodPost, Path: cluster.DocPath(wire.StateIndex, "_search"), Body: cluster.JSON(body),
		Query: url.Values{"filter_path": {"hits.hits._source"}}}
	var r cluster.SearchHits[wire.RunRecord]
	if err := c.Call(ctx, "read run records", req, &r); err != nil {
		return nil, err
	}
	out := make([]wire.RunRecord, 0, len(r.Hits.Hits))
	for i := len(r.Hits.Hits) - 1; i >= 0; i-- { // oldest first
		out = append(out, r.Hits.Hits[i].Source)
	}
	return out, nil
}

// StoredDoc is a document as read with its concurrency token.
type StoredDoc struct {
	Source      json.RawMessage
	SeqNo       int64
	PrimaryTerm int64
	Found       bool
}

// DocVersion is the concurrency token a write returns.
type DocVersion struct {
	SeqNo       int64 `json:"_seq_no"`
	PrimaryTerm int64 `json:"_primary_term"`
}

// GetDoc reads a document by id (real-time: no refresh needed). A missing
// document is Found=false with a nil error; a missing index is an error
// matching cluster.ErrNotFound with type index_not_found_exception.
func GetDoc(ctx context.Context, c *cluster.Client, index, id string) (StoredDoc, error) {
	req := cluster.Request{Method: http.MethodGet, Path: cluster.DocPath(index, "_doc", id)}
	resp, err := c.Do(ctx, req)
	if err != nil {
		return StoredDoc{}, err
	}
	var r struct {
		Found       bool            `json:"found"`
		SeqNo       int64           `json:"_seq_no"`
		PrimaryTerm int64           `json:"_primary_term"`
		Source      json.RawMessage `json:"_source"`
	}
	switch {
	case resp.Status == 200:
	case resp.Status == 404:
		if json.Unmarshal(resp.Body, &r) == nil && !r.Found && len(resp.Body) > 0 && !bytes.Contains(resp.Body, []byte(`"error"`)) {
			return StoredDoc{}, nil
		}
		return StoredDoc{}, cluster.StatusError("get "+index+"/"+id, req, resp.Status, resp.Body)
	default:
		return StoredDoc{}, cluster.StatusError("get "+index+"/"+id, req, resp.Status, resp.Body)
	}
	if err := json.Unmarshal(resp.Body, &r); err != nil {
		return StoredDoc{}, &cluster.Error{Op: "get " + index + "/" + id, Status: 200, Downstream: true, Reason: "cannot decode answer: " + err.Error()}
	}
	return StoredDoc{Source: r.Source, SeqNo: r.SeqNo, PrimaryTerm: r.PrimaryTerm, Found: r.Found}, nil
}

// PutDocIfMatch replaces a document only if it is still at (seqNo,
// primaryTerm), the optimistic-concurrency check of if_seq_no /
// if_primary_term. Someone else's write in between yields an error matching
// cluster.ErrConflict. It returns the new token.
func PutDocIfMatch(ctx context.Context, c *cluster.Client, index, id string, body []byte, seqNo, primaryTerm int64) (DocVersion, error) {
	q := url.Values{
		"if_seq_no":       {strconv.FormatInt(seqNo, 10)},
		"if_primary_term": {strconv.FormatInt(primaryTerm, 10)},
	}
	return writeDoc(ctx, c, "conditional put", index, id, body, q)
}

// CreateDoc writes a document that must not exist yet (op_type=create); an
// existing one yields an error matching cluster.ErrConflict.
func CreateDoc(ctx context.Context, c *cluster.Client, index, id string, body []byte) (DocVersion, error) {
	return writeDoc(ctx, c, "create", index, id, body, url.Values{"op_type": {"create"}})
}

func writeDoc(ctx context.Context, c *cluster.Client, what, index, id string, body []byte, q url.Values) (DocVersion, error) {
	if id == "" {
		return DocVersion{}, cluster.ConfigErrorf("%s into %s: empty document id", what, index)
	}
	req := cluster.Request{Method: http.MethodPut, Path: cluster.DocPath(index, "_doc", id), Query: q, Body: body}
	var v DocVersion
	if err := c.Call(ctx, fmt.Sprintf("%s %s/%s", what, index, id), req, &v); err != nil {
		return DocVersion{}, err // a 409 matches cluster.ErrConflict
	}
	return v, nil
}
