package writeback

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// flagsOf reads a file's status flags.
func flagsOf(t *testing.T, f *os.File) int {
	t.Helper()
	fl, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0)
	if err != nil {
		t.Fatal(err)
	}
	return fl
}

// onDirectFS: the test directory's file system is one NewDirect writes
// around the page cache on (CI's is; elsewhere the test still checks the
// content of the writes through the page cache).
func onDirectFS(t *testing.T, dir string) bool {
	var fs unix.Statfs_t
	if err := unix.Statfs(dir, &fs); err != nil {
		t.Fatal(err)
	}
	return directFS[int64(fs.Type)]
}

func TestNewDirectFile(t *testing.T) {
	tests := []struct {
		name       string
		existing   int // bytes in the file before, written to append
		writes     []int
		wantDirect bool // on a file system that takes O_DIRECT
	}{
		{"new file", 0, []int{100, directBuf, 4096, 7}, true},
		{"several buffers in one write", 0, []int{3*directBuf + 4095}, true},
		{"appending at an aligned size", 8192, []int{directBuf + 1}, true},
		{"appending at an unaligned size", 100, []int{directBuf + 1}, false},
		{"written nothing", 0, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out")
			head := pattern(99, tc.existing)
			if err := os.WriteFile(path, head, 0o600); err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			w := NewDirect(f, int64(tc.existing))
			wantDirect := tc.wantDirect && onDirectFS(t, dir)
			if w.Direct() != wantDirect {
				t.Fatalf("Direct() = %t, want %t", w.Direct(), wantDirect)
			}
			if got := flagsOf(t, f)&unix.O_DIRECT != 0; got != wantDirect {
				t.Fatalf("O_DIRECT set: %t, want %t", got, wantDirect)
			}
			want := append([]byte(nil), head...)
			for i, n := range tc.writes {
				p := pattern(i, n)
				if m, err := w.Write(p); m != n || err != nil {
					t.Fatalf("Write(%d bytes) = %d, %v", n, m, err)
				}
				want = append(want, p...)
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			if flagsOf(t, f)&unix.O_DIRECT != 0 {
				t.Error("O_DIRECT still set after Flush")
			}
			if _, err := w.Write([]byte("after\n")); err != nil { // through the page cache now
				t.Fatal(err)
			}
			want = append(want, "after\n"...)
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			checkFile(t, path, want)
		})
	}
}

// Not regular files and file systems that would copy anyway are written
// through the page cache.
func TestNewDirectNotTaken(t *testing.T) {
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	if NewDirect(devnull, 0).Direct() {
		t.Error("O_DIRECT on a device")
	}
	if _, err := os.Stat("/dev/shm"); err == nil {
		f, err := os.CreateTemp("/dev/shm", "writeback-*")
		if err != nil {
			t.Fatal(err)
		}
		defer os.Remove(f.Name())
		defer f.Close()
		if NewDirect(f, 0).Direct() {
			t.Error("O_DIRECT on tmpfs")
		}
	}
}
