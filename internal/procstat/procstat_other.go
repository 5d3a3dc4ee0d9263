//go:build !unix && !windows

package procstat

import (
	"os"
	"time"
)

// CPU is 0: this system's process CPU time is not read.
func CPU() time.Duration { return 0 }

// PeakRSS is 0: this system's resident set is not read.
func PeakRSS() int64 { return 0 }

// ChildPeakRSS is 0: this system's resident set is not read.
func ChildPeakRSS(*os.ProcessState) int64 { return 0 }
