//go:build unix

package plugin

import (
	"os"
	"syscall"
)

// openNoFollow: the alert file is opened without following a symbolic link
// and without blocking (on a FIFO swapped in for it).
const openNoFollow = syscall.O_NOFOLLOW | syscall.O_NONBLOCK

// fileID is a file's device and inode.
func fileID(fi os.FileInfo) (dev, ino uint64, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return uint64(st.Dev), uint64(st.Ino), true //nolint:unconvert // int32 on some systems
}
