package testproc

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

// TestKillAndGone: a running child is not gone; once killed and reaped it
// is; this process is never gone.
func TestKillAndGone(t *testing.T) {
	if Gone(os.Getpid()) {
		t.Fatal("this process reads as gone")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The test binary itself, told (envSleep) to sleep before it would run
	// no test: a child that stays up until killed.
	cmd := exec.Command(exe, "-test.run=^$", "-test.timeout=5m")
	cmd.Env = append(os.Environ(), envSleep+"=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	if Gone(pid) {
		_ = cmd.Process.Kill()
		t.Fatalf("running child %d reads as gone", pid)
	}
	if err := Kill(pid); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Error("the killed child exited cleanly")
	}
	if !Gone(pid) {
		t.Errorf("killed and reaped child %d does not read as gone", pid)
	}
}

const envSleep = "TESTPROC_SLEEP"

func TestMain(m *testing.M) {
	if os.Getenv(envSleep) != "" {
		time.Sleep(5 * time.Minute)
		os.Exit(0)
	}
	os.Exit(m.Run())
}
