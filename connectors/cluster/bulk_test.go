package cluster

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// fakeBulk is a mock cluster for _bulk: it parses the NDJSON body and
// answers each create action with the status decide returns for its _id (and
// the attempt number of that id). Requests are recorded.
type fakeBulk struct {
	mu       sync.Mutex
	requests []Request
	attempts map[string]int
	decide   func(id string, attempt int) int
	whole    func(n int) (int, string) // whole-request status for request n (1-based); 0 = answer items
}

func (f *fakeBulk) Do(_ context.Context, req Request) (*Response, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, req)
	if f.attempts == nil {
		f.attempts = map[string]int{}
	}
	if f.whole != nil {
		if st, body := f.whole(len(f.requests)); st != 0 {
			return &Response{Status: st, Body: []byte(body)}, nil
		}
	}
	var items []map[string]bulkAnswer
	sc := bufio.NewScanner(bytes.NewReader(req.Body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var action map[string]struct {
			ID string `json:"_id"`
		}
		if err := json.Unmarshal(sc.Bytes(), &action); err != nil {
			return &Response{Status: 400, Body: []byte(`{"error":{"type":"parse_exception","reason":"bad action line"}}`)}, nil
		}
		if !sc.Scan() {
			return &Response{Status: 400, Body: []byte(`{"error":{"type":"parse_exception","reason":"missing source"}}`)}, nil
		}
		id := action["create"].ID
		f.attempts[id]++
		st := f.decide(id, f.attempts[id])
		a := bulkAnswer{Status: st}
		switch st {
		case 409:
			a.Error = &errorDetail{Type: "version_conflict_engine_exception", Reason: "[" + id + "]: version conflict, document already exists"}
		case 400:
			a.Error = &errorDetail{Type: "mapper_parsing_exception", Reason: "failed to parse field [source.ip] of type [ip]",
				CausedBy: &errorDetail{Type: "illegal_argument_exception", Reason: "'not-an-ip' is not an IP string literal."}}
		case 429:
			a.Error = &errorDetail{Type: "es_rejected_execution_exception", Reason: "rejected execution"}
		case 503:
			a.Error = &errorDetail{Type: "unavailable_shards_exception", Reason: "primary shard is not active"}
		}
		items = append(items, map[string]bulkAnswer{"create": a})
	}
	body, _ := json.Marshal(map[string]any{"errors": true, "items": items})
	return &Response{Status: 200, Body: body}, nil
}

func testDocs(n int) []Doc {
	docs := make([]Doc, n)
	for i := range docs {
		docs[i] = Doc{ID: fmt.Sprintf("id-%03d", i), Source: []byte(fmt.Sprintf(`{"n":%d}`, i))}
	}
	return docs
}

var fastRetry = RetryPolicy{Initial: time.Millisecond, Max: 2 * time.Millisecond, MaxTries: 4, MaxElapsed: 5 * time.Second}

func TestBulkRequestShape(t *testing.T) {
	f := &fakeBulk{decide: func(string, int) int { return 201 }}
	c := NewClient(f, ServerInfo{Flavor: OpenSearch})
	docs := []Doc{
		{ID: `odd "id"/with slash`, Source: []byte("{\n  \"pretty\": true\n}")},
		{ID: "b", Source: []byte(`{"x":1}`)},
	}
	res, err := c.BulkCreate(context.Background(), "edgewatch-alerts-x", docs, BulkOptions{Refresh: "wait_for"})
	if err != nil || res.Created != 2 {
		t.Fatalf("res=%+v err=%v", res, err)
	}
	r := f.requests[0]
	if r.Method != "POST" || r.Path != "/edgewatch-alerts-x/_bulk" || !r.NDJSON || r.Query.Get("refresh") != "wait_for" {
		t.Fatalf("request = %s %s ndjson=%v query=%v", r.Method, r.Path, r.NDJSON, r.Query)
	}
	want := `{"create":{"_id":"odd \"id\"/with slash"}}` + "\n" + `{"pretty":true}` + "\n" +
		`{"create":{"_id":"b"}}` + "\n" + `{"x":1}` + "\n"
	if string(r.Body) != want {
		t.Fatalf("body:\n%s\nwant:\n%s", r.Body, want)
	}
}

