package jsonscan

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestObjIter(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string // key=value pairs, raw
		wantErr bool
	}{
		{name: "empty object", in: `{}`},
		{name: "spaces", in: " { \"a\" : 1 , \"b\":\"x\" } ", want: []string{`a=1`, `b="x"`}},
		{name: "nested values are skipped whole", in: `{"a":{"b":[1,{"c":"}"}]},"d":true}`, want: []string{`a={"b":[1,{"c":"}"}]}`, `d=true`}},
		{name: "escaped quote in value", in: `{"a":"x\"y","b":null}`, want: []string{`a="x\"y"`, `b=null`}},
		{name: "escaped backslash before quote", in: `{"a":"x\\","b":false}`, want: []string{`a="x\\"`, `b=false`}},
		{name: "negative float exponent", in: `{"n":-1.5e+3}`, want: []string{`n=-1.5e+3`}},
		{name: "truncated", in: `{"a":1,"b":"x`, want: []string{`a=1`}, wantErr: true},
		{name: "missing colon", in: `{"a" 1}`, wantErr: true},
		{name: "trailing comma", in: `{"a":1,}`, want: []string{`a=1`}, wantErr: true},
		{name: "missing comma", in: `{"a":1 "b":2}`, want: []string{`a=1`}, wantErr: true},
		{name: "mismatched brackets", in: `{"a":[1}`, wantErr: true},
		{name: "bad literal", in: `{"a":tru}`, wantErr: true},
		{name: "not an object", in: `[1]`, wantErr: true},
		{name: "unquoted key", in: `{a:1}`, wantErr: true},
		{name: "garbage after", in: `{"a":1} x`, want: []string{`a=1`}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			it := NewObjIter([]byte(tc.in))
			var got []string
			for it.Next() {
				got = append(got, string(it.Key)+"="+string(it.Val))
			}
			err := it.Rest()
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("members = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestUnquote(t *testing.T) {
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"plain", `"abc"`, "abc", true},
		{"escapes", `"a\"b\\c\/d\n\t"`, "a\"b\\c/d\n\t", true},
		{"unicode", `"\u0041\u00e9"`, "Aé", true},
		{"surrogate pair", `"\ud83d\ude00"`, "😀", true},
		{"lone surrogate", `"\ud83d"`, "\ufffd", true},
		{"bad escape", `"\x"`, "", false},
		{"short unicode", `"\u12"`, "", false},
		{"not a string", `12`, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Unquote([]byte(tc.in), nil)
			if ok != tc.ok || (ok && string(got) != tc.want) {
				t.Errorf("Unquote(%s) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
			}
			if tc.ok {
				var s string
				if err := json.Unmarshal([]byte(tc.in), &s); err != nil || s != string(got) {
					t.Errorf("encoding/json says %q (%v)", s, err)
				}
			}
		})
	}
}
