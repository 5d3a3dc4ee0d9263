package writeback

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"unsafe"
)

// fakeDirect records the writes a direct writer makes: while O_DIRECT is
// on, each must be whole blocks from an aligned buffer.
type fakeDirect struct {
	t     *testing.T
	align int

	mu       sync.Mutex
	data     []byte
	direct   bool
	writes   int
	failAt   int   // the write (1-based) that fails with failErr
	failErr  error // returned with nothing written
	endCalls int
}

func (f *fakeDirect) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes++
	if f.writes == f.failAt {
		return 0, f.failErr
	}
	if f.direct {
		if len(p)%f.align != 0 {
			f.t.Errorf("direct write of %d bytes, not whole %d-byte blocks", len(p), f.align)
		}
		if len(p) > 0 && uintptr(unsafe.Pointer(&p[0]))%uintptr(f.align) != 0 {
			f.t.Errorf("direct write from an unaligned buffer")
		}
	}
	f.data = append(f.data, p...)
	return len(p), nil
}

func (f *fakeDirect) endDirect() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.direct = false
	f.endCalls++
	return nil
}

// pattern is n bytes that differ from one write to the next.
func pattern(i, n int) []byte {
	p := make([]byte, n)
	for j := range p {
		p[j] = byte('a' + (i*7+j)%26)
	}
	return p
}

func TestDirectWriter(t *testing.T) {
	tests := []struct {
		name   string
		writes []int
	}{
		{"nothing", nil},
		{"one byte", []int{1}},
		{"an empty write", []int{0, 5, 0}},
		{"one block", []int{4096}},
		{"a block and a bit", []int{4096, 1}},
		{"small writes past a buffer", []int{1000, directBuf - 1500, 700, 3000}},
		{"exactly a buffer", []int{directBuf}},
		{"one write of several buffers", []int{3*directBuf + 123}},
		{"buffers and a partial block", []int{directBuf, directBuf, 4095}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeDirect{t: t, align: 4096, direct: true}
			d := newDirectWriter(f, 4096)
			var want []byte
			for i, n := range tc.writes {
				p := pattern(i, n)
				if m, err := d.write(p); m != n || err != nil {
					t.Fatalf("write(%d bytes) = %d, %v", n, m, err)
				}
				want = append(want, p...)
			}
			if err := d.flush(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(f.data, want) {
				t.Errorf("the file holds %d bytes, not the %d written in order", len(f.data), len(want))
			}
			if f.direct || f.endCalls != 1 {
				t.Errorf("O_DIRECT still on after flush, or turned off %d times", f.endCalls)
			}
		})
	}
}

// A file system that refuses a direct write at write time (EINVAL, nothing
// written) is written through the page cache, and nothing is lost.
func TestDirectWriterRefused(t *testing.T) {
	f := &fakeDirect{t: t, align: 4096, direct: true, failAt: 1, failErr: syscall.EINVAL}
	d := newDirectWriter(f, 4096)
	want := append(pattern(0, directBuf+10), pattern(1, 3*directBuf)...)
	if _, err := d.write(want[:directBuf+10]); err != nil {
		t.Fatal(err)
	}
	if _, err := d.write(want[directBuf+10:]); err != nil {
		t.Fatal(err)
	}
	if err := d.flush(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f.data, want) {
		t.Errorf("the file holds %d bytes, not the %d written", len(f.data), len(want))
	}
}

// A failed write surfaces on a later write or on flush, never silently.
func TestDirectWriterError(t *testing.T) {
	boom := errors.New("disk full")
	for _, tc := range []struct {
		name   string
		failAt int
	}{{"first buffer", 1}, {"second buffer", 2}} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeDirect{t: t, align: 4096, direct: true, failAt: tc.failAt, failErr: boom}
			d := newDirectWriter(f, 4096)
			var werr error
			for i := range 6 {
				if _, werr = d.write(pattern(i, directBuf)); werr != nil {
					break
				}
			}
			ferr := d.flush()
			if !errors.Is(werr, boom) && !errors.Is(ferr, boom) {
				t.Errorf("write error %v, flush error %v; want %v from one of them", werr, ferr, boom)
			}
			if ferr == nil {
				t.Error("flush after a failed write reported no error")
			}
		})
	}
}

// Discard stops the goroutine without writing what is staged.
func TestDirectWriterDiscard(t *testing.T) {
	for _, n := range []int{100, 3 * directBuf} { // no goroutine yet; a goroutine
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			f := &fakeDirect{t: t, align: 4096, direct: true, failAt: 1, failErr: errors.New("slow")}
			d := newDirectWriter(f, 4096)
			if _, err := d.write(pattern(0, n)); err != nil && n < directBuf {
				t.Fatal(err)
			}
			d.discard()
			if d.done != nil {
				select {
				case <-d.done:
				default:
					t.Fatal("the writer's goroutine still runs after discard")
				}
			}
			if len(f.data) != 0 {
				t.Errorf("discard left %d bytes written", len(f.data))
			}
		})
	}
}

// A small file is staged in a small buffer and written by flush alone.
func TestDirectWriterSmall(t *testing.T) {
	f := &fakeDirect{t: t, align: 4096, direct: true}
	d := newDirectWriter(f, 4096)
	want := pattern(0, 10000)
	if _, err := d.write(want); err != nil {
		t.Fatal(err)
	}
	if d.work != nil || cap(d.cur) != directFirst || f.writes != 0 {
		t.Fatalf("a 10 kB file: goroutine %t, buffer %d bytes, %d writes before flush", d.work != nil, cap(d.cur), f.writes)
	}
	if err := d.flush(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f.data, want) || f.writes != 2 {
		t.Errorf("the file holds %d of %d bytes in %d writes; want 2 (the whole blocks, the tail)", len(f.data), len(want), f.writes)
	}
}

func TestAlignedBuf(t *testing.T) {
	for _, align := range []int{512, 4096, 65536} {
		t.Run(fmt.Sprint(align), func(t *testing.T) {
			b := alignedBuf(directBuf, align)
			b = b[:cap(b)]
			if len(b) != directBuf || uintptr(unsafe.Pointer(&b[0]))%uintptr(align) != 0 {
				t.Errorf("alignedBuf(%d, %d): %d bytes at %p", directBuf, align, len(b), &b[0])
			}
		})
	}
}
