//go:build unix

package procstat

import (
	"os"
	"runtime"
	"syscall"
	"time"
)

// CPU is this process's user + system CPU time so far (0 when unknown).
func CPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// PeakRSS is this process's peak resident set in bytes (0 when unknown):
// VmHWM on Linux (which ResetPeakRSS can lower), ru_maxrss elsewhere.
func PeakRSS() int64 {
	if runtime.GOOS == "linux" {
		return vmHWM()
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return maxRSSBytes(&ru)
}

// ChildPeakRSS is the peak resident set in bytes of a finished child process
// (0 when unknown), from the rusage its wait returned: the largest of the
// child and the descendants it waited for (a host and its plugin).
func ChildPeakRSS(ps *os.ProcessState) int64 {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0
	}
	return maxRSSBytes(ru)
}

// maxRSSBytes is ru_maxrss in bytes: darwin counts bytes, the others KiB.
func maxRSSBytes(ru *syscall.Rusage) int64 {
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return int64(ru.Maxrss)
	}
	return int64(ru.Maxrss) * 1024
}
