package plugin

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/edgewatch/edgewatch/internal/writeback"
	pb "github.com/edgewatch/edgewatch/plugin/internal/proto/edgewatch/v1"
)

// The alert file (RunRequest.AlertFile): on an alert-heavy run the
// documents are most of what crosses the plugin connection (54 MB for
// 21,600 alerts), each byte encrypted, framed and decrypted again. When
// the host writes them to a file it offers the plugin that file instead,
// and the plugin appends them itself.
//
// Why nothing is lost that the stream gave:
//   - Atomic output: the file is the host's temporary file beside the
//     output (atomicfile.File), which the host alone renames over the output
//     once the run has succeeded, or removes when it fails. The plugin
//     never names, creates, renames or removes a file.
//   - The very file: the host sends its path with its device and inode;
//     the plugin opens the path without following a symbolic link and
//     without blocking (a FIFO swapped in cannot stall it), and writes only
//     when the opened file is a regular file with that device and inode.
//     Otherwise it sends the documents over the connection as before.
//   - Whole lines, counted: the plugin appends whole documents only and
//     reports its totals; the host checks that the file grew by exactly
//     that many bytes and that it received no document over the stream as
//     well, and fails the run otherwise (ErrInvalidResponse).
//   - Durable: the plugin closes its descriptor before it reports the
//     result, so every write(2) is done; the host's fsync before the rename
//     covers them (fsync syncs the file, whichever descriptor wrote).
//   - Failures: a plugin that dies or fails mid-run leaves its partial
//     lines in the temporary file only, which the host removes.

// offerAlertFile describes f for RunRequest.alert_file, with its size now
// (the host checks the plugin's totals against its growth); ok is false
// when f cannot be offered (not a regular file, or a system without inode
// numbers).
func offerAlertFile(f *os.File) (af *pb.AlertFile, size int64, ok bool) {
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return nil, 0, false
	}
	dev, ino, ok := fileID(fi)
	if !ok {
		return nil, 0, false
	}
	path, err := filepath.Abs(f.Name())
	if err != nil {
		return nil, 0, false
	}
	return &pb.AlertFile{Path: path, Device: dev, Inode: ino}, fi.Size(), true
}

// errNotAlertFile: the path does not name the file the host offered.
var errNotAlertFile = errors.New("not the file the host offered")

// openAlertFile opens, for appending, the file a host offered; an error
// when the path does not name that very regular file.
func openAlertFile(af *pb.AlertFile) (*os.File, error) {
	path := af.GetPath()
	if !filepath.IsAbs(path) {
		return nil, fmt.Errorf("alert file %q: %w: not an absolute path", path, errNotAlertFile)
	}
	sameFile := sameFileAs(af)
	if err := sameFile(os.Lstat(path)); err != nil { // nothing opened that is not it
		return nil, fmt.Errorf("alert file %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|openNoFollow, 0)
	if err != nil {
		return nil, fmt.Errorf("alert file: %w", err)
	}
	if err := sameFile(f.Stat()); err != nil { // the path may have changed in between
		f.Close()
		return nil, fmt.Errorf("alert file %s: %w", path, err)
	}
	return f, nil
}

// sameFileAs returns the check openAlertFile applies to a stat result.
func sameFileAs(af *pb.AlertFile) func(os.FileInfo, error) error {
	return func(fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		dev, ino, ok := fileID(fi)
		if !fi.Mode().IsRegular() || !ok || dev != af.GetDevice() || ino != af.GetInode() {
			return errNotAlertFile
		}
		return nil
	}
}

// alertFileWriter is the plugin side of an alert file: it appends batches
// and keeps the totals.
type alertFileWriter struct {
	f       *os.File
	wb      *writeback.Writer // f, its data sent to disk as it grows
	written AlertsWritten
}

// newAlertFileWriter appends to f, a file openAlertFile opened.
func newAlertFileWriter(f *os.File) *alertFileWriter {
	var size int64
	if fi, err := f.Stat(); err == nil {
		size = fi.Size()
	}
	return &alertFileWriter{f: f, wb: writeback.NewDirect(f, size)}
}

// write appends one batch of whole lines.
func (w *alertFileWriter) write(b AlertBatch) error {
	n, err := w.wb.Write(b.NDJSON)
	w.written.Bytes += int64(n)
	if err != nil {
		return fmt.Errorf("write alert file: %w", err)
	}
	w.written.Documents += int64(b.Len())
	return nil
}

// close writes what the writer staged and closes the file: every write is
// done once it returns.
func (w *alertFileWriter) close() error {
	if err := w.wb.Flush(); err != nil {
		_ = w.f.Close()
		return fmt.Errorf("write alert file: %w", err)
	}
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("close alert file: %w", err)
	}
	return nil
}

// checkAlertFile is the host's check of a plugin's totals: the file grew by
// exactly the bytes the plugin reports, and no document came over the
// stream as well.
func checkAlertFile(f *os.File, before int64, w AlertsWritten, streamed bool) error {
	if streamed {
		return fmt.Errorf("%w: the plugin wrote the alert file and sent documents as well", ErrInvalidResponse)
	}
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("alert file: %w", err)
	}
	if got := fi.Size() - before; got != w.Bytes || w.Documents < 0 || (w.Bytes > 0) != (w.Documents > 0) {
		return fmt.Errorf("%w: the plugin reports %d documents in %d bytes written into the alert file, which grew by %d bytes",
			ErrInvalidResponse, w.Documents, w.Bytes, got)
	}
	return nil
}
