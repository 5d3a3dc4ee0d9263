//go:build unix

package procstat

import (
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
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return int64(ru.Maxrss) // bytes there
	}
	return int64(ru.Maxrss) * 1024 // kilobytes
}
