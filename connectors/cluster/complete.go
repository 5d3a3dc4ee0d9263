package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/buger/jsonparser"
)

// ErrPartialResults: a search, count, aggregation or point-in-time answer
// came from only some of the shards it covers. Both stores answer such a
// search with HTTP 200; edgewatch never takes it as complete: a detection
// must not silently miss rows, so the call fails (the window is not
// committed, the next run reads it again). errors.Is matches it.
//
// An answer is partial when
//   - _shards.failed > 0: a shard failed, e.g. a point in time whose
//     contexts were on a node that left ("no node found for id");
//   - _shards.successful < _shards.total: a shard had no copy to ask. An
//     OpenSearch 2.x search, _count or point-in-time creation over a red
//     index reports that as {"total":3,"successful":2,"failed":0} (the
//     point in time is created without the shard, and every page read
//     through it then looks complete); skipped shards (can_match) count as
//     successful, so they are not partial;
//   - timed_out is true (a search timeout returns what it found so far).
//
// terminated_early is not checked: only a request with terminate_after
// gets it, and the one such request (the remote measure) asks for it on
// purpose and reads it.
var ErrPartialResults = errors.New("partial search results")

// shardCounts is the _shards object of a search answer. Total and
// Successful are nil when the answer leaves them out (fakes, filter_path).
type shardCounts struct {
	Total      *int              `json:"total"`
	Successful *int              `json:"successful"`
	Failed     int               `json:"failed"`
	Failures   []json.RawMessage `json:"failures"`
}

// parseShards reads a _shards object.
func parseShards(v []byte) shardCounts {
	var sh shardCounts
	if n, err := jsonparser.GetInt(v, "total"); err == nil {
		t := int(n)
		sh.Total = &t
	}
	if n, err := jsonparser.GetInt(v, "successful"); err == nil {
		s := int(n)
		sh.Successful = &s
	}
	if n, err := jsonparser.GetInt(v, "failed"); err == nil {
		sh.Failed = int(n)
	}
	_, _ = jsonparser.ArrayEach(v, func(f []byte, vt jsonparser.ValueType, _ int, _ error) {
		sh.Failures = append(sh.Failures, json.RawMessage(rawValue(v, f, vt)))
	}, "failures")
	return sh
}

// partialAnswer returns an *Error matching ErrPartialResults when the answer
// with sh and timedOut is partial (see ErrPartialResults), else nil.
func partialAnswer(op string, req Request, timedOut bool, sh shardCounts) error {
	var why string
	switch {
	case sh.Failed > 0:
		why = fmt.Sprintf("%d shard(s) failed", sh.Failed)
		if sh.Total != nil {
			why = fmt.Sprintf("%d of %d shards failed", sh.Failed, *sh.Total)
		}
		if len(sh.Failures) > 0 {
			why += " (" + failureReason(sh.Failures[0]) + ")"
		}
	case sh.Total != nil && sh.Successful != nil && *sh.Successful < *sh.Total:
		why = fmt.Sprintf("%d of %d shards answered (the others have no available copy)", *sh.Successful, *sh.Total)
	case timedOut:
		why = "the search timed out"
	default:
		return nil
	}
	return &Error{Op: op, Method: req.Method, Path: req.Path, Status: http.StatusOK,
		Reason: ErrPartialResults.Error() + ": " + why, Downstream: true, Retryable: true, Err: ErrPartialResults}
}

// checkSearchAnswer applies partialAnswer to a search-family answer body
// (search, count, aggregation, point-in-time creation). A body that is not
// a JSON object, or has no _shards, passes: decoding reports the former.
func checkSearchAnswer(op string, req Request, body []byte) error {
	var sh shardCounts
	if v, vt, _, err := jsonparser.Get(body, "_shards"); err == nil && vt == jsonparser.Object {
		sh = parseShards(v)
	}
	timedOut, _ := jsonparser.GetBoolean(body, "timed_out")
	return partialAnswer(op, req, timedOut, sh)
}

// failureReason renders one shard failure: "type: reason" when the store
// gave them, else the raw failure, bounded.
func failureReason(f json.RawMessage) string {
	typ, _ := jsonparser.GetString(f, "reason", "type")
	reason, _ := jsonparser.GetString(f, "reason", "reason")
	s := strings.TrimPrefix(typ+": "+reason, ": ")
	if typ == "" && reason == "" {
		s = string(f)
	}
	return truncate(s, 300)
}

// isSearchCall reports whether req is a search-family request whose answer
// carries _shards: a search, a count, or the creation of a point in time.
func isSearchCall(req Request) bool {
	if req.Method == http.MethodDelete || req.NDJSON {
		return false
	}
	p := req.Path
	return strings.HasSuffix(p, "/_search") || strings.HasSuffix(p, "/_count") ||
		strings.HasSuffix(p, "/_search/point_in_time") || strings.HasSuffix(p, "/_pit")
}

// shardsKept is q with filter_path widened, when it is set, to keep what
// checkSearchAnswer reads: a filtered search answer must still tell whether
// it is complete. q itself is not changed.
func shardsKept(q url.Values) url.Values {
	fp := q.Get("filter_path")
	if fp == "" {
		return q
	}
	out := make(url.Values, len(q))
	for k, v := range q {
		out[k] = v
	}
	out.Set("filter_path", fp+",_shards.total,_shards.successful,_shards.failed,_shards.failures,timed_out")
	return out
}
