package correlation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// AdditionalFields keys of DeviceInfo that describe an internet-facing port.
// Both spellings of the public-scanned keys are read: Defender writes
// InternetFacingPublicScanned*, the seed query (and many copies) reads
// InternetFacingScannedPublic*. The first spelling wins when both are set.
const (
	KeyFacingReason            = "InternetFacingReason"
	KeyFacingLocalIP           = "InternetFacingLocalIp"
	KeyFacingLocalPort         = "InternetFacingLocalPort"
	KeyFacingPublicScannedIP   = "InternetFacingPublicScannedIp"
	KeyFacingPublicScannedPort = "InternetFacingPublicScannedPort"
	KeyFacingScannedPublicIP   = "InternetFacingScannedPublicIp"   // the seed's spelling
	KeyFacingScannedPublicPort = "InternetFacingScannedPublicPort" // the seed's spelling
	KeyFacingTransport         = "InternetFacingTransportProtocol"
	KeyFacingLastSeen          = "InternetFacingLastSeen"
)

var (
	// ErrAdditionalFields: AdditionalFields is not a JSON object (nor a JSON
	// string holding one). Nothing in the result is usable.
	ErrAdditionalFields = errors.New("additional fields: not a JSON object")
	// ErrFacingField: one InternetFacing* value is malformed. The result
	// still holds every other field; a malformed local port is NoPort.
	ErrFacingField = errors.New("additional fields: malformed internet-facing value")
)

// maxEncodings is how many layers of JSON-string encoding ParseInternetFacing
// peels off ("{...}" inside a string inside a string).
const maxEncodings = 3

// rawFacing receives the keys; encoding/json matches keys
// case-insensitively, which also covers hand-lowered exports.
type rawFacing struct {
	Reason            json.RawMessage `json:"InternetFacingReason"`
	LocalIP           json.RawMessage `json:"InternetFacingLocalIp"`
	LocalPort         json.RawMessage `json:"InternetFacingLocalPort"`
	PublicScannedIP   json.RawMessage `json:"InternetFacingPublicScannedIp"`
	PublicScannedPort json.RawMessage `json:"InternetFacingPublicScannedPort"`
	ScannedPublicIP   json.RawMessage `json:"InternetFacingScannedPublicIp"`
	ScannedPublicPort json.RawMessage `json:"InternetFacingScannedPublicPort"`
	TransportProtocol json.RawMessage `json:"InternetFacingTransportProtocol"`
	LastSeen          json.RawMessage `json:"InternetFacingLastSeen"`
}

// ParseInternetFacing reads the internet-facing keys of a DeviceInfo
// AdditionalFields value. It accepts the value as JSON object text, as the
// object itself (the raw JSON of a nested object), or as a JSON string holding
// that text (double-encoded, as Streaming API records carry it). Empty input,
// null, "", {} and [] (real records carry "[]"), at any encoding depth, are a
// row without internet-facing data: LocalPort NoPort, no error.
//
// Ports may be numbers (3389, 3389.0) or strings ("3389"); LastSeen is RFC
// 3339 with any number of fractional digits (Defender writes 7), or the same
// without a zone (taken as UTC). A missing port is NoPort without error.
//
// A non-nil error wraps ErrAdditionalFields when the input is not an object
// (the result is empty), or ErrFacingField when one value is malformed (the
// result holds every other field, and a malformed local port is NoPort).
func ParseInternetFacing(additionalFields []byte) (InternetFacing, error) {
	b := bytes.TrimSpace(additionalFields)
	if len(b) > 0 && b[0] == '{' {
		var raw rawFacing
		if scanFlatObject(b, &raw) {
			return facingFrom(&raw)
		}
	}
	return parseInternetFacing(b)
}

// parseInternetFacing is ParseInternetFacing with encoding/json: every input
// shape, and the reference scanFlatObject is tested against.
func parseInternetFacing(b []byte) (InternetFacing, error) {
	f := InternetFacing{LocalPort: NoPort}
	b = bytes.TrimSpace(b)
	for i := 0; ; i++ {
		if len(b) == 0 || string(b) == "null" || isEmptyArray(b) {
			return f, nil
		}
		if b[0] == '{' {
			break
		}
		if b[0] != '"' || i == maxEncodings {
			return f, fmt.Errorf("%w (starts with %q)", ErrAdditionalFields, snippet(b))
		}
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return f, fmt.Errorf("%w: %w", ErrAdditionalFields, err)
		}
		b = bytes.TrimSpace([]byte(s))
	}
	var raw rawFacing
	if err := json.Unmarshal(b, &raw); err != nil {
		return f, fmt.Errorf("%w: %w", ErrAdditionalFields, err)
	}
	return facingFrom(&raw)
}

