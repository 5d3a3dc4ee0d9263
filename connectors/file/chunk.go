package file

import (
	"bytes"
	"io"
	"sync"
)

// chunkSize is how much NDJSON one decoding job holds. Large enough that
// per-chunk overhead vanishes, small enough that a few in flight stay far
// below the memory budget.
const chunkSize = 1 << 20

// chunk is a run of whole NDJSON lines. It does not know its line numbers:
// counting them would cost the reader goroutine a pass over every byte, so
// rows numbers them from a base the caller gives (the chunk's place in the
// file, or 0 for numbers a worker's decoder shifts once the chunk's place is
// known, see eventDecoder.shiftLines).
type chunk struct {
	buf  *[]byte // pooled backing array
	data []byte  // whole lines, the last one ending in '\n' (except at EOF)
	// tooLarge: the lines just before data that were longer than the
	// maximum row size, skipped unread.
	tooLarge int
}

var chunkPool = sync.Pool{New: func() any {
	b := make([]byte, chunkSize)
	return &b
}}

func (c *chunk) release() {
	if c.buf != nil && cap(*c.buf) == chunkSize {
		chunkPool.Put(c.buf)
	}
	c.buf, c.data = nil, nil
}

// chunker cuts a stream into chunks at line boundaries. A line longer than
// maxRow is read past without being kept and reported in the next chunk's
// tooLarge: memory stays within a few maxRow whatever the input.
type chunker struct {
	r      io.Reader
	maxRow int
	tail   []byte // the partial last line of the previous read
	eof    bool
}

func newChunker(r io.Reader, maxRow int) *chunker {
	return &chunker{r: r, maxRow: maxRow, tail: make([]byte, 0, 64<<10)}
}

// fill reads into buf[n:] until it is full or the input ends. Only io.EOF
// ends the input: any other error, io.ErrUnexpectedEOF from a truncated
// gzip stream included, is returned.
func (c *chunker) fill(buf []byte, n int) (int, error) {
	for !c.eof && n < len(buf) {
		m, err := c.r.Read(buf[n:])
		n += m
		if err == io.EOF {
			c.eof = true
		} else if err != nil {
			return n, err
		}
	}
	return n, nil
}

// next returns the next chunk, or io.EOF.
func (c *chunker) next() (*chunk, error) {
	if c.eof && len(c.tail) == 0 {
		return nil, io.EOF
	}
	bp := chunkPool.Get().(*[]byte)
	buf := (*bp)[:cap(*bp)]
	if len(c.tail) > len(buf) {
		chunkPool.Put(bp)
		nb := make([]byte, min(2*len(c.tail), c.maxRow+1)) // a tail is at most maxRow
		bp, buf = &nb, nb
	}
	n := copy(buf, c.tail)
	c.tail = c.tail[:0]
	scanned := 0 // bytes already searched for '\n'
	tooLarge := 0
	for {
		var err error
		if n, err = c.fill(buf, n); err != nil {
			c.release(bp)
			return nil, err
		}
		data := buf[:n]
		if last := bytes.LastIndexByte(data[scanned:], '\n'); last >= 0 && !c.eof {
			end := scanned + last + 1
			c.tail = append(c.tail, data[end:]...)
			return &chunk{buf: bp, data: data[:end], tooLarge: tooLarge}, nil
		}
		if c.eof && (n <= c.maxRow || bytes.IndexByte(data, '\n') >= 0) {
			if n == 0 && tooLarge == 0 {
				c.release(bp)
				return nil, io.EOF
			}
			return &chunk{buf: bp, data: data, tooLarge: tooLarge}, nil
		}
		// buf holds one partial line from its start.
		if n > c.maxRow {
			tooLarge++
			if n, err = c.skipLine(buf); err != nil {
				c.release(bp)
				return nil, err
			}
			scanned = 0
			continue
		}
		// Grow the buffer, up to one byte more than the largest row.
		scanned = n
		size := 2 * len(buf)
		if size >= c.maxRow {
			size = c.maxRow + 1
		}
		nb := make([]byte, size)
		copy(nb, buf[:n])
		c.release(bp)
		bp, buf = &nb, nb
	}
}

// skipLine reads past the rest of a line that does not fit in buf (which it
// uses as scratch) and moves what follows its '\n' to the start of buf.
func (c *chunker) skipLine(buf []byte) (int, error) {
	for {
		if c.eof {
			return 0, nil
		}
		n, err := c.fill(buf, 0)
		if err != nil {
			return 0, err
		}
		if i := bytes.IndexByte(buf[:n], '\n'); i >= 0 {
			return copy(buf, buf[i+1:n]), nil
		}
	}
}

// release returns a pooled buffer to the pool.
func (c *chunker) release(bp *[]byte) {
	if cap(*bp) == chunkSize {
		chunkPool.Put(bp)
	}
}

// rows calls row for each line of a chunk with its number, and tooLarge
// for each line longer than maxRow (those the chunker read past, then
// those in data). The chunk's first line is number first; rows returns the
// number of the line after the chunk.
func (ch *chunk) rows(first, maxRow int, row func(line []byte, n int), tooLarge func(n int)) (next int) {
	n := first
	for range ch.tooLarge {
		tooLarge(n)
		n++
	}
	data := ch.data
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			i = len(data)
		}
		if i > maxRow {
			tooLarge(n)
		} else {
			row(data[:i], n)
		}
		if i == len(data) {
			return n + 1 // no '\n': the input's last line
		}
		data = data[i+1:]
		n++
	}
	return n
}
