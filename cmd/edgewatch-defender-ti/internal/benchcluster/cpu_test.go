package benchcluster

import (
	"os"
	"testing"
)

func TestDescribeCPU(t *testing.T) {
	tests := []struct {
		name, cpuinfo, want string
	}{
		{"zen 5", "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 26\nmodel\t\t: 2\nmodel name\t: AMD EPYC\nflags\t\t: fpu avx2 avx512f avx512bw\n\nprocessor\t: 1\nmodel name\t: other\n",
			"AMD EPYC (family 26 model 2), 2 CPUs, AVX-512"},
		{"avx2 only", "cpu family\t: 6\nmodel\t\t: 85\nmodel name\t: Intel(R) Xeon(R)\nflags\t\t: fpu avx avx2\n", "Intel(R) Xeon(R) (family 6 model 85), 2 CPUs, AVX2"},
		{"no vector flags", "model name\t: Some CPU\nflags\t\t: fpu sse2 avx512fx\n", "Some CPU (family ? model ?), 2 CPUs, no AVX2"},
		{"no cpuinfo", "", "unknown CPU (family ? model ?), 2 CPUs, no AVX2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := describeCPU(tt.cpuinfo, 2); got != tt.want {
				t.Errorf("describeCPU = %q, want %q", got, tt.want)
			}
		})
	}
}

// A local process that is not a node (this test, pid 1, no process) is
// never read as one.
func TestLocalNode(t *testing.T) {
	for _, pid := range []int{os.Getpid(), 1, 0, -1, 1 << 30} {
		if localNode(pid) {
			t.Errorf("localNode(%d) = true for a process that is no cluster node", pid)
		}
	}
}
