package writeback

import (
	"os"
)

// Every is how much is written between two write-back requests: large
// enough that the requests cost nothing, small enough that little is left
// for the final fsync.
const Every = 4 << 20

// startFn is start, replaced by the tests to see the requests.
var startFn = start

// Writer writes to a file and gets its data to disk as it goes: it asks
// the kernel to start writing back each Every bytes once they are written
// (New), or writes around the page cache (NewDirect). Call Flush before
// syncing or closing the file, or Discard to give the file up.
type Writer struct {
	f       *os.File
	off     int64   // the file offset after the last write
	started int64   // write-back was requested for [.., started)
	d       *direct // NewDirect's O_DIRECT writer; nil when writing through the page cache
}

// New writes to f, whose next write lands at offset off (its size, for a
// file opened to append).
func New(f *os.File, off int64) *Writer {
	return &Writer{f: f, off: off, started: off}
}

// NewDirect is New, writing with O_DIRECT where f (a regular file whose
// next write lands at off) takes it; see the package comment.
func NewDirect(f *os.File, off int64) *Writer {
	w := New(f, off)
	w.d = newDirect(f, off)
	return w
}

// Direct reports whether the writer writes around the page cache.
func (w *Writer) Direct() bool { return w.d != nil }

// Write writes p to the file. In direct mode p is staged, and an error
// from writing staged bytes surfaces on a later Write or on Flush.
func (w *Writer) Write(p []byte) (int, error) {
	if w.d != nil {
		n, err := w.d.write(p)
		w.off += int64(n)
		return n, err
	}
	n, err := w.f.Write(p)
	w.off += int64(n)
	if w.off-w.started >= Every {
		startFn(w.f, w.started, w.off-w.started)
		w.started = w.off
	}
	return n, err
}

// Flush writes what is staged and leaves the file written through the
// page cache, as New would have: after it the file can be synced, closed
// or written on. It does nothing for a New writer.
func (w *Writer) Flush() error {
	if w.d == nil {
		return nil
	}
	err := w.d.flush()
	w.d = nil
	w.started = w.off
	return err
}

// Discard drops what is staged and stops the writer's goroutine, for a
// file that is given up. It does nothing for a New writer.
func (w *Writer) Discard() {
	if w.d == nil {
		return
	}
	w.d.discard()
	w.d = nil
}
