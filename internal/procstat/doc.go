// Package procstat reads what this process has used so far, its CPU time
// (user plus system) and its peak resident set, for the bench commands'
// per-run figures. It reads /proc on Linux, getrusage on the other Unix
// systems and GetProcessTimes on Windows; what a system does not tell
// (Windows' peak working set, any figure on other systems) reads as 0.
package procstat
