package file

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
			it := newObjIter([]byte(tc.in))
			var got []string
			for it.next() {
				got = append(got, string(it.key)+"="+string(it.val))
			}
			err := it.rest()
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
			got, ok := unquote([]byte(tc.in), nil)
			if ok != tc.ok || (ok && string(got) != tc.want) {
				t.Errorf("unquote(%s) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
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

func TestParseAddrAgreesWithNetip(t *testing.T) {
	for _, s := range []string{
		"1.2.3.4", "255.255.255.255", "0.0.0.0", "01.2.3.4", "1.2.3", "1.2.3.4.5", "256.1.1.1",
		"1..2.3", "::ffff:1.2.3.4", "2001:db8::1", "fe80::1%eth0", "", "1.2.3.4 ", "a.b.c.d", "1.2.3.04",
	} {
		a, ok := parseAddr([]byte(s))
		if v4, ok4 := parseIPv4([]byte(s)); ok4 && v4 != a {
			t.Errorf("%q: fast path %v, parseAddr %v", s, v4, a)
		}
		var want string
		if ok {
			want = a.String()
		}
		if got := netipString(s); got != want {
			t.Errorf("parseAddr(%q) = %q, netip says %q", s, want, got)
		}
	}
}

func TestParsePort(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int
		st   fieldStatus
	}{
		{"number", `3389`, 3389, fieldOK},
		{"string", `"3389"`, 3389, fieldOK},
		{"string with spaces", `" 443 "`, 443, fieldOK},
		{"float", `443.0`, 443, fieldOK},
		{"zero", `0`, 0, fieldOK},
		{"max", `65535`, 65535, fieldOK},
		{"too big", `65536`, -1, fieldBad},
		{"negative", `-1`, -1, fieldBad},
		{"fraction", `443.5`, -1, fieldBad},
		{"name", `"https"`, -1, fieldBad},
		{"null", `null`, -1, fieldMissing},
		{"empty string", `""`, -1, fieldMissing},
		{"bool", `true`, -1, fieldBad},
		{"object", `{}`, -1, fieldBad},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, kind, err := scanValue([]byte(tc.in), 0)
			if err != nil {
				t.Fatal(err)
			}
			got, st := parsePort([]byte(tc.in), kind)
			if got != tc.want || st != tc.st {
				t.Errorf("parsePort(%s) = %d, %v; want %d, %v", tc.in, got, st, tc.want, tc.st)
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in, want string // want "" = does not parse
	}{
		{"2025-11-03T10:00:00.1234567Z", "2025-11-03T10:00:00.1234567Z"},
		{"2025-11-03T10:00:00Z", "2025-11-03T10:00:00Z"},
		{"2025-11-03T12:00:00+02:00", "2025-11-03T10:00:00Z"},
		{"2025-11-03T10:00:00.123", "2025-11-03T10:00:00.123Z"},
		{"2025-11-03 10:00:00.5", "2025-11-03T10:00:00.5Z"},
		{"11/3/2025, 10:00:00.000 AM", "2025-11-03T10:00:00Z"},
		{"Nov 3, 2025 10:00:00 PM", "2025-11-03T22:00:00Z"},
		{"yesterday", ""},
		{"", ""},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := parseTime([]byte(tc.in))
			if tc.want == "" {
				if ok {
					t.Errorf("parsed %q as %v", tc.in, got)
				}
				return
			}
			if !ok || got.Format("2006-01-02T15:04:05.999999999Z07:00") != tc.want {
				t.Errorf("parseTime(%q) = %v, %v; want %s", tc.in, got, ok, tc.want)
			}
		})
	}
}