func TestBulkOutcomes(t *testing.T) {
	tests := []struct {
		name                            string
		decide                          func(id string, attempt int) int
		whole                           func(n int) (int, string)
		wantCreated, wantPresent, wantF int
		wantRequests                    int
		wantErr                         bool
		wantFailIDs                     []string
	}{
		{
			name:        "all created",
			decide:      func(string, int) int { return 201 },
			wantCreated: 10, wantRequests: 1,
		},
		{
			name:        "rerun: 409 is already present",
			decide:      func(string, int) int { return 409 },
			wantPresent: 10, wantRequests: 1,
		},
		{
			name: "one mapping conflict is reported, the rest written",
			decide: func(id string, _ int) int {
				if id == "id-004" {
					return 400
				}
				return 201
			},
			wantCreated: 9, wantF: 1, wantRequests: 1, wantErr: true, wantFailIDs: []string{"id-004"},
		},
		{
			name: "items pushed back with 429 are re-sent alone until they pass",
			decide: func(id string, attempt int) int {
				if (id == "id-001" || id == "id-007") && attempt < 3 {
					return 429
				}
				return 201
			},
			wantCreated: 10, wantRequests: 3,
		},
		{
			name: "an item failing 503 past the policy is reported",
			decide: func(id string, _ int) int {
				if id == "id-002" {
					return 503
				}
				return 201
			},
			wantCreated: 9, wantF: 1, wantRequests: 4, wantErr: true, wantFailIDs: []string{"id-002"},
		},
		{
			name:   "whole request 503 twice then ok",
			decide: func(string, int) int { return 201 },
			whole: func(n int) (int, string) {
				if n <= 2 {
					return 503, `{"error":{"type":"unavailable_shards_exception","reason":"primary shard is not active"}}`
				}
				return 0, ""
			},
			wantCreated: 10, wantRequests: 3,
		},
		{
			name:   "whole request 400 fails every doc at once",
			decide: func(string, int) int { return 201 },
			whole: func(int) (int, string) {
				return 400, `{"error":{"type":"illegal_argument_exception","reason":"bad bulk"}}`
			},
			wantF: 10, wantRequests: 1, wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeBulk{decide: tt.decide, whole: tt.whole}
			c := NewClient(f, ServerInfo{Flavor: Elasticsearch}, WithRetry(fastRetry))
			res, err := c.BulkCreate(context.Background(), "idx", testDocs(10), BulkOptions{})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if res.Created != tt.wantCreated || res.AlreadyPresent != tt.wantPresent || res.Failed != tt.wantF {
				t.Fatalf("result %+v", res)
			}
			if len(f.requests) != tt.wantRequests || res.Requests != tt.wantRequests {
				t.Fatalf("requests sent %d, counted %d, want %d", len(f.requests), res.Requests, tt.wantRequests)
			}
			for i, id := range tt.wantFailIDs {
				if res.Failures[i].ID != id || res.Failures[i].Type == "" || res.Failures[i].Reason == "" {
					t.Errorf("failure %d = %+v, want id %s with type and reason", i, res.Failures[i], id)
				}
			}
			if tt.wantErr && len(tt.wantFailIDs) > 0 {
				var be *BulkError
				if !errors.As(err, &be) || be.Failed != tt.wantF || !strings.Contains(err.Error(), tt.wantFailIDs[0]) {
					t.Fatalf("error %v does not name the failed document", err)
				}
			}
		})
	}
}

func TestBulkRetriesOnlyFailedItems(t *testing.T) {
	f := &fakeBulk{decide: func(id string, attempt int) int {
		if id == "id-003" && attempt == 1 {
			return 429
		}
		return 201
	}}
	c := NewClient(f, ServerInfo{Flavor: OpenSearch}, WithRetry(fastRetry))
	if _, err := c.BulkCreate(context.Background(), "idx", testDocs(5), BulkOptions{}); err != nil {
		t.Fatal(err)
	}
	second := string(f.requests[1].Body)
	if strings.Count(second, `"create"`) != 1 || !strings.Contains(second, `"id-003"`) {
		t.Fatalf("retry round should re-send only id-003, sent:\n%s", second)
	}
}

