package atomicfile

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name    string
		path    string
		wantReg bool // the path is a regular file afterwards
		wantErr bool
	}{
		{"new file", filepath.Join(dir, "out.ndjson"), true, false},
		{"device stays a device", os.DevNull, false, false},
		{"directory refused", dir, false, true},
		{"missing directory", filepath.Join(dir, "no", "such", "out"), false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := WriteFile(tc.path, []byte("x\n"))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			fi, err := os.Stat(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().IsRegular() != tc.wantReg {
				t.Fatalf("%s mode = %v, want regular=%v", tc.path, fi.Mode(), tc.wantReg)
			}
		})
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".*tmp-*"))
	if len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

// BenchmarkCommit: the sync before the rename, after the alert-heavy run's
// 54 MB of NDJSON written at the pace that run writes it (256 KiB a
// millisecond, ~0.25 s in all), through Write (around the page cache on a
// local disk, else with the write-back started as the file grows) and
// without either (written through Temp, as before). commit-ms is Commit
// alone.
func BenchmarkCommit(b *testing.B) {
	const size, chunk = 54 << 20, 256 << 10
	data := make([]byte, chunk)
	for i := range data {
		data[i] = 'a' + byte(i%26)
	}
	for _, bc := range []struct {
		name  string
		write func(f *File, p []byte) (int, error)
	}{
		{"write", (*File).Write},
		{"plain", func(f *File, p []byte) (int, error) { return f.Temp().Write(p) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "alerts.ndjson")
			var commit time.Duration
			for b.Loop() {
				f, err := Create(path)
				if err != nil {
					b.Fatal(err)
				}
				for n := 0; n < size; n += chunk {
					if _, err := bc.write(f, data); err != nil {
						b.Fatal(err)
					}
					time.Sleep(time.Millisecond)
				}
				start := time.Now()
				if err := f.Commit(); err != nil {
					b.Fatal(err)
				}
				commit += time.Since(start)
			}
			b.ReportMetric(float64(commit.Microseconds())/1000/float64(b.N), "commit-ms")
		})
	}
}

// What Write wrote and what was written through Temp afterwards land in
// order, whole, under the name; Abort leaves nothing behind. The sizes
// take the writer through its staging buffers and a partial last block
// (package writeback writes around the page cache on a local disk).
func TestWriteThenTemp(t *testing.T) {
	chunk := func(i, n int) []byte {
		p := make([]byte, n)
		for j := range p {
			p[j] = byte('a' + (i+j)%26)
		}
		return p
	}
	tests := []struct {
		name   string
		writes []int // through Write
		temp   []int // then through Temp
		abort  bool
	}{
		{"small", []int{10, 20}, nil, false},
		{"several MiB in odd pieces", []int{1 << 20, 3<<20 + 17, 4093, 5}, nil, false},
		{"then the plain file", []int{3<<20 + 1}, []int{100, 5000}, false},
		{"aborted", []int{5 << 20}, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "alerts.ndjson")
			f, err := Create(path)
			if err != nil {
				t.Fatal(err)
			}
			var want []byte
			for i, n := range tc.writes {
				p := chunk(i, n)
				if _, err := f.Write(p); err != nil {
					t.Fatal(err)
				}
				want = append(want, p...)
			}
			for i, n := range tc.temp {
				p := chunk(100+i, n)
				if _, err := f.Temp().Write(p); err != nil {
					t.Fatal(err)
				}
				want = append(want, p...)
			}
			if tc.abort {
				f.Abort()
				if _, err := os.Stat(path); !os.IsNotExist(err) {
					t.Errorf("the target exists after Abort: %v", err)
				}
			} else {
				if err := f.Commit(); err != nil {
					t.Fatal(err)
				}
				got, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("the file holds %d bytes, not the %d written in order", len(got), len(want))
				}
			}
			if left, _ := filepath.Glob(filepath.Join(dir, ".*tmp-*")); len(left) > 0 {
				t.Errorf("temporary files left behind: %v", left)
			}
		})
	}
}
