package cli

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFileAtomic(t *testing.T) {
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
			err := WriteFileAtomic(tc.path, []byte("x\n"))
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