func TestBulkChunking(t *testing.T) {
	f := &fakeBulk{decide: func(string, int) int { return 201 }}
	c := NewClient(f, ServerInfo{Flavor: OpenSearch})
	res, err := c.BulkCreate(context.Background(), "idx", testDocs(25), BulkOptions{MaxDocs: 10})
	if err != nil || res.Created != 25 {
		t.Fatalf("res=%+v err=%v", res, err)
	}
	if len(f.requests) != 3 {
		t.Fatalf("%d requests, want 3 (10+10+5)", len(f.requests))
	}
	f2 := &fakeBulk{decide: func(string, int) int { return 201 }}
	c2 := NewClient(f2, ServerInfo{Flavor: OpenSearch})
	if _, err := c2.BulkCreate(context.Background(), "idx", testDocs(25), BulkOptions{MaxBytes: 100}); err != nil {
		t.Fatal(err)
	}
	for _, r := range f2.requests {
		if len(r.Body) > 100 {
			t.Fatalf("request of %d bytes exceeds MaxBytes 100", len(r.Body))
		}
	}
}

func TestBulkBadSourceCountedNotSent(t *testing.T) {
	f := &fakeBulk{decide: func(string, int) int { return 201 }}
	c := NewClient(f, ServerInfo{Flavor: OpenSearch})
	docs := []Doc{{ID: "ok", Source: []byte(`{"a":1}`)}, {ID: "broken", Source: []byte("{\n bad")}, {ID: "empty"}}
	res, err := c.BulkCreate(context.Background(), "idx", docs, BulkOptions{})
	if res.Created != 1 || res.Failed != 2 || err == nil {
		t.Fatalf("res=%+v err=%v", res, err)
	}
	if strings.Contains(string(f.requests[0].Body), "broken") {
		t.Fatal("a document that is not JSON was sent")
	}
}

func TestAlertWriterUsesFindingID(t *testing.T) {
	f := &fakeBulk{decide: func(id string, _ int) int {
		if id == "seen" {
			return 409
		}
		return 201
	}}
	c := NewClient(f, ServerInfo{Flavor: OpenSearch})
	w := NewAlertWriter(c, "", BulkOptions{})
	if w.Index() != wire.DefaultAlertIndex {
		t.Fatalf("index %s", w.Index())
	}
	alerts := []*correlation.Alert{{}, {}, {}}
	alerts[0].Event.ID = "new"
	alerts[1].Event.ID = "seen"
	res, err := w.Write(context.Background(), alerts)
	if res.Created != 1 || res.AlreadyPresent != 1 || res.Failed != 1 || err == nil {
		t.Fatalf("res=%+v err=%v", res, err)
	}
	if !strings.Contains(res.Failures[0], "without event.id") {
		t.Fatalf("failures %v", res.Failures)
	}
	// The first request checks the index's mapping (AlertMappingProblem);
	// the alerts go in the next one.
	bulk := f.requests[len(f.requests)-1]
	if bulk.Path != "/"+wire.DefaultAlertIndex+"/_bulk" || !strings.Contains(string(bulk.Body), `{"create":{"_id":"new"}}`) {
		t.Fatalf("request %s\n%s", bulk.Path, bulk.Body)
	}
}

func TestBulkAnswerFailed(t *testing.T) {
	tests := []struct {
		name   string
		answer string
		want   string // "" = no error
	}{
		{"all created", `{"errors":false,"items":[{"create":{"status":201}},{"create":{"status":201}}]}`, ""},
		{"the first failed item is named", `{"errors":true,"items":[{"create":{"status":201}},` +
			`{"create":{"status":400,"error":{"type":"mapper_parsing_exception"}}},{"index":{"status":429}}]}`,
			`bulk item 1: HTTP 400: {"type":"mapper_parsing_exception"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var a BulkAnswer
			if err := json.Unmarshal([]byte(tc.answer), &a); err != nil {
				t.Fatal(err)
			}
			err := a.Failed()
			if got := fmt.Sprint(err); (tc.want == "" && err != nil) || (tc.want != "" && got != tc.want) {
				t.Errorf("Failed() = %v, want %q", err, tc.want)
			}
		})
	}
}
