// Package atomicfile writes an output file that appears under its name only
// once it is complete and synced: a temporary file in the same directory,
// renamed over the target on Commit. The CLI writes every output through it
// (the alert NDJSON, tables, the HTML report); the in-process bench run
// does too, so that it writes its file as the CLI does.
package atomicfile
