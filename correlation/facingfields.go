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
// "null" and "" are a row without internet-facing data: LocalPort NoPort, no
// error.
//
// Ports may be numbers (3389, 3389.0) or strings ("3389"); LastSeen is RFC
// 3339 with any number of fractional digits (Defender writes 7), or the same
// without a zone (taken as UTC). A missing port is NoPort without error.
//
// A non-nil error wraps ErrAdditionalFields when the input is not an object
// (the result is empty), or ErrFacingField when one value is malformed (the
// result holds every other field, and a malformed local port is NoPort).
func ParseInternetFacing(additionalFields []byte) (InternetFacing, error) {
	f := InternetFacing{LocalPort: NoPort}
	b := bytes.TrimSpace(additionalFields)
	for i := 0; ; i++ {
		if len(b) == 0 || string(b) == "null" {
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
