//go:build linux

package soak

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// instance is one `edgewatch serve` process.
type instance struct {
	name string
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
}

// startServe starts `host serve --config config --listen addr`, its output
// appended to logPath. The process dies with the soak (Pdeathsig).
func startServe(name, host, config, addr, logPath string) (*instance, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(f, "---- soak: serve %s starting at %s\n", name, time.Now().UTC().Format(time.RFC3339Nano))
	cmd := exec.Command(host, "serve", "--config", config, "--listen", addr)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start serve %s: %w", name, err)
	}
	in := &instance{name: name, cmd: cmd, log: f, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		f.Close()
		close(in.done)
	}()
	return in, nil
}

func (in *instance) pid() int { return in.cmd.Process.Pid }

func (in *instance) alive() bool {
	select {
	case <-in.done:
		return false
	default:
		return true
	}
}

// stop sends sig and waits up to timeout for the process to end; it
// kills it when it did not.
func (in *instance) stop(sig syscall.Signal, timeout time.Duration) {
	if !in.alive() {
		return
	}
	_ = in.cmd.Process.Signal(sig)
	select {
	case <-in.done:
	case <-time.After(timeout):
		_ = in.cmd.Process.Kill()
		<-in.done
	}
}

// pluginOf finds the plugin process (edgewatch-defender-ti) that serve
// process pid runs.
func pluginOf(pid int) (int, bool) {
	for _, c := range children(pid) {
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", c)); err == nil && strings.HasPrefix(filepath.Base(exe), "edgewatch-defender-ti") {
			return c, true
		}
	}
	return 0, false
}

// children lists the processes whose parent is pid (from /proc).
func children(pid int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, ok := parentOf(n); ok && ppid == pid {
			out = append(out, n)
		}
	}
	return out
}

// parentOf reads the parent pid from /proc/pid/stat ("pid (comm) state
// ppid …"; comm may hold spaces and parentheses).
func parentOf(pid int) (int, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	return ppid, err == nil
}

// processAlive reports whether pid still runs (and is not a zombie).
func processAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && !strings.HasPrefix(strings.TrimSpace(s[i+1:]), "Z")
}

// runHost runs the host with args and returns its output.
func runHost(ctx context.Context, host string, args ...string) ([]byte, error) {
	return exec.CommandContext(ctx, host, args...).CombinedOutput()
}
