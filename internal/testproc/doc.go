// Package testproc holds the process helpers that tests of process
// lifecycles share (a plugin killed mid-run, a cancelled run that must leave
// no plugin behind): killing a process by pid outright and telling whether a
// pid is gone. It exists so those tests read the same on every system the
// code builds for: the Unix files use signals, the Windows file the process
// handle API.
package testproc
