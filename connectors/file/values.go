package file

import (
	"bytes"
	"net/netip"
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/edgewatch/edgewatch/connectors/internal/jsonscan"
	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/internal/ipv4"
)

// fieldStatus tells whether a field was present and parsed.
type fieldStatus uint8

const (
	fieldMissing fieldStatus = iota // absent, null or ""
	fieldOK
	fieldBad
)

// scalarText returns the text of a string, number or boolean value: strings
// are unquoted (escapes decoded into scratch), other scalars are returned as
// written. Null and empty strings are reported as missing.
func scalarText(v []byte, kind byte, scratch []byte) ([]byte, fieldStatus) {
	switch kind {
	case 0, jsonscan.KindNull:
		return nil, fieldMissing
	case jsonscan.KindString:
		s, ok := jsonscan.Unquote(v, scratch)
		if !ok {
			return nil, fieldBad
		}
		if len(jsonscan.TrimSpace(s)) == 0 {
			return nil, fieldMissing
		}
		return s, fieldOK
	case jsonscan.KindNumber, jsonscan.KindTrue, jsonscan.KindFalse:
		return v, fieldOK
	default:
		return nil, fieldBad
	}
}

// str returns a scalar's text as a new string ("" for null and missing
// values), invalid UTF-8 replaced (see validText).
func str(v []byte, kind byte, scratch []byte) string {
	t, st := scalarText(v, kind, scratch)
	if st != fieldOK {
		return ""
	}
	return validText(t)
}

// validText returns t as a string with each byte that is not part of valid
// UTF-8 replaced by U+FFFD, as encoding/json decodes such bytes: a row
// saved as cp1252 (say "M\xfcnchen") decodes to the same fields whatever
// the connector. Rows are kept verbatim elsewhere (NetworkEvent.Raw).
func validText(t []byte) string {
	if utf8.Valid(t) {
		return string(t)
	}
	b := make([]byte, 0, len(t)+8)
	for len(t) > 0 {
		r, n := utf8.DecodeRune(t)
		if r == utf8.RuneError && n == 1 {
			b = utf8.AppendRune(b, utf8.RuneError)
		} else {
			b = append(b, t[:n]...)
		}
		t = t[n:]
	}
	return string(b)
}

// parsePort reads a port written as a JSON number or a string of digits.
func parsePort(v []byte, kind byte) (int, fieldStatus) {
	var scratch [16]byte
	t, st := scalarText(v, kind, scratch[:0])
	if st != fieldOK {
		return correlation.NoPort, st
	}
	if kind == jsonscan.KindTrue || kind == jsonscan.KindFalse {
		return correlation.NoPort, fieldBad
	}
	t = jsonscan.TrimSpace(t)
	n := 0
	for _, c := range t {
		if c < '0' || c > '9' || n > 65535 {
			n = -1
			break
		}
		n = n*10 + int(c-'0')
	}
	if len(t) > 0 && n >= 0 && n <= 65535 {
		return n, fieldOK
	}
	// Whatever else correlation accepts as a port (same rules as DeviceInfo).
	if p, ok := correlation.ParsePort(string(t)); ok {
		return p, fieldOK
	}
	return correlation.NoPort, fieldBad
}

// parseInt64 reads an integer written as a number or a string.
func parseInt64(v []byte, kind byte) (int64, bool) {
	var scratch [32]byte
	t, st := scalarText(v, kind, scratch[:0])
	if st != fieldOK || kind == jsonscan.KindTrue || kind == jsonscan.KindFalse {
		return 0, false
	}
	n, err := strconv.ParseInt(unsafeString(jsonscan.TrimSpace(t)), 10, 64)
	return n, err == nil
}

// parseAddr parses an IP address. Plain dotted IPv4 is parsed by ipv4.Parse without
// allocating; anything else goes to netip.ParseAddr, so both paths accept
// exactly what netip accepts.
func parseAddr(b []byte) (netip.Addr, bool) {
	if a, ok := ipv4.Parse(b); ok {
		return a, true
	}
	a, err := netip.ParseAddr(string(b))
	return a, err == nil
}

// timeLayouts are tried in order. Values without a zone are UTC.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"1/2/2006, 3:04:05.999999999 PM", // Sentinel / Log Analytics portal CSV export
	"1/2/2006 3:04:05.999999999 PM",
	"Jan 2, 2006 3:04:05.999999999 PM", // Defender portal CSV export
}

// parseTime parses a Defender timestamp (ISO 8601 with up to 9 fractional
// digits, or the portal CSV export forms).
func parseTime(b []byte) (time.Time, bool) {
	s := unsafeString(jsonscan.TrimSpace(b)) // time.Parse keeps nothing of s in the result
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// parseBool reads true/false, "true"/"false" (any case), 1/0 and "1"/"0".
func parseBool(v []byte, kind byte) (bool, fieldStatus) {
	switch kind {
	case jsonscan.KindTrue:
		return true, fieldOK
	case jsonscan.KindFalse:
		return false, fieldOK
	}
	var scratch [16]byte
	t, st := scalarText(v, kind, scratch[:0])
	if st != fieldOK {
		return false, st
	}
	t = jsonscan.TrimSpace(t)
	switch {
	case string(t) == "1" || bytes.EqualFold(t, []byte("true")):
		return true, fieldOK
	case string(t) == "0" || bytes.EqualFold(t, []byte("false")):
		return false, fieldOK
	}
	return false, fieldBad
}

// unsafeString views b as a string without copying. Only for calls that do
// not keep the string.
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
