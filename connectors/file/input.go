package file

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync/atomic"

	"github.com/edgewatch/edgewatch/connectors"
	"github.com/edgewatch/edgewatch/connectors/internal/jsonscan"
)

// format is how a file's rows are laid out, decided from its content.
type format int

const (
	formatEmpty    format = iota // nothing but whitespace
	formatNDJSON                 // one JSON value per line
	formatDocument               // JSON values spanning lines (pretty-printed) or a JSON array
	formatCSV                    // header row of column names, then rows
)

func (f format) String() string {
	switch f {
	case formatNDJSON:
		return "ndjson"
	case formatDocument:
		return "json"
	case formatCSV:
		return "csv"
	default:
		return "empty"
	}
}

// readBufSize is the bufio buffer used to sniff and read inputs.
const readBufSize = 1 << 20

// input is one opened file, decompressed and sniffed.
type input struct {
	path    string
	r       *bufio.Reader
	format  format
	gzipped bool
	// anyKeyOrder: rows may name their table (a Type column) after the
	// fields the push-down stops at; see eventDecoder.anyKeyOrder.
	anyKeyOrder bool
	// raw reads the file as stored; read counts its bytes. A gzip error's
	// offset is read less what raw holds unread.
	raw *bufio.Reader
	// src is what r buffers: the file (counted) or the gzip reader.
	src     io.Reader
	read    *atomic.Int64
	size    int64 // -1 when unknown
	closers []io.Closer
}

func (in *input) Close() error {
	var errs []error
	for i := len(in.closers) - 1; i >= 0; i-- {
		errs = append(errs, in.closers[i].Close())
	}
	return errors.Join(errs...)
}

// wrapErr names the file in a read error. A gzip stream that is cut short
// or corrupt is an input error (connectors.ErrInput) with the compressed
// byte offset where decompression stopped.
func (in *input) wrapErr(err error) error {
	if err == nil {
		return nil
	}
	if in.gzipped && gzipDataErr(err) {
		off := in.read.Load() - int64(in.raw.Buffered())
		of := ""
		if in.size >= 0 {
			of = fmt.Sprintf(" of %d", in.size)
		}
		return fmt.Errorf("%s: %w: gzip data truncated or corrupt at compressed byte %d%s: %w", in.path, connectors.ErrInput, off, of, err)
	}
	return fmt.Errorf("%s: read: %w", in.path, err)
}

// gzipDataErr reports whether err comes from the compressed data itself
// rather than from reading the file.
func gzipDataErr(err error) bool {
	var corrupt flate.CorruptInputError
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, gzip.ErrChecksum) ||
		errors.Is(err, gzip.ErrHeader) || errors.As(err, &corrupt)
}

// openInput opens path (from fsys when it is not nil), transparently
// decompresses gzip (by magic bytes, whatever the name) and sniffs the
// format. counter, when not nil, counts the bytes read of the file as
// stored.
func openInput(fsys fs.FS, path string, counter *atomic.Int64) (*input, error) {
	var f io.ReadCloser
	var err error
	if fsys != nil {
		f, err = fsys.Open(path)
	} else {
		f, err = os.Open(path)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, unwrapPathErr(err))
	}
	in := &input{path: path, closers: []io.Closer{f}, size: -1}
	if st, err := f.(fs.File).Stat(); err == nil {
		if st.IsDir() {
			f.Close()
			return nil, fmt.Errorf("open %s: is a directory", path)
		}
		if st.Mode().IsRegular() {
			in.size = st.Size()
		}
	}
	if counter == nil {
		counter = new(atomic.Int64)
	}
	in.read = counter
	in.src = countingReader{f, counter}
	br := bufio.NewReaderSize(in.src, readBufSize)
	in.raw = br
	magic, err := br.Peek(2)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		in.Close()
		return nil, fmt.Errorf("%s: read: %w", path, err)
	}
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		in.gzipped = true
		zr, err := gzip.NewReader(br)
		if err != nil {
			in.Close()
			return nil, in.wrapErr(err)
		}
		in.closers = append(in.closers, zr)
		in.src = zr
		br = bufio.NewReaderSize(zr, readBufSize)
	}
	in.r = br
	in.format, in.anyKeyOrder, err = sniff(br)
	if err != nil {
		in.Close()
		return nil, in.wrapErr(err)
	}
	return in, nil
}

// chunkReader is what the NDJSON chunker reads: the bytes sniffing left in
// r's buffer, then src directly. Through r, every read smaller than r's
// buffer (a chunk's room after a partial line, that is nearly every read)
// would be copied once more: ~5% of an alert-heavy run's CPU. Use either
// chunkReader or r, not both.
func (in *input) chunkReader() io.Reader {
	buffered, _ := in.r.Peek(in.r.Buffered())
	return io.MultiReader(bytes.NewReader(buffered), in.src)
}

// unwrapPathErr drops the *fs.PathError wrapper (we name the file ourselves).
func unwrapPathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

var utf8BOM = []byte{0xef, 0xbb, 0xbf}

// sniff decides the format from the first non-blank bytes:
//   - '[' : a JSON array (document mode);
//   - '{' : NDJSON when the first line holds a complete JSON value, document
//     mode when it is only the start of a pretty-printed value;
//   - anything else: CSV.
//
// anyKeyOrder is false only for NDJSON whose first row has no Type column
// (see eventDecoder.anyKeyOrder). A UTF-8 byte order mark is dropped.
func sniff(br *bufio.Reader) (f format, anyKeyOrder bool, err error) {
	if b, _ := br.Peek(3); bytes.Equal(b, utf8BOM) {
		br.Discard(3)
	}
	// Peek as much as the buffer holds (or the whole file if smaller).
	buf, err := br.Peek(readBufSize)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return 0, false, err
	}
	i := jsonscan.SkipSpace(buf, 0)
	if i == len(buf) {
		if len(buf) < readBufSize {
			return formatEmpty, true, nil
		}
		return formatDocument, true, nil // a megabyte of blanks: let the document reader cope
	}
	switch buf[i] {
	case '[':
		return formatDocument, true, nil
	case '{':
	default:
		return formatCSV, true, nil
	}
	nl := bytes.IndexByte(buf[i:], '\n')
	if nl < 0 {
		if len(buf) < readBufSize && isCompleteValue(buf[i:]) {
			return formatNDJSON, true, nil // one line only, one complete value
		}
		return formatDocument, true, nil // or a first line over 1 MiB
	}
	first := jsonscan.TrimSpace(buf[i : i+nl])
	if isCompleteValue(first) {
		return formatNDJSON, hasTypeKey(first), nil
	}
	// A pretty-printer's first line ends inside the value.
	switch first[len(first)-1] {
	case '{', '[', ',', ':':
		return formatDocument, true, nil
	}
	return formatNDJSON, true, nil // a damaged first row: NDJSON counts it and goes on
}

// hasTypeKey reports whether the object b has a top-level Type member (a
// Log Analytics row names its table there).
func hasTypeKey(b []byte) bool {
	var kbuf []byte
	it := jsonscan.NewObjIter(b)
	for it.Next() {
		if f := fieldOf(it.Key); f == fType || it.KeyEsc && escapedField(it.Key, &kbuf) == fType {
			return true
		}
	}
	return false
}

// isCompleteValue reports whether b is exactly one JSON object or array.
func isCompleteValue(b []byte) bool {
	b = jsonscan.TrimSpace(b)
	if len(b) == 0 || (b[0] != '{' && b[0] != '[') {
		return false
	}
	end, err := jsonscan.ScanContainer(b, 0)
	return err == nil && end == len(b)
}
