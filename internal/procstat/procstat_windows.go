package procstat

import (
	"os"
	"time"

	"golang.org/x/sys/windows"
)

// CPU is this process's user + system CPU time so far (0 when unknown).
func CPU() time.Duration {
	var created, exited, kernel, user windows.Filetime
	if windows.GetProcessTimes(windows.CurrentProcess(), &created, &exited, &kernel, &user) != nil {
		return 0
	}
	// A Filetime counts 100 ns intervals.
	ticks := func(ft windows.Filetime) int64 { return int64(ft.HighDateTime)<<32 | int64(ft.LowDateTime) }
	return time.Duration(ticks(kernel)+ticks(user)) * 100
}

// PeakRSS is 0: the peak working set is not read on Windows.
func PeakRSS() int64 { return 0 }

// ChildPeakRSS is 0: a finished process's peak working set is not read on
// Windows.
func ChildPeakRSS(*os.ProcessState) int64 { return 0 }
