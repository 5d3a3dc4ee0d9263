package procstat

import (
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// TestCPUGrows: CPU spent shows in later reads. The loop works until
// CPU() has grown by 20 ms; a reading that does not follow the process's
// CPU never does, and the test fails at its deadline. (No wall-clock ratio
// is asserted: a loaded machine gives the loop a fraction of a core.)
func TestCPUGrows(t *testing.T) {
	before := CPU()
	if before <= 0 {
		t.Fatalf("CPU() = %v in a running test process, want > 0", before)
	}
	deadline := time.Now().Add(30 * time.Second)
	x := uint64(1)
	for CPU()-before < 20*time.Millisecond {
		if time.Now().After(deadline) {
			t.Fatalf("CPU() grew by %v in 30 s of busy loop (x=%d), want >= 20ms", CPU()-before, x)
		}
		for range 100000 {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
}

// TestPeakRSS: touching 64 MiB raises the peak by about that much, and on
// Linux a reset brings it back below.
func TestPeakRSS(t *testing.T) {
	if runtime.GOOS == "windows" {
		if got := PeakRSS(); got != 0 {
			t.Fatalf("PeakRSS() = %d on Windows, want 0 (not read)", got)
		}
		return
	}
	const size = 64 << 20
	base := PeakRSS()
	if base <= 0 {
		t.Fatalf("PeakRSS() = %d, want > 0", base)
	}
	b := make([]byte, size)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	peak := PeakRSS()
	if peak < base+size/2 {
		t.Fatalf("PeakRSS() = %d after touching %d bytes (before %d), want >= %d", peak, size, base, base+size/2)
	}
	runtime.KeepAlive(b)
	runtime.GC()
	debug.FreeOSMemory()
	if runtime.GOOS != "linux" {
		return
	}
	if !ResetPeakRSS() {
		t.Fatal("ResetPeakRSS() = false on Linux")
	}
	if after := PeakRSS(); after >= peak {
		t.Fatalf("PeakRSS() = %d after the 64 MiB were freed and the peak reset, want < %d", after, peak)
	}
}

// envTouch makes the test binary a child that touches 64 MiB and exits.
const envTouch = "PROCSTAT_TOUCH"

func TestMain(m *testing.M) {
	if os.Getenv(envTouch) != "" {
		b := make([]byte, 64<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		runtime.KeepAlive(b)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestChildPeakRSS: a child that touched 64 MiB reports a peak of at least
// half that once it has exited (0 on Windows, where it is not read).
func TestChildPeakRSS(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), envTouch+"=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	got := ChildPeakRSS(cmd.ProcessState)
	if runtime.GOOS == "windows" {
		if got != 0 {
			t.Fatalf("ChildPeakRSS = %d on Windows, want 0 (not read)", got)
		}
		return
	}
	if got < 32<<20 || got > 4<<30 {
		t.Fatalf("ChildPeakRSS = %d after the child touched 64 MiB, want between 32 MiB and 4 GiB", got)
	}
}
