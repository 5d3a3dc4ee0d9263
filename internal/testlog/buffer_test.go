package testlog

import (
	"strings"
	"sync"
	"testing"
)

// TestBufferConcurrent: writers and a reader at once keep every line whole
// (go test -race also catches a missing lock).
func TestBufferConcurrent(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for range 100 {
				_, _ = b.Write([]byte(strings.Repeat(string(rune('a'+w)), 8) + "\n"))
				_ = b.String()
			}
		})
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 400 {
		t.Fatalf("%d lines, want 400", len(lines))
	}
	for _, l := range lines {
		if len(l) != 8 || strings.Count(l, l[:1]) != 8 {
			t.Fatalf("torn line %q", l)
		}
	}
}
