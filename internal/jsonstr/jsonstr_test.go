package jsonstr

import (
	"encoding/json"
	"testing"
)

func TestAppend(t *testing.T) {
	tests := map[string]string{
		"empty":          "",
		"plain":          "web-01.contoso.com",
		"quote":          `say "hi"`,
		"backslash":      `C:\Windows\System32`,
		"newline tab cr": "a\nb\tc\rd",
		"control":        "\x00\x01\x1f",
		"utf-8":          "Zürich – 東京",
		"html":           "<a href=x>&</a>",
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			got := Append([]byte("x:"), in)
			if string(got[:2]) != "x:" {
				t.Fatalf("dst prefix lost: %q", got)
			}
			var back string
			if err := json.Unmarshal(got[2:], &back); err != nil || back != in {
				t.Errorf("Append(%q) = %s, decodes to %q, %v", in, got[2:], back, err)
			}
		})
	}
}

func FuzzAppend(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\x00", "Zürich"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Append(nil, s)
		if !json.Valid(got) {
			if json.Valid([]byte(`"` + s + `"`)) {
				t.Fatalf("Append(%q) = %s is not JSON", s, got)
			}
			return // invalid UTF-8 is copied as it is
		}
	})
}
