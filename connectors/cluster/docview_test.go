package cluster

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDocViewValues(t *testing.T) {
	doc := json.RawMessage(`{"s":"plain","e":"a\"b\\c\u00e9","k\u0065y":"escaped key","dup":1,"dup":2,
		"n":42,"f":1.5,"b":true,"nul":null,"o":{"x":"y"},"arr":["first","second"],"host.id":"dotted"}`)
	d, err := newDocView(doc)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, want string
	}{
		{"plain string", "s", "plain"},
		{"escapes", "e", "a\"b\\cé"},
		{"escaped key", "key", "escaped key"},
		{"duplicate key: last wins", "dup", "2"},
		{"number", "n", "42"},
		{"float", "f", "1.5"},
		{"boolean", "b", "true"},
		{"null", "nul", ""},
		{"object is no text", "o", ""},
		{"nested", "o.x", "y"},
		{"array: first element", "arr", "first"},
		{"dotted key", "host.id", "dotted"},
		{"absent", "nope", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := d.str(tc.path); got != tc.want {
				t.Errorf("str(%q) = %q, want %q", tc.path, got, tc.want)
			}
		})
	}
	if raw, ok := d.get("o"); !ok || string(raw) != `{"x":"y"}` {
		t.Errorf("get(o) = %s, %v", raw, ok)
	}
	if raw, ok := d.get("s"); !ok || string(raw) != `"plain"` {
		t.Errorf("get(s) = %s, %v; want the quoted JSON text", raw, ok)
	}
}

func TestDocViewRejects(t *testing.T) {
	for name, src := range map[string]string{
		"array":     `[1,2]`,
		"string":    `"x"`,
		"empty":     ``,
		"truncated": `{"a":`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := newDocView(json.RawMessage(src)); err == nil {
				t.Errorf("newDocView(%q) succeeded", src)
			}
		})
	}
}

func TestUnquoteObject(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"object text", `"{\"a\":1}"`, `{"a":1}`},
		{"plain text is kept", `"hello"`, `"hello"`},
		{"object is kept", `{"a":1}`, `{"a":1}`},
		{"double encoded is kept", `"\"{\\\"a\\\":1}\""`, `"\"{\\\"a\\\":1}\""`},
		{"no escapes", `" {} "`, `{}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(unquoteObject(json.RawMessage(tc.in))); got != tc.want {
				t.Errorf("unquoteObject(%s) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseSearchResponse(t *testing.T) {
	body := []byte(`{"pit_id":"p\u0031","took":3,"timed_out":false,
		"_shards":{"total":2,"successful":1,"failed":1,"failures":[{"reason":"boom"}]},
		"hits":{"total":{"value":2,"relation":"eq"},"max_score":null,"hits":[
		{"_index":"idx","_id":"a\"1","_score":null,"_source":{"x":"y\n"},"sort":["2025-01-01",7]},
		{"_index":"idx","_id":"b","_source":{},"sort":[8,{"k":1}]}]}}`)
	sr, err := parseSearchResponse(body)
	if err != nil {
		t.Fatal(err)
	}
	type hit struct{ Index, ID, Source, Sort string }
	var got []hit
	for _, h := range sr.Hits.Hits {
		s, _ := json.Marshal(h.Sort)
		got = append(got, hit{h.Index, h.ID, string(h.Source), string(s)})
	}
	want := []hit{
		{"idx", `a"1`, `{"x":"y\n"}`, `["2025-01-01",7]`},
		{"idx", "b", `{}`, `[8,{"k":1}]`},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("hits (-want +got):\n%s", diff)
	}
	if sr.PitID != "p1" || sr.Hits.Total == nil || sr.Hits.Total.Value != 2 || sr.TimedOut ||
		sr.Shards.Failed != 1 || len(sr.Shards.Failures) != 1 {
		t.Errorf("envelope = pit %q total %v timed out %v failed %d failures %d",
			sr.PitID, sr.Hits.Total, sr.TimedOut, sr.Shards.Failed, len(sr.Shards.Failures))
	}
	if _, err := parseSearchResponse([]byte(`{"hits":{"hits":[{"_id":`)); err == nil {
		t.Error("truncated answer parsed")
	}
}
