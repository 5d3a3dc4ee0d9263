// Package ipv4 parses dotted-quad IPv4 addresses from bytes without
// allocating: the fast path of the feed parser (correlation) and of the
// Defender row decoder (connectors/file), which hand anything else to
// netip.ParseAddr.
package ipv4