// isEmptyArray reports whether b is the JSON array [] (whitespace allowed
// inside).
func isEmptyArray(b []byte) bool {
	if len(b) < 2 || b[0] != '[' {
		return false
	}
	var a []json.RawMessage
	return json.Unmarshal(b, &a) == nil && len(a) == 0
}

// facingFrom converts the keys' raw values.
func facingFrom(raw *rawFacing) (InternetFacing, error) {
	f := InternetFacing{LocalPort: NoPort}
	var errs []error
	str := func(key string, v json.RawMessage) string {
		s, err := rawString(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: %s: %w", ErrFacingField, key, err))
		}
		return s
	}
	port := func(key string, v json.RawMessage) (int, bool) {
		p, present, err := rawPort(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: %s: %w", ErrFacingField, key, err))
		}
		return p, present
	}

	f.Reason = str(KeyFacingReason, raw.Reason)
	f.LocalIP = str(KeyFacingLocalIP, raw.LocalIP)
	if p, ok := port(KeyFacingLocalPort, raw.LocalPort); ok {
		f.LocalPort = p
	}
	f.PublicScannedIP = str(KeyFacingPublicScannedIP, raw.PublicScannedIP)
	if f.PublicScannedIP == "" {
		f.PublicScannedIP = str(KeyFacingScannedPublicIP, raw.ScannedPublicIP)
	}
	if p, ok := port(KeyFacingPublicScannedPort, raw.PublicScannedPort); ok && p != NoPort {
		f.PublicScannedPort = p
	} else if p, ok := port(KeyFacingScannedPublicPort, raw.ScannedPublicPort); ok && p != NoPort {
		f.PublicScannedPort = p
	}
	f.TransportProtocol = str(KeyFacingTransport, raw.TransportProtocol)
	if s := str(KeyFacingLastSeen, raw.LastSeen); s != "" {
		t, err := ParseTime(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: %s: %w", ErrFacingField, KeyFacingLastSeen, err))
		} else {
			f.LastSeen = t
		}
	}
	return f, errors.Join(errs...)
}

// rawString returns a JSON string's value, a number's or boolean's text, ""
// for absent or null, and an error for objects and arrays.
func rawString(v json.RawMessage) (string, error) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || string(v) == "null" {
		return "", nil
	}
	switch v[0] {
	case '"':
		if plainString(v) {
			return string(v[1 : len(v)-1]), nil // what json.Unmarshal gives
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", err
		}
		return s, nil
	case '{', '[':
		return "", fmt.Errorf("want a string, got %q", snippet(v))
	}
	return string(v), nil
}

