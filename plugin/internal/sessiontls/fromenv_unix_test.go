//go:build unix

package sessiontls

import (
	"os"
	"strconv"
	"syscall"
	"testing"
)

// TestFromEnvPipe: the plugin reads its session from an inherited pipe and
// closes the descriptor.
func TestFromEnvPipe(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := w.Write(s.Bundle); err != nil {
		t.Fatal(err)
	}
	w.Close()
	fd, err := syscall.Dup(int(r.Fd())) // FromEnv closes what it reads, as a plugin does
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvFD, strconv.Itoa(fd))
	cfg, err := FromEnv()
	if err != nil || cfg == nil {
		t.Fatalf("FromEnv: %v, %v", cfg, err)
	}
	if hostErr, pluginErr := handshake(t, s.Host, cfg); hostErr != nil || pluginErr != nil {
		t.Fatalf("handshake: host %v, plugin %v", hostErr, pluginErr)
	}
	if err := syscall.Fstat(fd, new(syscall.Stat_t)); err == nil {
		t.Errorf("descriptor %d is still open after FromEnv", fd)
	}
}
