package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/edgewatch/edgewatch/plugin"
)

// AtomicFile is an output file that appears under its name only when the
// run succeeds: it is written to a temporary file in the same directory and
// renamed over the target on Commit. Abort (or a crash) leaves the target
// untouched.
type AtomicFile struct {
	f      *os.File
	path   string
	done   bool
	direct bool // path is a device, pipe or socket: written in place
}

// CreateAtomic starts writing path. A path that exists and is not a regular
// file (/dev/null, /dev/stdout, a named pipe) is written in place: renaming
// over it would replace the device with a file.
func CreateAtomic(path string) (*AtomicFile, error) {
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		if fi.IsDir() {
			return nil, fmt.Errorf("create output %s: is a directory", path)
		}
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return nil, fmt.Errorf("create output %s: %w", path, err)
		}
		return &AtomicFile{f: f, path: path, direct: true}, nil
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("create output %s: %w", path, err)
	}
	return &AtomicFile{f: f, path: path}, nil
}

func (a *AtomicFile) Write(p []byte) (int, error) { return a.f.Write(p) }

// Commit syncs, closes and renames the temporary file to the target.
func (a *AtomicFile) Commit() error {
	if a.done {
		return nil
	}
	a.done = true
	if a.direct {
		if err := a.f.Close(); err != nil {
			return fmt.Errorf("output %s: %w", a.path, err)
		}
		return nil
	}
	name := a.f.Name()
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
func (a *AtomicFile) Abort() {
	if a.done {
		return
	}
	a.done = true
	_ = a.f.Close()
	if !a.direct {
		_ = os.Remove(a.f.Name())
	}
}

// WriteFileAtomic writes data to path through a temporary file.
func WriteFileAtomic(path string, data []byte) error {
	a, err := CreateAtomic(path)
	if err != nil {
		return err
	}
	if _, err := a.Write(data); err != nil {
		a.Abort()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return a.Commit()
}

// alertWriter renders alerts in one output format.
type alertWriter interface {
	Write(batch []plugin.Alert) error
	Flush() error
}

func newAlertWriter(format string, w io.Writer) (alertWriter, error) {
	switch format {
	case "", "ndjson":
		return &ndjsonWriter{w: bufio.NewWriterSize(w, 256<<10)}, nil
	case "table":
		return newTableWriter(w), nil
	}
	return nil, usageErrorf("--format %q: want ndjson or table", format)
}

// ndjsonWriter writes one ECS alert document per line.
type ndjsonWriter struct{ w *bufio.Writer }

func (n *ndjsonWriter) Write(batch []plugin.Alert) error {
	for i := range batch {
		if _, err := n.w.Write(batch[i].Document); err != nil {
			return err
		}
		if err := n.w.WriteByte('\n'); err != nil {
			return err
		}
	}
	return nil
}

func (n *ndjsonWriter) Flush() error { return n.w.Flush() }

// tableColumns are the table format's columns: the seed query's projection
// first, then the enrichment edgewatch adds.
var tableColumns = []string{"Timestamp", "DeviceName", "ThreatIntelligenceIP", "LocalPort",
	"InitiatingProcessFileName", "RemotePort", "IPsumCount", "Severity"}

// tableFlushRows bounds how many rows the table aligns at once, so that a
// huge result still streams (columns may widen between blocks).
const tableFlushRows = 10000

type tableWriter struct {
	out  io.Writer
	tw   *tabwriter.Writer
	rows int
}

func newTableWriter(w io.Writer) *tableWriter {
	t := &tableWriter{out: w}
	t.reset()
	return t
}

func (t *tableWriter) reset() {
	t.tw = tabwriter.NewWriter(t.out, 0, 0, 2, ' ', 0)
	for i, c := range tableColumns {
		if i > 0 {
			_, _ = io.WriteString(t.tw, "\t")
		}
		_, _ = io.WriteString(t.tw, c)
	}
	_, _ = io.WriteString(t.tw, "\n")
}

func (t *tableWriter) Write(batch []plugin.Alert) error {
	for i := range batch {
		r := &batch[i].Row
		ts := ""
		if !r.Timestamp.IsZero() {
			ts = r.Timestamp.UTC().Format(time.RFC3339Nano)
		}
		fields := []string{ts, dash(r.DeviceName), dash(r.ThreatIntelligenceIP), port(r.LocalPort),
			dash(r.InitiatingProcessFileName), port(r.RemotePort), strconv.Itoa(r.IPsumCount), dash(r.Severity)}
		for j, f := range fields {
			if j > 0 {
				if _, err := io.WriteString(t.tw, "\t"); err != nil {
					return err
				}
			}
			if _, err := io.WriteString(t.tw, f); err != nil {
				return err
			}
		}
		if _, err := io.WriteString(t.tw, "\n"); err != nil {
			return err
		}
		t.rows++
		if t.rows%tableFlushRows == 0 {
			if err := t.tw.Flush(); err != nil {
				return err
			}
			t.reset()
		}
	}
	return nil
}

func (t *tableWriter) Flush() error { return t.tw.Flush() }

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func port(p int) string {
	if p <= 0 {
		return "-"
	}
	return strconv.Itoa(p)
}

// runStream is the host's plugin.Stream for a run: alerts go to the
// output, progress to the terminal.
type runStream struct {
	out      alertWriter
	progress *progressLine
	written  int
}

func (r *runStream) Progress(_ context.Context, p plugin.Progress) error {
	r.progress.Update(p)
	return nil
}

func (r *runStream) Alerts(_ context.Context, batch []plugin.Alert) error {
	if err := r.out.Write(batch); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	r.written += len(batch)
	r.progress.Alerts(r.written)
	return nil
}

// errUsage marks an error caused by how edgewatch was invoked (exit 2).
var errUsage = errors.New("usage")

type usageError struct{ msg string }

func (u *usageError) Error() string        { return u.msg }
func (u *usageError) Is(target error) bool { return target == errUsage }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}
