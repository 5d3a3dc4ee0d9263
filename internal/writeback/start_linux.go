package writeback

import (
	"os"

	"golang.org/x/sys/unix"
)

// start asks the kernel to begin writing [off, off+n) of f back to disk
// and returns without waiting for it.
func start(f *os.File, off, n int64) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_ = unix.SyncFileRange(int(fd), off, n, unix.SYNC_FILE_RANGE_WRITE)
	})
}
