package gctune

import (
	"math"
	"os"
	"runtime/debug"
	"testing"
)

func TestApply(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))

	t.Run("defaults", func(t *testing.T) {
		t.Setenv("GOGC", "")
		t.Setenv("GOMEMLIMIT", "")
		// t.Setenv cannot unset: clear them the way an unset variable reads.
		unset(t, "GOGC", "GOMEMLIMIT")
		Apply()
		if got := debug.SetGCPercent(100); got != gcPercent {
			t.Errorf("GC percent %d, want %d", got, gcPercent)
		}
		if got := debug.SetMemoryLimit(-1); got != memoryLimit {
			t.Errorf("memory limit %d, want %d", got, memoryLimit)
		}
	})
	t.Run("operator's choice wins", func(t *testing.T) {
		t.Setenv("GOGC", "150")
		t.Setenv("GOMEMLIMIT", "1GiB")
		debug.SetGCPercent(150)
		debug.SetMemoryLimit(1 << 30)
		Apply()
		if got := debug.SetGCPercent(100); got != 150 {
			t.Errorf("GC percent %d, want the operator's 150", got)
		}
		if got := debug.SetMemoryLimit(-1); got != 1<<30 {
			t.Errorf("memory limit %d, want the operator's 1 GiB", got)
		}
	})
}

// unset removes variables for the rest of the test (t.Setenv restores them).
func unset(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if err := os.Unsetenv(n); err != nil {
			t.Fatal(err)
		}
	}
}
