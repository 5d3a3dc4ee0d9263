package file

import (
	"bufio"
	"errors"
	"io"

	"github.com/edgewatch/edgewatch/connectors/internal/jsonscan"
)

// errDocSyntax marks a JSON syntax error in document mode; the reader
// cannot find the next value after one.
var errDocSyntax = errors.New("malformed JSON document")

// errTooLarge marks a value larger than the maximum row size: read past,
// not kept; the reader goes on with the next value.
var errTooLarge = errors.New("value larger than the maximum row size")

// docReader streams the values of a JSON document that is not one value per
// line: pretty-printed objects one after the other, or a top-level array
// whose elements are returned one at a time (an Event Hub message is at
// most 1 MB). It tracks line numbers. A value larger than maxRow is read
// past without being kept.
type docReader struct {
	r       *bufio.Reader
	maxRow  int
	line    int // line of the next unread byte
	inArray bool
	comma   bool // inside the array, a ',' or ']' is due
	buf     []byte
}

func newDocReader(r *bufio.Reader, maxRow int) *docReader {
	return &docReader{r: r, maxRow: maxRow, line: 1}
}

// peekNonSpace skips whitespace, counting lines, and returns the next byte
// without consuming it.
func (d *docReader) peekNonSpace() (byte, error) {
	for {
		if _, err := d.r.Peek(1); err != nil {
			return 0, err
		}
		buf, _ := d.r.Peek(d.r.Buffered())
		i := 0
		for i < len(buf) && jsonscan.IsSpace(buf[i]) {
			if buf[i] == '\n' {
				d.line++
			}
			i++
		}
		d.r.Discard(i)
		if i < len(buf) {
			return buf[i], nil
		}
	}
}

// next returns the next value (valid until the following call) and the line
// it starts on; io.EOF at the end, errTooLarge (with the line) for a value
// larger than maxRow, after which the reader goes on.
func (d *docReader) next() ([]byte, int, error) {
	for {
		c, err := d.peekNonSpace()
		if err == io.EOF {
			if d.inArray {
				return nil, d.line, errDocSyntax
			}
			return nil, 0, io.EOF
		}
		if err != nil {
			return nil, 0, err
		}
		if d.inArray {
			if c == ']' {
				d.r.Discard(1)
				d.inArray, d.comma = false, false
				continue
			}
			if d.comma {
				if c != ',' {
					return nil, d.line, errDocSyntax
				}
				d.r.Discard(1)
				d.comma = false
				continue
			}
		} else if c == '[' {
			d.r.Discard(1)
			d.inArray = true
			continue
		}
		start := d.line
		v, err := d.value()
		if err == nil || err == errTooLarge {
			if d.inArray {
				d.comma = true
			}
		}
		return v, start, err
	}
}

// value reads one complete JSON value from the current position; a value
// larger than maxRow is read to its end and reported as errTooLarge.
func (d *docReader) value() ([]byte, error) {
	d.buf = d.buf[:0]
	var (
		depth  int
		inStr  bool
		esc    bool
		scalar bool // a top-level string/number/literal
		first  = true
		over   bool // larger than maxRow: no longer kept
	)
	end := func() ([]byte, error) {
		if over {
			return nil, errTooLarge
		}
		return d.buf, nil
	}
	for {
		if _, err := d.r.Peek(1); err != nil {
			if err == io.EOF {
				if scalar && !inStr && !first {
					return end()
				}
				return nil, errDocSyntax
			}
			return nil, err
		}
		chunk, _ := d.r.Peek(d.r.Buffered())
		i := 0
		done := false
		for ; i < len(chunk); i++ {
			c := chunk[i]
			if first {
				first = false
				switch c {
				case '{', '[':
					depth = 1
					continue
				case '"':
					scalar, inStr = true, true
					continue
				case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 't', 'f', 'n':
					scalar = true
				default:
					return nil, errDocSyntax
				}
			}
			if c == '\n' {
				d.line++
			}
			if inStr {
				switch {
				case esc:
					esc = false
				case c == '\\':
					esc = true
				case c == '"':
					inStr = false
					if scalar {
						i++
						done = true
					}
				}
				if done {
					break
				}
				continue
			}
			if scalar {
				if jsonscan.IsSpace(c) || c == ',' || c == ']' || c == '}' || c == '[' || c == '{' {
					if c == '\n' {
						d.line-- // not consumed
					}
					done = true
					break
				}
				continue
			}
			switch c {
			case '"':
				inStr = true
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					i++
					done = true
				}
			}
			if done {
				break
			}
		}
		if !over {
			d.buf = append(d.buf, chunk[:i]...)
			if len(d.buf) > d.maxRow {
				over, d.buf = true, d.buf[:0]
			}
		}
		d.r.Discard(i)
		if done {
			return end()
		}
	}
}
