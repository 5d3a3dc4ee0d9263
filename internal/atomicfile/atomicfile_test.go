package atomicfile

import (
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
// millisecond, ~0.25 s in all), with the write-back started as the file
// grows (Write) and without it (written through Temp, as before).
// commit-ms is Commit alone.
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
		{"writeback", (*File).Write},
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
