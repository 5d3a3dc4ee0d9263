package writeback

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestWriter(t *testing.T) {
	tests := []struct {
		name   string
		offset int64 // the file's size before
		writes []int
		want   [][2]int64 // the ranges write-back is started for
	}{
		{name: "small writes start nothing", writes: []int{10, 1000, Every - 1011}},
		{name: "the write that reaches Every starts it", writes: []int{Every - 1, 1, 5}, want: [][2]int64{{0, Every}}},
		{name: "one large write", writes: []int{3*Every + 7}, want: [][2]int64{{0, 3*Every + 7}}},
		{name: "ranges follow each other", writes: []int{Every / 2, Every / 2, Every / 2, Every / 2, Every / 2, Every / 2},
			want: [][2]int64{{0, Every}, {Every, Every}, {2 * Every, Every}}},
		{name: "appending to a file that has data", offset: 100, writes: []int{Every}, want: [][2]int64{{100, Every}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got [][2]int64
			startFn = func(f *os.File, off, n int64) {
				got = append(got, [2]int64{off, n})
				start(f, off, n) // the real request too: it must not disturb the file
			}
			t.Cleanup(func() { startFn = start })

			path := filepath.Join(t.TempDir(), "out")
			head := bytes.Repeat([]byte{'h'}, int(tc.offset))
			if err := os.WriteFile(path, head, 0o600); err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			w := New(f, tc.offset)
			want := append([]byte(nil), head...)
			for i, n := range tc.writes {
				p := bytes.Repeat([]byte{byte('a' + i)}, n)
				if m, err := w.Write(p); m != n || err != nil {
					t.Fatalf("Write(%d bytes) = %d, %v", n, m, err)
				}
				want = append(want, p...)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("write-back requests %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("write-back requests %v, want %v", got, tc.want)
				}
			}
			checkFile(t, path, want)
		})
	}
}

func TestWriterError(t *testing.T) {
	f, err := os.Open(filepath.Join(t.TempDir(), "..")) // a directory: writes fail
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := New(f, 0).Write([]byte("x")); err == nil {
		t.Error("a failed write reported no error")
	}
}

// checkFile: the file at path holds exactly want.
func checkFile(t *testing.T, path string, want []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, want) {
		t.Errorf("the file holds %d bytes, not the %d written", len(data), len(want))
	}
}
