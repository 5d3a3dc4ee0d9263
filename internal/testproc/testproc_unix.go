//go:build unix

package testproc

import (
	"errors"
	"syscall"
)

// Kill kills pid outright (SIGKILL): no handler runs.
func Kill(pid int) error { return syscall.Kill(pid, syscall.SIGKILL) }

// Gone reports whether pid no longer exists. A zombie (exited, not reaped)
// still exists.
func Gone(pid int) bool { return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) }
