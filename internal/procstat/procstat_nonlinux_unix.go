//go:build unix && !linux

package procstat

func vmHWM() int64 { return 0 }
