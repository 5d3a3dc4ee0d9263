package file

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync/atomic"

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
	closers []io.Closer
}

func (in *input) Close() error {
	var errs []error
	for i := len(in.closers) - 1; i >= 0; i-- {
		errs = append(errs, in.closers[i].Close())
	}
	return errors.Join(errs...)
}

// wrapErr names the file in a read error.
func (in *input) wrapErr(err error) error {
	if err == nil {
		return nil
	}
	if in.gzipped && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: bad gzip data: %w", in.path, err)
	}
	return fmt.Errorf("%s: read: %w", in.path, err)
}

// openInput opens path (from fsys when it is not nil), transparently
// decompresses gzip (by magic bytes, whatever the name) and sniffs the
// format.
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
	if st, err := f.(fs.File).Stat(); err == nil && st.IsDir() {
		f.Close()
		return nil, fmt.Errorf("open %s: is a directory", path)
	}
	in := &input{path: path, closers: []io.Closer{f}}
	var raw io.Reader = f
	if counter != nil {
		raw = countingReader{f, counter}
	}
	br := bufio.NewReaderSize(raw, readBufSize)
	magic, err := br.Peek(2)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		in.Close()
		return nil, fmt.Errorf("%s: read: %w", path, err)
	}
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			in.Close()
			return nil, fmt.Errorf("%s: bad gzip header: %w", path, err)
		}
		in.gzipped = true
		in.closers = append(in.closers, zr)
		br = bufio.NewReaderSize(zr, readBufSize)
	}
	in.r = br
	in.format, err = sniff(br)
	if err != nil {
		in.Close()
		return nil, in.wrapErr(err)
	}
	return in, nil
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
// A UTF-8 byte order mark is dropped.
func sniff(br *bufio.Reader) (format, error) {
	if b, _ := br.Peek(3); bytes.Equal(b, utf8BOM) {
		br.Discard(3)
	}
	// Peek as much as the buffer holds (or the whole file if smaller).
	buf, err := br.Peek(readBufSize)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return 0, err
	}
	i := jsonscan.SkipSpace(buf, 0)
	if i == len(buf) {
		if len(buf) < readBufSize {
			return formatEmpty, nil
		}
		return formatDocument, nil // a megabyte of blanks: let the document reader cope
	}
	switch buf[i] {
	case '[':
		return formatDocument, nil
	case '{':
	default:
		return formatCSV, nil
	}
	nl := bytes.IndexByte(buf[i:], '\n')
	if nl < 0 {
		if len(buf) < readBufSize {
			// One line only: NDJSON if it is one complete value.
			if isCompleteValue(buf[i:]) {
				return formatNDJSON, nil
			}
			return formatDocument, nil
		}
		return formatDocument, nil // a first line over 1 MiB: treat as a document
	}
	first := jsonscan.TrimSpace(buf[i : i+nl])
	if isCompleteValue(first) {
		return formatNDJSON, nil
	}
	// A pretty-printer's first line ends inside the value.
	switch first[len(first)-1] {
	case '{', '[', ',', ':':
		return formatDocument, nil
	}
	return formatNDJSON, nil // a damaged first row: NDJSON counts it and goes on
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
