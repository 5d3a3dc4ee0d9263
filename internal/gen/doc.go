// Package gen makes realistic, deterministic Defender datasets of any size
// for benchmarks and end-to-end tests: a fleet of devices, some of them
// internet-facing on a few ports, their DeviceInfo rows (full reports with
// the InternetFacing* AdditionalFields, heartbeats without them, ports that
// stopped facing), and DeviceNetworkEvents rows (mostly outbound traffic,
// some inbound accepts, a share of them from feed addresses, on facing and
// non-facing ports, with IPv4-mapped remotes, string ports, duplicates and,
// on request, malformed rows).
//
// Output is streamed: memory does not grow with the number of events. The
// generator plants data but never states the expected findings; tests
// compute those with an independent reference implementation.
package gen
