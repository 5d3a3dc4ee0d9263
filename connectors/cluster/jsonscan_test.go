package cluster

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestSkipValue(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int // offset past the value; -1 malformed
	}{
		{"string", `"abc" x`, 5},
		{"escaped quote", `"a\"b" x`, 6},
		{"escaped backslash before quote", `"a\\" x`, 5},
		{"three backslashes", `"a\\\"b" x`, 8},
		{"unterminated string", `"abc`, -1},
		{"object", `{"a":{"b":[1,2,"}"]}} x`, 21},
		{"array", `[1,[2,[3]],"]"],`, 15},
		{"mismatched close", `{"a":[1}]`, -1},
		{"unclosed object", `{"a":1`, -1},
		{"number", `-12.5e3,`, 7},
		{"literal", `true}`, 4},
		{"deep", strings.Repeat("[", 40) + strings.Repeat("]", 40), 80},
		{"empty", ``, -1},
		{"delimiter only", `,`, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := skipValue([]byte(tc.in), 0); got != tc.want {
				t.Errorf("skipValue(%q) = %d, want %d", tc.in, got, tc.want)
			}
		})
	}
}

func TestEachMember(t *testing.T) {
	var keys, vals []string
	err := eachMember([]byte(` { "a" : 1 , "b\"c":"x\"y", "d":{"e":[1, {"f":null}]},"g":[] } `), func(k, v []byte) error {
		keys, vals = append(keys, string(k)), append(vals, string(v))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(keys, "|") != `a|b\"c|d|g` || strings.Join(vals, "|") != `1|"x\"y"|{"e":[1, {"f":null}]}|[]` {
		t.Errorf("keys %q values %q", keys, vals)
	}
	for _, bad := range []string{``, `[]`, `{"a" 1}`, `{"a":1,}`, `{"a":1 "b":2}`, `{"a":}`, `{a:1}`, `{"a":1`} {
		if err := eachMember([]byte(bad), func(_, _ []byte) error { return nil }); err == nil {
			t.Errorf("eachMember(%q) accepted it", bad)
		}
	}
	if err := eachMember([]byte(`{}`), func(_, _ []byte) error { t.Error("called on {}"); return nil }); err != nil {
		t.Error(err)
	}
}

func TestEachElement(t *testing.T) {
	var got []string
	if err := eachElement([]byte(`[ 1 ,"a,b", {"c":[2]} ,[]]`), func(v []byte) error {
		got = append(got, string(v))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "|") != `1|"a,b"|{"c":[2]}|[]` {
		t.Errorf("elements %q", got)
	}
	for _, bad := range []string{``, `{}`, `[1,]`, `[1 2]`, `[1`} {
		if err := eachElement([]byte(bad), func([]byte) error { return nil }); err == nil {
			t.Errorf("eachElement(%q) accepted it", bad)
		}
	}
}

// FuzzSkipValue: on valid JSON the scanner finds exactly the value's end,
// and on anything it never panics or returns an offset outside the input.
func FuzzSkipValue(f *testing.F) {
	for _, s := range []string{`{"a":"b\"c","d":[1,{"e":null}]}`, `[1,2]`, `"x\\"`, `{"a":`, `]`, `-1e5`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		end := skipValue(data, 0)
		if end > len(data) || end == 0 {
			t.Fatalf("skipValue = %d for %d bytes", end, len(data))
		}
		if len(data) > 0 && !isSpace(data[0]) && json.Valid(data) {
			if want := len(bytes.TrimRight(data, " \t\r\n")); end != want {
				t.Fatalf("skipValue(%q) = %d, want %d", data, end, want)
			}
		}
		if len(data) > 0 && data[0] == '{' && json.Valid(data) {
			var want map[string]json.RawMessage
			if err := json.Unmarshal(data, &want); err == nil {
				n := 0
				if err := eachMember(bytes.TrimRight(data, " \t\r\n"), func(_, v []byte) error {
					n++
					if !json.Valid(v) {
						t.Fatalf("member value %q is not a JSON value", v)
					}
					return nil
				}); err != nil {
					t.Fatalf("eachMember rejected valid %q: %v", data, err)
				}
				if n < len(want) {
					t.Fatalf("eachMember saw %d members, encoding/json %d", n, len(want))
				}
			}
		}
	})
}
