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

// scanStringRef is ScanString one byte at a time: the reference the
// word-at-a-time scan is checked against.
func scanStringRef(b []byte, i int) (end int, escaped bool, err error) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '"':
			return j + 1, escaped, nil
		case '\\':
			escaped = true
			j++
		}
	}
	return 0, false, ErrSyntax
}

func TestScanString(t *testing.T) {
	tests := []struct {
		name    string
		in      string // the string starts at in[0]
		end     int
		escaped bool
		wantErr bool
	}{
		{name: "empty", in: `""`, end: 2},
		{name: "short", in: `"abc",`, end: 5},
		{name: "quote is the 8th byte", in: `"1234567"tail`, end: 9},
		{name: "quote is the 9th byte", in: `"12345678"tail`, end: 10},
		{name: "long", in: `"` + strings.Repeat("x", 100) + `"`, end: 102},
		{name: "escaped quote", in: `"a\"b"`, end: 6, escaped: true},
		{name: "escaped quote across a word", in: `"1234567\"9"`, end: 12, escaped: true},
		{name: "escaped backslash then quote", in: `"123456\\"x"`, end: 10, escaped: true},
		{name: "three backslashes then quote", in: `"12345\\\"x"`, end: 12, escaped: true},
		{name: "escape in the tail", in: `"` + strings.Repeat("y", 9) + `\n"`, end: 13, escaped: true},
		{name: "unterminated", in: `"abcdefghijk`, wantErr: true},
		{name: "ends in a backslash", in: `"abcdefghij\`, wantErr: true},
		{name: "ends in an escaped quote", in: `"abcdefghij\"`, wantErr: true},
		{name: "high bytes", in: "\"\xff\xfe\x80\xe2\x80\xa8\x00\x01\"", end: 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			end, esc, err := ScanString([]byte(tc.in), 0)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err == nil && (end != tc.end || esc != tc.escaped) {
				t.Errorf("ScanString(%q) = %d, %v; want %d, %v", tc.in, end, esc, tc.end, tc.escaped)
			}
			if send, serr := skipString([]byte(tc.in), 0); send != end || (serr == nil) != (err == nil) {
				t.Errorf("skipString(%q) = %d, %v; ScanString says %d, %v", tc.in, send, serr, end, err)
			}
		})
	}
}

func FuzzScanString(f *testing.F) {
	for _, s := range []string{`"abc"`, `"1234567\"9"x`, `"\\\\\\"`, `"a\u0041"`, "\"\x22\x5c\x22\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 || b[0] != '"' {
			b = append([]byte{'"'}, b...)
		}
		end, esc, err := ScanString(b, 0)
		wend, wesc, werr := scanStringRef(b, 0)
		if end != wend || esc != wesc || (err == nil) != (werr == nil) {
			t.Fatalf("ScanString(%q) = %d, %v, %v; the byte-at-a-time scan says %d, %v, %v", b, end, esc, err, wend, wesc, werr)
		}
		if send, serr := skipString(b, 0); send != wend || (serr == nil) != (werr == nil) {
			t.Fatalf("skipString(%q) = %d, %v; the byte-at-a-time scan says %d, %v", b, send, serr, wend, werr)
		}
	})
}
