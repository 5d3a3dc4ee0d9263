package cluster

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The answers below are what OpenSearch 2.19.6 sent on the three-node test
// cluster (scripts/cluster.sh start opensearch --nodes 3).
const (
	// A point in time whose contexts were on a node killed between pages.
	answerNodeLost = `{"pit_id":"p2","took":10,"timed_out":false,"_shards":{"total":3,"successful":1,"skipped":0,"failed":2,` +
		`"failures":[{"shard":1,"index":"exp1","node":"r7bF","reason":{"type":"illegal_state_exception","reason":"no node found for id [r7bF]"}}]},` +
		`"hits":{"total":{"value":114,"relation":"eq"},"hits":[]}}`
	// _count over a red index (one shard without a copy): nothing failed.
	answerRedCount = `{"count":199,"_shards":{"total":3,"successful":2,"skipped":0,"failed":0}}`
	// A point in time created over the same red index.
	answerRedPIT = `{"pit_id":"p1","_shards":{"total":3,"successful":2,"skipped":0,"failed":0},"creation_time":1796308772657}`
	// can_match skipped three of four shards: complete.
	answerSkipped = `{"took":222,"timed_out":false,"_shards":{"total":4,"successful":4,"skipped":3,"failed":0},"hits":{"total":{"value":1,"relation":"eq"},"hits":[]}}`
)

func TestCheckSearchAnswer(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		partial    bool
		reason     string // part of the message
	}{
		{name: "complete", body: `{"timed_out":false,"_shards":{"total":3,"successful":3,"skipped":0,"failed":0},"hits":{"hits":[]}}`},
		{name: "skipped shards are complete", body: answerSkipped},
		{name: "node lost under a point in time", body: answerNodeLost, partial: true,
			reason: "2 of 3 shards failed (illegal_state_exception: no node found for id [r7bF])"},
		{name: "red index count", body: answerRedCount, partial: true, reason: "2 of 3 shards answered"},
		{name: "red index point in time", body: answerRedPIT, partial: true, reason: "2 of 3 shards answered"},
		{name: "timed out", body: `{"timed_out":true,"_shards":{"total":1,"successful":1,"failed":0}}`, partial: true, reason: "timed out"},
		{name: "failure without a reason object", body: `{"_shards":{"failed":1,"failures":[{"shard":0,"reason":"boom"}]}}`, partial: true,
			reason: `1 shard(s) failed ({"shard":0,"reason":"boom"})`},
		{name: "no _shards", body: `{"count":3}`},
		{name: "counts left out", body: `{"_shards":{"total":2}}`},
		{name: "not JSON", body: `<html>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkSearchAnswer("count idx", Request{Method: http.MethodGet, Path: "/idx/_count"}, []byte(tc.body))
			if got := errors.Is(err, ErrPartialResults); got != tc.partial {
				t.Fatalf("partial = %v (err %v), want %v", got, err, tc.partial)
			}
			if !tc.partial {
				return
			}
			if !strings.Contains(err.Error(), tc.reason) || !strings.HasPrefix(err.Error(), "count idx: GET /idx/_count: 200: partial search results: ") {
				t.Errorf("message %q, want the operation and %q", err, tc.reason)
			}
			if !IsDownstream(err) || !IsRetryable(err) {
				t.Errorf("%v: want downstream and retryable", err)
			}
		})
	}
}

// Call refuses a partial search-family answer, whatever the caller decodes,
// and keeps _shards in a filtered answer; other calls are not judged by
// their _shards (a write acknowledged by the primary while a replica
// failed is durable).
func TestCallRefusesPartialAnswers(t *testing.T) {
	var sent []Request
	answer := ""
	c := NewClient(DoerFunc(func(_ context.Context, req Request) (*Response, error) {
		sent = append(sent, req)
		return &Response{Status: 200, Body: []byte(answer)}, nil
	}), ServerInfo{Flavor: OpenSearch})
	for _, tc := range []struct {
		name    string
		req     Request
		answer  string
		partial bool
	}{
		{"count over a red index", Request{Method: http.MethodGet, Path: "/idx/_count"}, answerRedCount, true},
		{"search page", Request{Method: http.MethodPost, Path: "/idx/_search"}, answerNodeLost, true},
		{"point in time over a red index", Request{Method: http.MethodPost, Path: "/idx/_search/point_in_time"}, answerRedPIT, true},
		{"Elasticsearch point in time", Request{Method: http.MethodPost, Path: "/idx/_pit"}, answerRedPIT, true},
		{"complete search", Request{Method: http.MethodPost, Path: "/idx/_search"}, answerSkipped, false},
		{"write with a failed replica", Request{Method: http.MethodPut, Path: "/idx/_doc/1"},
			`{"_index":"idx","_id":"1","result":"created","_shards":{"total":2,"successful":1,"failed":1}}`, false},
		{"point in time close", Request{Method: http.MethodDelete, Path: "/_search/point_in_time"}, `{"pits":[]}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			answer = tc.answer
			var out map[string]any
			err := c.Call(context.Background(), tc.name, tc.req, &out)
			if got := errors.Is(err, ErrPartialResults); got != tc.partial {
				t.Fatalf("partial = %v (err %v), want %v", got, err, tc.partial)
			}
			if tc.partial && out != nil {
				t.Errorf("a partial answer was decoded: %v", out)
			}
		})
	}

	t.Run("filter_path keeps _shards", func(t *testing.T) {
		answer = answerRedCount
		q := url.Values{"filter_path": {"hits.hits._source"}}
		err := c.Call(context.Background(), "read", Request{Method: http.MethodPost, Path: "/idx/_search", Query: q}, nil)
		if !errors.Is(err, ErrPartialResults) {
			t.Fatalf("err = %v, want partial results", err)
		}
		got := sent[len(sent)-1].Query.Get("filter_path")
		if got != "hits.hits._source,_shards.total,_shards.successful,_shards.failed,_shards.failures,timed_out" {
			t.Errorf("filter_path sent %q", got)
		}
		if q.Get("filter_path") != "hits.hits._source" {
			t.Errorf("the caller's query was changed: %v", q)
		}
	})
}
