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
		if got := debug.SetGCPercent(100); got != clusterGCPercent {
			t.Errorf("GC percent %d, want %d", got, clusterGCPercent)
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

func TestForRun(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOGC", "")
	unset(t, "GOGC")
	for _, tc := range []struct {
		name    string
		source  string
		grouped bool
		want    int
	}{
		{"default source", "", false, fileGCPercent},
		{"file", "file", false, fileGCPercent},
		{"file grouped", "file", true, clusterGCPercent},
		{"opensearch", "opensearch", false, clusterGCPercent},
		{"elasticsearch grouped", "elasticsearch", true, clusterGCPercent},
	} {
		debug.SetGCPercent(7)
		ForRun(tc.source, tc.grouped)
		if got := debug.SetGCPercent(100); got != tc.want {
			t.Errorf("%s: GC percent %d, want %d", tc.name, got, tc.want)
		}
	}
	t.Setenv("GOGC", "150")
	debug.SetGCPercent(150)
	ForRun("file", true)
	if got := debug.SetGCPercent(100); got != 150 {
		t.Errorf("GC percent %d, want the operator's 150", got)
	}
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
