package correlation

import (
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"strconv"
	"time"
)

// FindingIDVersion numbers the finding id scheme. It is written into every
// alert (edgewatch.finding_id_version) so that alerts of an earlier scheme
// can be told apart (README, "The alert document"):
//
//	1  rule id, DeviceId, ReportId, event time (RFC 3339, 100 ns), remote IP, local port
//	2  rule id, table, DeviceId, ReportId, event time at millisecond precision, remote IP, local port
const FindingIDVersion = 2

// findingSep separates the fields hashed by FindingID; findingEsc escapes a
// separator or escape byte that occurs inside a field, so distinct field
// tuples always hash distinct byte strings.
const (
	findingSep = 0x1f // ASCII unit separator
	findingEsc = 0x1b // ASCII escape
)

// findingTimeLayout is the event time as hashed: UTC, milliseconds.
const findingTimeLayout = "2006-01-02T15:04:05.000Z"

// FindingID is the deterministic finding id (scheme FindingIDVersion): the
// hex SHA-256 of
//
//	rule id, table, DeviceId, ReportId, event time, remote IP, local port
//
// joined with 0x1f (ASCII unit separator); a 0x1f or 0x1b inside a field is
// preceded by 0x1b, which never happens with real Defender ids but keeps the
// encoding injective. The table is AlertProvider (DeviceNetworkEvents:
// ReportId is a per-table counter). The event time is UTC truncated to the
// millisecond and written with exactly three fractional digits
// ("2026-08-22T10:15:30.123Z"), the precision Elastic's m365_defender
// pipeline keeps in @timestamp, so the same Defender event read from a file,
// the Streaming API, Sentinel or Elastic's data stream gets the same id. The
// remote IP is unmapped (IPv4-mapped IPv6 as IPv4) in netip's canonical form
// and the port is decimal: every source decodes them to the same values, and
// they keep two events apart where a store lacks ReportId.
//
// The id is the full 64 hex digits and doubles as the alert document's _id,
// so a rerun over the same rows writes nothing new.
func FindingID(ruleID, deviceID, reportID string, t time.Time, remote netip.Addr, localPort int) string {
	var id [64]byte
	AppendFindingID(id[:0], ruleID, deviceID, reportID, t, remote, localPort)
	return string(id[:])
}

// AppendFindingID appends FindingID's 64 hex digits to dst. It allocates
// nothing when dst has room and the fields are of Defender's usual sizes
// (the hashed text stays under 256 bytes).
func AppendFindingID(dst []byte, ruleID, deviceID, reportID string, t time.Time, remote netip.Addr, localPort int) []byte {
	var buf [256]byte
	b := appendField(buf[:0], ruleID)
	b = append(b, findingSep)
	b = append(b, AlertProvider...)
	b = append(b, findingSep)
	b = appendField(b, deviceID)
	b = append(b, findingSep)
	b = appendField(b, reportID)
	b = append(b, findingSep)
	b = t.UTC().Truncate(time.Millisecond).AppendFormat(b, findingTimeLayout)
	b = append(b, findingSep)
	b = NormalizeAddr(remote).AppendTo(b)
	b = append(b, findingSep)
	b = strconv.AppendInt(b, int64(localPort), 10)
	sum := sha256.Sum256(b)
	n := len(dst)
	dst = append(dst, make([]byte, hex.EncodedLen(len(sum)))...)
	hex.Encode(dst[n:], sum[:])
	return dst
}

// appendField appends s, escaping separator and escape bytes.
func appendField(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == findingSep || c == findingEsc {
			for j := 0; j < len(s); j++ {
				if c := s[j]; c == findingSep || c == findingEsc {
					b = append(b, findingEsc)
				}
				b = append(b, s[j])
			}
			return b
		}
	}
	return append(b, s...)
}
