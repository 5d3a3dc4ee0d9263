package golden

import (
	"os"
	"path/filepath"
	"testing"
)

// errRecorder is a testing.TB that keeps whether Errorf was called.
type errRecorder struct {
	testing.TB
	failed bool
}

func (r *errRecorder) Errorf(string, ...any) { r.failed = true }

// TestCheck: under -update, Check writes got (into a directory it
// creates); then the same bytes pass and other bytes fail.
func TestCheck(t *testing.T) {
	saved := *update // the test sets -update itself, also under go test -update
	t.Cleanup(func() { *update = saved })
	path := filepath.Join(t.TempDir(), "testdata", "out.golden")
	*update = true
	Check(t, path, []byte("one\n"))
	*update = false
	if b, err := os.ReadFile(path); err != nil || string(b) != "one\n" {
		t.Fatalf("-update wrote %q, %v", b, err)
	}
	Check(t, path, []byte("one\n"))
	r := &errRecorder{TB: t}
	Check(r, path, []byte("two\n"))
	if !r.failed {
		t.Error("Check passed bytes that differ from the golden file")
	}
}
