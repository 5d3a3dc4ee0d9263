package jsonenc

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzAppendString: strings are escaped exactly as encoding/json escapes them.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", `say "hi"`, `c:\\x`, "tab\there\r\n", "\b\f\x00\x1f\x7f", "<a href='x'>&</a>", "\u2028\u2029", "\xff\xfe", "ok\xc3", "héllo ✓ 🙂", "\u00e9\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := AppendString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("AppendString(%q) = %s, want %s", s, got, want)
		}
		if got := AppendString(nil, []byte(s)); !bytes.Equal(got, want) {
			t.Fatalf("AppendString([]byte(%q)) = %s, want %s", s, got, want)
		}
	})
}
