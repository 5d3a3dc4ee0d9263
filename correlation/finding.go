package correlation

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// findingSep separates the fields hashed by FindingID; findingEsc escapes a
// separator or escape byte that occurs inside a field, so distinct field
// tuples always hash distinct byte strings.
const (
	findingSep = 0x1f // ASCII unit separator
	findingEsc = 0x1b // ASCII escape
)

// FindingID is the deterministic id: hex SHA-256 over rule id, DeviceId,
// ReportId, event time (RFC 3339 nano UTC), remote IP (unmapped) and local port.
//
// The fields are joined with 0x1f (ASCII unit separator); a 0x1f or 0x1b
// inside a field is preceded by 0x1b, which never happens with real Defender
// ids but keeps the encoding injective. The id is the full 64 hex digits and
// doubles as the alert document's _id, so a rerun over the same rows writes
// nothing new.
func FindingID(ruleID, deviceID, reportID string, t time.Time, remote netip.Addr, localPort int) string {
	h := sha256.New()
	writeField(h, ruleID)
	h.Write([]byte{findingSep})
	writeField(h, deviceID)
	h.Write([]byte{findingSep})
	writeField(h, reportID)
	h.Write([]byte{findingSep})
	h.Write([]byte(t.UTC().Format(time.RFC3339Nano)))
	h.Write([]byte{findingSep})
	h.Write([]byte(NormalizeAddr(remote).String()))
	h.Write([]byte{findingSep})
	h.Write([]byte(strconv.Itoa(localPort)))
	return hex.EncodeToString(h.Sum(nil))
}

func writeField(h hash.Hash, s string) {
	if !strings.ContainsAny(s, "\x1f\x1b") {
		h.Write([]byte(s))
		return
	}
	b := make([]byte, 0, len(s)+4)
	for i := 0; i < len(s); i++ {
		if s[i] == findingSep || s[i] == findingEsc {
			b = append(b, findingEsc)
		}
		b = append(b, s[i])
	}
	h.Write(b)
}
