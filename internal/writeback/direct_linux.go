package writeback

import (
	"os"

	"golang.org/x/sys/unix"
)

// directFS are the file systems NewDirect writes around the page cache on:
// local disk file systems where O_DIRECT goes to the device. Others (tmpfs,
// overlayfs, network and FUSE file systems) may accept the flag but copy
// anyway, or turn every write into a synchronous round trip.
var directFS = map[int64]bool{
	unix.EXT4_SUPER_MAGIC:  true, // ext2, ext3 and ext4 share it
	unix.XFS_SUPER_MAGIC:   true,
	unix.BTRFS_SUPER_MAGIC: true,
}

// maxDirectAlign bounds the alignment NewDirect accepts (a divisor of
// directBuf).
const maxDirectAlign = 64 << 10

// newDirect turns O_DIRECT on for f when f is a regular file on a local
// disk file system, its next write lands at an aligned offset, and the
// kernel says the file takes direct writes; nil otherwise (f untouched).
func newDirect(f *os.File, off int64) *direct {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil
	}
	align := 0
	_ = rc.Control(func(fd uintptr) {
		align = directAlign(int(fd), off)
	})
	if align == 0 {
		return nil
	}
	return newDirectWriter(directOS{f}, align)
}

// directAlign checks fd and turns O_DIRECT on; it returns the alignment
// direct writes need, or 0 when fd is not to be written that way.
func directAlign(fd int, off int64) int {
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return 0
	}
	var fs unix.Statfs_t
	if unix.Fstatfs(fd, &fs) != nil || !directFS[int64(fs.Type)] {
		return 0
	}
	align := 4096
	var sx unix.Statx_t
	if unix.Statx(fd, "", unix.AT_EMPTY_PATH, unix.STATX_DIOALIGN, &sx) == nil && sx.Mask&unix.STATX_DIOALIGN != 0 {
		if sx.Dio_offset_align == 0 {
			return 0 // the file takes no direct writes
		}
		align = max(align, int(sx.Dio_offset_align), int(sx.Dio_mem_align))
	}
	if align > maxDirectAlign || align&(align-1) != 0 || off%int64(align) != 0 {
		return 0
	}
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return 0
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFL, fl|unix.O_DIRECT); err != nil {
		return 0
	}
	return align
}

// directOS is an *os.File as the direct writer uses it.
type directOS struct{ *os.File }

// endDirect turns O_DIRECT off.
func (f directOS) endDirect() error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) {
		fl, err := unix.FcntlInt(fd, unix.F_GETFL, 0)
		if err == nil && fl&unix.O_DIRECT != 0 {
			_, err = unix.FcntlInt(fd, unix.F_SETFL, fl&^unix.O_DIRECT)
		}
		ferr = err
	}); err != nil {
		return err
	}
	return ferr
}
