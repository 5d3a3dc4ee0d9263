// Package file is the embedded default source: Defender DeviceInfo and
// DeviceNetworkEvents rows read from files.
//
// A file's format is taken from its content, not its name: gzip by its magic
// bytes, then NDJSON (one JSON value per line), a JSON array or
// pretty-printed JSON, or a CSV export with a header row of column names.
// Each row may be a flat Advanced Hunting row (Timestamp), a Sentinel /
// Log Analytics row (TimeGenerated, AdditionalFields as an object), a
// Streaming API record ({time, tenantId, category, properties}) whose row is
// its properties, or an Event Hub batch ({"records": [...]}).
//
// Network events are streamed, never loaded whole. With a filter in the
// query, each NDJSON row first gets a scan of the few fields the filter needs
// (ActionType, DeviceId, LocalPort, RemoteIP, and the time when a window is
// set); only rows that can still match are decoded in full. Rows that do not
// decode are counted with file and line in the connectors.Report; the read
// goes on.
package file