// plainString reports whether v is a JSON string of printable ASCII without
// escapes: its value is its text between the quotes.
func plainString(v []byte) bool {
	if len(v) < 2 || v[len(v)-1] != '"' {
		return false
	}
	for _, c := range v[1 : len(v)-1] {
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// rawPort parses a port given as a JSON number or string. present is false
// for absent, null and empty-string values. A malformed or out-of-range value
// is present with an error and NoPort.
func rawPort(v json.RawMessage) (port int, present bool, err error) {
	s, err := rawString(v)
	if err != nil {
		return NoPort, true, err
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return NoPort, false, nil
	}
	p, ok := ParsePort(s)
	if !ok {
		return NoPort, true, fmt.Errorf("not a port: %q", snippet([]byte(s)))
	}
	return p, true, nil
}

// ParsePort parses a port number written as an integer ("3389") or as an
// integral float ("3389.0", as JSON numbers sometimes travel); it must lie in
// 0..65535.
func ParsePort(s string) (int, bool) {
	if n, err := strconv.Atoi(s); err == nil {
		return n, n >= 0 && n <= 65535
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || f < 0 || f > 65535 {
		return 0, false
	}
	return int(f), true
}

// timeLayouts are the forms Defender, Sentinel and Elastic write datetimes in.
var timeLayouts = []string{
	time.RFC3339Nano, // any fractional digits, Z or offset
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
}

// ParseTime parses an RFC 3339 datetime (any number of fractional digits,
// e.g. Defender's 7), or the same without a zone, taken as UTC. The result is
// in UTC.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	var first error
	for _, layout := range timeLayouts {
		t, err := time.Parse(layout, s)
		if err == nil {
			return t.UTC(), nil
		}
		if first == nil {
			first = err
		}
	}
	return time.Time{}, first
}

// snippet shortens b for an error message.
func snippet(b []byte) string {
	const n = 40
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

// facingKeys are rawFacing's keys with the field each one fills.
var facingKeys = []struct {
	key   string
	field func(*rawFacing) *json.RawMessage
}{
	{KeyFacingReason, func(r *rawFacing) *json.RawMessage { return &r.Reason }},
	{KeyFacingLocalIP, func(r *rawFacing) *json.RawMessage { return &r.LocalIP }},
	{KeyFacingLocalPort, func(r *rawFacing) *json.RawMessage { return &r.LocalPort }},
	{KeyFacingPublicScannedIP, func(r *rawFacing) *json.RawMessage { return &r.PublicScannedIP }},
	{KeyFacingPublicScannedPort, func(r *rawFacing) *json.RawMessage { return &r.PublicScannedPort }},
	{KeyFacingScannedPublicIP, func(r *rawFacing) *json.RawMessage { return &r.ScannedPublicIP }},
	{KeyFacingScannedPublicPort, func(r *rawFacing) *json.RawMessage { return &r.ScannedPublicPort }},
	{KeyFacingTransport, func(r *rawFacing) *json.RawMessage { return &r.TransportProtocol }},
	{KeyFacingLastSeen, func(r *rawFacing) *json.RawMessage { return &r.LastSeen }},
}

// scanFlatObject fills raw from b, a JSON object, as json.Unmarshal would,
// for the common shape: one flat object whose keys are printable ASCII
// without escapes and whose values are strings, numbers or literals. It
// checks the syntax itself and reports false for anything else (invalid
// JSON included), which the caller hands to encoding/json: it must never
// accept what json.Unmarshal rejects. Three times as fast as json.Unmarshal
// on Defender's AdditionalFields (BenchmarkParseInternetFacing).
func scanFlatObject(b []byte, raw *rawFacing) bool {
	i := 0
	ws := func() {
		for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
			i++
		}
	}
	if len(b) == 0 || b[0] != '{' {
		return false
	}
	i++
	ws()
	if i < len(b) && b[i] == '}' {
		i++
		ws()
		return i == len(b)
	}
	for {
		// Key: printable ASCII, no escapes.
		if i >= len(b) || b[i] != '"' {
			return false
		}
		i++
		start := i
		for i < len(b) && b[i] != '"' {
			if c := b[i]; c < 0x20 || c > 0x7e || c == '\\' {
				return false
			}
			i++
		}
		if i >= len(b) {
			return false
		}
		key := b[start:i]
		i++
		ws()
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i++
		ws()
		start = i
		if i = scanFlatValue(b, i); i < 0 {
			return false
		}
		val := b[start:i]
		for _, k := range facingKeys {
			// encoding/json matches names case-insensitively (ASCII here).
			if asciiEqualFold(k.key, key) {
				*k.field(raw) = val // the last duplicate wins, as in encoding/json
				break
			}
		}
		ws()
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i++
			ws()
		case '}':
			i++
			ws()
			return i == len(b)
		default:
			return false
		}
	}
}

// scanFlatValue returns the end of the string, number or literal starting
// at b[i], or -1 when there is none (objects and arrays included).
func scanFlatValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch c := b[i]; {
	case c == '"':
		for i++; i < len(b); i++ {
			switch c := b[i]; {
			case c == '"':
				return i + 1
			case c < 0x20:
				return -1
			case c == '\\':
				i++
				if i >= len(b) {
					return -1
				}
				switch b[i] {
				case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				case 'u':
					if i+4 >= len(b) {
						return -1
					}
					for _, h := range b[i+1 : i+5] {
						if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
							return -1
						}
					}
					i += 4
				default:
					return -1
				}
			}
		}
		return -1
	case c == '-' || '0' <= c && c <= '9':
		return scanNumber(b, i)
	}
	for _, lit := range [...]string{"true", "false", "null"} {
		if len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit {
			return i + len(lit)
		}
	}
	return -1
}

// scanNumber returns the end of the JSON number at b[i], or -1.
func scanNumber(b []byte, i int) int {
	digits := func() bool {
		start := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		return i > start
	}
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return -1
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return -1
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return -1
		}
	}
	return i
}

// asciiEqualFold reports whether a and b are equal under ASCII case folding.
func asciiEqualFold(a string, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
