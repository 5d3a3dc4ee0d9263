package atomicfile

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/edgewatch/edgewatch/internal/writeback"
)

// File is an output file that appears under its name only when the
// run succeeds: it is written to a temporary file in the same directory and
// renamed over the target on Commit. Abort (or a crash) leaves the target
// untouched.
type File struct {
	f       *os.File
	wb      *writeback.Writer // f, its data sent to disk as it is written
	path    string
	done    bool
	inPlace bool  // path is a device, pipe or socket: written in place
	err     error // a write failure Commit reports (Temp's flush)
}

// ErrIsDir: the path names a directory.
var ErrIsDir = errors.New("is a directory")

// Create starts writing path. A path that exists and is not a regular
// file (/dev/null, /dev/stdout, a named pipe) is written in place: renaming
// over it would replace the device with a file.
func Create(path string) (*File, error) {
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		if fi.IsDir() {
			return nil, fmt.Errorf("create output %s: %w", path, ErrIsDir)
		}
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return nil, fmt.Errorf("create output %s: %w", path, err)
		}
		return &File{f: f, wb: writeback.New(f, 0), path: path, inPlace: true}, nil
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("create output %s: %w", path, err)
	}
	return &File{f: f, wb: writeback.NewDirect(f, 0), path: path}, nil
}

// Write writes p. The data goes to disk as it is written (package
// writeback: around the page cache on a local disk file system, else with
// the kernel asked every few MiB to start writing it back), so that
// Commit's sync waits for the tail only; on a device or a pipe it is a
// plain write.
func (a *File) Write(p []byte) (int, error) { return a.wb.Write(p) }

// Temp is the temporary file being written, or nil when the path is
// written in place (a device, a pipe): what a run may offer its plugin as
// plugin.RunRequest.AlertFile. Whoever writes it from then on writes it
// as a plain file: what Write staged is written first, and the file is no
// longer written around the page cache (a failure then is Commit's).
func (a *File) Temp() *os.File {
	if a.inPlace {
		return nil
	}
	if err := a.wb.Flush(); err != nil && a.err == nil {
		a.err = err
	}
	return a.f
}

// Commit syncs, closes and renames the temporary file to the target.
func (a *File) Commit() error {
	if a.done {
		return nil
	}
	a.done = true
	if a.inPlace {
		if err := a.f.Close(); err != nil {
			return fmt.Errorf("output %s: %w", a.path, err)
		}
		return nil
	}
	name := a.f.Name()
	if err := cmp.Or(a.err, a.wb.Flush()); err != nil {
		_ = a.f.Close()
		_ = os.Remove(name)
		return fmt.Errorf("output %s: %w", a.path, err)
	}
	if err := a.f.Chmod(0o644); err != nil {
		_ = a.f.Close()
		_ = os.Remove(name)
		return fmt.Errorf("output %s: %w", a.path, err)
	}
	if err := a.f.Sync(); err != nil {
		_ = a.f.Close()
		_ = os.Remove(name)
		return fmt.Errorf("output %s: %w", a.path, err)
	}
	if err := a.f.Close(); err != nil {
		_ = os.Remove(name)
		return fmt.Errorf("output %s: %w", a.path, err)
	}
	if err := os.Rename(name, a.path); err != nil {
		_ = os.Remove(name)
		return fmt.Errorf("output %s: %w", a.path, err)
	}
	return nil
}

// Abort removes the temporary file. It is a no-op after Commit.
func (a *File) Abort() {
	if a.done {
		return
	}
	a.done = true
	a.wb.Discard()
	_ = a.f.Close()
	if !a.inPlace {
		_ = os.Remove(a.f.Name())
	}
}

// WriteFile writes data to path through a temporary file.
func WriteFile(path string, data []byte) error {
	a, err := Create(path)
	if err != nil {
		return err
	}
	if _, err := a.Write(data); err != nil {
		a.Abort()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return a.Commit()
}
