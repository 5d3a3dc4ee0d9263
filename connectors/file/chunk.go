package file

import (
	"bytes"
	"fmt"
	"io"
	"sync"
)

// chunkSize is how much NDJSON one decoding job holds. Large enough that
// per-chunk overhead vanishes, small enough that a few in flight stay far
// below the memory budget.
const chunkSize = 1 << 20

// maxLine bounds one NDJSON line; a longer "line" is not NDJSON.
const maxLine = 256 << 20

// chunk is a run of whole NDJSON lines.
type chunk struct {
	buf  *[]byte // pooled backing array
	data []byte  // whole lines, the last one ending in '\n' (except at EOF)
	line int     // 1-based number of the first line in data
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

// chunker cuts a stream into chunks at line boundaries.
type chunker struct {
	r    io.Reader
	tail []byte // the partial last line of the previous read
	line int    // number of the next line
	eof  bool
}

func newChunker(r io.Reader) *chunker {
	return &chunker{r: r, line: 1, tail: make([]byte, 0, 64<<10)}
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
		nb := make([]byte, 2*len(c.tail))
		bp, buf = &nb, nb
	}
	n := copy(buf, c.tail)
	c.tail = c.tail[:0]
	scanned := 0 // bytes already searched for '\n'
	for {
		if !c.eof && n < len(buf) {
			m, err := io.ReadFull(c.r, buf[n:])
			n += m
			switch err {
			case nil:
			case io.EOF, io.ErrUnexpectedEOF:
				c.eof = true
			default:
				return nil, err
			}
		}
		data := buf[:n]
		if c.eof {
			if n == 0 {
				chunkPool.Put(bp)
				return nil, io.EOF
			}
			ch := &chunk{buf: bp, data: data, line: c.line}
			c.line += bytes.Count(data, []byte{'\n'})
			return ch, nil
		}
		if last := bytes.LastIndexByte(data[scanned:], '\n'); last >= 0 {
			end := scanned + last + 1
			c.tail = append(c.tail, data[end:]...)
			ch := &chunk{buf: bp, data: data[:end], line: c.line}
			c.line += bytes.Count(ch.data, []byte{'\n'})
			return ch, nil
		}
		// One line fills the buffer: grow it.
		if len(buf) >= maxLine {
			return nil, fmt.Errorf("line %d is longer than %d MiB", c.line, maxLine>>20)
		}
		scanned = n
		nb := make([]byte, 2*len(buf))
		copy(nb, buf[:n])
		if cap(*bp) == chunkSize {
			chunkPool.Put(bp)
		}
		bp, buf = &nb, nb
	}
}

// lines calls fn for each line of a chunk with its number.
func (ch *chunk) lines(fn func(line []byte, n int)) {
	data, n := ch.data, ch.line
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			fn(data, n)
			return
		}
		fn(data[:i], n)
		data = data[i+1:]
		n++
	}
}
