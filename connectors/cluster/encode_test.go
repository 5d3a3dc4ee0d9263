package cluster

import (
	"encoding/json"
	"testing"
	"time"
)

func TestAppendJSONMatchesMarshal(t *testing.T) {
	tests := []struct {
		name string
		v    any
	}{
		{"nil", nil},
		{"empty object", jsonObj{}},
		{"nil object", jsonObj(nil)},
		{"nil array", []any(nil)},
		{"keys sorted", jsonObj{"size": 0, "aggs": jsonObj{}, "query": jsonObj{"match_all": jsonObj{}}}},
		{"numbers", []any{1, int64(-7), 0.5, 1e21, uint16(9200), float32(1.25)}},
		{"strings", []any{"plain", `q"uote`, `back\slash`, "<html>&", "tab\there", "é", "\u2028"}},
		{"escaped keys", jsonObj{"a<b": 1, `c"d`: true, "e": false}},
		{"raw message", jsonObj{"after": json.RawMessage(` { "k" : "<v>" } `)}},
		{"typed values", jsonObj{"t": time.Date(2025, 11, 3, 0, 0, 0, 0, time.UTC), "s": []string{"a", "b"}, "m": map[string]int{"x": 1}}},
		{"nested query", jsonObj{"query": boolQuery([]any{jsonObj{"terms": jsonObj{"ActionType": []any{"InboundConnectionAccepted"}}}}, nil, nil)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want, err := json.Marshal(tc.v)
			if err != nil {
				t.Fatal(err)
			}
			if got := JSON(tc.v); string(got) != string(want) {
				t.Errorf("JSON = %s\njson.Marshal = %s", got, want)
			}
		})
	}
}

func TestAppendJSONTrusted(t *testing.T) {
	chunk := trustedJSON(appendJSONStrings(nil, []string{"1.2.3.4", "::ffff:1.2.3.4"}))
	got := JSON(jsonObj{"terms": jsonObj{"RemoteIP": chunk}})
	want := `{"terms":{"RemoteIP":["1.2.3.4","::ffff:1.2.3.4"]}}`
	if string(got) != want {
		t.Errorf("JSON = %s, want %s", got, want)
	}
	// json.Marshal (tests, logs) writes it the same way.
	if b, err := json.Marshal(jsonObj{"terms": jsonObj{"RemoteIP": chunk}}); err != nil || string(b) != want {
		t.Errorf("json.Marshal = %s, %v; want %s", b, err, want)
	}
}

func TestAppendJSONError(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("JSON of an unmarshallable value did not panic")
		}
	}()
	JSON(jsonObj{"c": make(chan int)})
}
