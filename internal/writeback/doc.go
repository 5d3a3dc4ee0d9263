// Package writeback starts the kernel writing a file's data to disk while
// the file is still being written, so that the fsync that makes the file
// durable before it is renamed into place waits only for the last few
// MiB rather than for the whole file.
//
// An alert-heavy run writes tens of MB of alert documents and then syncs
// them: without this, that fsync was ~30 ms of a ~350 ms run spent idle at
// the end. This is a hint, not a guarantee: errors are ignored and the
// final fsync still decides. On systems without sync_file_range it does
// nothing.
package writeback
