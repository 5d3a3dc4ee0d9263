package writeback

import (
	"errors"
	"sync"
	"syscall"
	"unsafe"
)

// directBuf is the size of each of the two staging buffers: a multiple of
// every alignment O_DIRECT asks for, and large writes for the device.
const directBuf = 2 << 20

// directFile is what the direct writer needs of the file: writes, and
// turning O_DIRECT off (for the last partial block, or when the file
// refuses a direct write after all).
type directFile interface {
	Write(p []byte) (int, error)
	endDirect() error
}

// direct stages writes in aligned buffers. The first grows from 64 KiB to
// directBuf as the file does, so a small file costs a small buffer and is
// written by Flush alone; from the first full buffer on, a goroutine writes
// each full buffer while the caller fills a second one.
type direct struct {
	f     directFile
	align int // the file offset and buffer alignment O_DIRECT asks for

	cur  []byte        // being filled; nil before the first write
	free chan []byte   // buffers back from the goroutine; nil until it starts
	work chan []byte   // buffers for the goroutine to write
	done chan struct{} // closed when the goroutine has ended

	mu       sync.Mutex
	err      error // the first write error
	buffered bool  // the file refused O_DIRECT: written through the page cache
}

// directFirst is the first buffer's size.
const directFirst = 64 << 10

func newDirectWriter(f directFile, align int) *direct {
	return &direct{f: f, align: align}
}

func (d *direct) failed() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.err
}

func (d *direct) fail(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err == nil {
		d.err = err
	}
}

// grow makes room for more bytes in a buffer smaller than directBuf.
func (d *direct) grow(more int) {
	size := max(directFirst, 2*cap(d.cur))
	for size < len(d.cur)+more && size < directBuf {
		size *= 2
	}
	b := alignedBuf(min(size, directBuf), d.align)
	d.cur = append(b, d.cur...)
}

// handOff gives the full buffer to the goroutine (started by the first
// one) and takes the other.
func (d *direct) handOff() {
	if d.work == nil {
		d.free, d.work, d.done = make(chan []byte, 2), make(chan []byte, 2), make(chan struct{})
		d.free <- alignedBuf(directBuf, d.align)
		go func() {
			defer close(d.done)
			for b := range d.work {
				if d.failed() == nil {
					if err := d.writeOut(b); err != nil {
						d.fail(err)
					}
				}
				d.free <- b[:0]
			}
		}()
	}
	d.work <- d.cur
	d.cur = <-d.free // waits while the device is behind
}

// writeOut writes one buffer. A file that refuses the direct write
// (EINVAL before anything is written: a file system that turns O_DIRECT
// away at write time) is written through the page cache from then on.
func (d *direct) writeOut(b []byte) error {
	if !d.buffered {
		n, err := d.f.Write(b)
		if err == nil || n > 0 || !errors.Is(err, syscall.EINVAL) {
			return err
		}
		if err := d.f.endDirect(); err != nil {
			return err
		}
		d.buffered = true
	}
	_, err := d.f.Write(b)
	return err
}

func (d *direct) write(p []byte) (int, error) {
	if err := d.failed(); err != nil {
		return 0, err
	}
	n := 0
	for n < len(p) {
		if len(d.cur) == cap(d.cur) {
			if cap(d.cur) < directBuf {
				d.grow(len(p) - n)
				continue
			}
			d.handOff()
			if err := d.failed(); err != nil {
				return n, err
			}
		}
		c := copy(d.cur[len(d.cur):cap(d.cur)], p[n:])
		d.cur = d.cur[:len(d.cur)+c]
		n += c
	}
	return n, nil
}

// flush writes the whole blocks staged with O_DIRECT (waiting for the
// goroutine, if it started), turns O_DIRECT off and writes the last
// partial block.
func (d *direct) flush() error {
	whole := len(d.cur) / d.align * d.align
	if d.work != nil {
		if whole > 0 {
			d.work <- d.cur[:whole] // the goroutine reads [:whole] only
		}
		close(d.work)
		<-d.done
		if err := d.failed(); err != nil {
			return err
		}
	} else if whole > 0 {
		if err := d.writeOut(d.cur[:whole]); err != nil {
			return err
		}
	}
	if err := d.f.endDirect(); err != nil {
		return err
	}
	if tail := d.cur[whole:]; len(tail) > 0 {
		if _, err := d.f.Write(tail); err != nil {
			return err
		}
	}
	return nil
}

// discard stops the goroutine, if it started; what is staged is dropped.
func (d *direct) discard() {
	if d.work == nil {
		return
	}
	d.fail(errors.New("writeback: discarded"))
	close(d.work)
	<-d.done
}

// alignedBuf is an empty slice of capacity n whose array starts at a
// multiple of align (a power of two).
func alignedBuf(n, align int) []byte {
	raw := make([]byte, n+align)
	off := 0
	if r := int(uintptr(unsafe.Pointer(&raw[0])) & uintptr(align-1)); r != 0 {
		off = align - r
	}
	return raw[off : off : off+n]
}
