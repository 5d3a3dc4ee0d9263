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

// Writer writes to a file and asks the kernel to start writing back each
// Every bytes once they are written.
type Writer struct {
	f       *os.File
	off     int64 // the file offset after the last write
	started int64 // write-back was requested for [.., started)
}

// New writes to f, whose next write lands at offset off (its size, for a
// file opened to append).
func New(f *os.File, off int64) *Writer {
	return &Writer{f: f, off: off, started: off}
}

// Write writes p to the file.
func (w *Writer) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.off += int64(n)
	if w.off-w.started >= Every {
		startFn(w.f, w.started, w.off-w.started)
		w.started = w.off
	}
	return n, err
}
