// Package writeback gets a file's data to disk while the file is still
// being written, so that the fsync that makes the file durable before it
// is renamed into place waits only for the last few MiB rather than for
// the whole file.
//
// New asks the kernel to start writing back each few MiB as they are
// written (sync_file_range): a hint, not a guarantee; errors are ignored and
// the final fsync still decides. On systems without sync_file_range it does
// nothing.
//
// NewDirect, for a new output file on a local disk file system (ext4, XFS,
// Btrfs on Linux), writes with O_DIRECT instead: the bytes go from two
// aligned staging buffers straight to the device, written by a goroutine of
// the Writer's own while the caller fills the other buffer, and never pass
// through the page cache. Only the last partial block is written through
// the page cache, by Flush. An alert-heavy run writes tens of MB of alert
// documents: copying them into freshly allocated page-cache pages was 9.6%
// of the run's perf samples, more in a VM that must back each new page.
// Where the file system or the kernel does not take O_DIRECT, NewDirect is
// New.
package writeback
