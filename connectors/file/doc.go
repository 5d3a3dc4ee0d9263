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
// A row's table is taken from the record's category (AdvancedHunting-<Table>)
// or the row's Type column; rows of other tables are counted by table in
// connectors.Report.OtherTables, neither read nor skipped, so one dump of
// many tables can serve both reads. A row without a marker is taken for the
// table read.
//
// Each row goes one way, in named steps (eventDecoder.row): trimmed and
// checked to be an object; opened when it is a container (rowCounter.container);
// set aside when it names another table; with a filter in the query, scanned
// for the few fields the filter needs (ActionType, DeviceId, LocalPort,
// RemoteIP, and the time when a window is set) and dropped when it cannot
// match (prefilter); decoded in full otherwise. It is counted once: passed,
// filtered, skipped with a reason and its file and line, or another table.
//
// An event's Raw is the record as read, byte for byte: the trimmed NDJSON
// line, the whole Streaming API record (envelope included), the Event Hub
// batch member, the JSON array element or pretty-printed value with its
// whitespace. For CSV it is a compact JSON object of the row's non-empty
// cells (see csv.go). Raw is never re-encoded: it may hold invalid UTF-8
// when the input did; the decoded fields never do (each bad byte is U+FFFD).
//
// Bad input is counted, never silent: a row longer than MaxRowBytes is read
// past and skipped as "row too large"; a truncated or corrupt gzip stream
// ends the read with connectors.ErrInput and the compressed byte offset; a
// CSV header without a column the table needs is connectors.ErrInput naming
// the columns (Report.MissingColumns lists them too).
//
// Network events are streamed, never loaded whole: NDJSON is cut into
// chunks of whole lines that Workers goroutines decode in parallel.
package file
