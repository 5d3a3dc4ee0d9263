//go:build !linux

package procstat

// ResetPeakRSS cannot lower the peak resident set on this system: PeakRSS
// stays the peak of the whole process.
func ResetPeakRSS() bool { return false }
