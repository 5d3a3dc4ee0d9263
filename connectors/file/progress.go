package file

import (
	"io"
	"io/fs"
	"os"
	"sync/atomic"
	"time"

	"github.com/edgewatch/edgewatch/connectors"
)

// progressEvery is the least time between two progress reports.
const progressEvery = 250 * time.Millisecond

// progress reports bytes read (of the files as stored, so compressed bytes
// for gzip) against the total size of a read's files. It is only called
// from the goroutine that calls the caller's callbacks.
type progress struct {
	fn    connectors.ProgressFunc
	total int64
	base  int64        // bytes of the files already finished
	cur   atomic.Int64 // bytes read of the current file (written by the reader goroutine)
	last  time.Time
}

func newProgress(fn connectors.ProgressFunc, fsys fs.FS, paths []string) *progress {
	if fn == nil {
		return nil
	}
	p := &progress{fn: fn, last: time.Now()}
	for _, path := range paths {
		var st fs.FileInfo
		var err error
		if fsys != nil {
			st, err = fs.Stat(fsys, path)
		} else {
			st, err = os.Stat(path)
		}
		if err == nil && st.Mode().IsRegular() {
			p.total += st.Size()
		}
	}
	return p
}

// counter returns where the current file's reader counts its bytes.
func (p *progress) counter() *atomic.Int64 {
	if p == nil {
		return nil
	}
	p.cur.Store(0)
	return &p.cur
}

// tick reports, at most every progressEvery.
func (p *progress) tick() {
	if p == nil {
		return
	}
	if now := time.Now(); now.Sub(p.last) >= progressEvery {
		p.last = now
		p.fn(p.base+p.cur.Load(), p.total, "bytes")
	}
}

// fileDone moves the current file's bytes to the finished ones.
func (p *progress) fileDone() {
	if p == nil {
		return
	}
	p.base += p.cur.Swap(0)
}

// finish reports the end of the read.
func (p *progress) finish() {
	if p == nil {
		return
	}
	p.fileDone()
	p.fn(p.base, max(p.total, p.base), "bytes")
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	return n, err
}
