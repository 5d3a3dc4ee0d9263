package procstat

import (
	"os"
	"strconv"
	"strings"
)

// vmHWM is VmHWM from /proc/self/status, in bytes (0 when unknown).
func vmHWM() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					return kb * 1024
				}
			}
		}
	}
	return 0
}

// ResetPeakRSS lowers the peak resident set to the current one (Linux:
// 5 written to /proc/self/clear_refs), so that PeakRSS measures what
// follows; it reports whether it could.
func ResetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}
