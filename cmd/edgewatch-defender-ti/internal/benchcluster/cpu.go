package benchcluster

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/internal/procstat"
)

// cpuMeter reads the CPU time spent so far by this process (the client:
// edgewatch's read path runs in it) and by the cluster's nodes, so that a
// round can say which side its time went to. On a machine where the
// cluster and the client share the cores, a client that decodes less
// leaves more of them to the server, and the other way round.
//
// The nodes' own statistics refresh once a second, too coarse for a
// round; a node running on this machine is read from /proc instead (the
// run time of each of its threads, in nanoseconds). With a node
// elsewhere the cluster's CPU is unknown: a process of this machine that
// has a remote node's pid is not a node (localNode checks its command
// line).
type cpuMeter struct {
	pids []int // the nodes' processes, nil when one is not local
}

// newCPUMeter finds the nodes' processes on this machine.
func newCPUMeter(ctx context.Context, c *cluster.Client) cpuMeter {
	var r struct {
		Nodes map[string]struct {
			Process struct {
				ID int `json:"id"`
			} `json:"process"`
		} `json:"nodes"`
	}
	req := cluster.Request{Method: http.MethodGet, Path: "/_nodes/process",
		Query: url.Values{"filter_path": {"nodes.*.process.id"}}}
	if err := c.Call(ctx, "node info", req, &r); err != nil || len(r.Nodes) == 0 {
		return cpuMeter{}
	}
	var m cpuMeter
	for _, n := range r.Nodes {
		if !localNode(n.Process.ID) {
			return cpuMeter{}
		}
		m.pids = append(m.pids, n.Process.ID)
	}
	return m
}

// cpuSample is one reading; server is -1 when it is not known.
type cpuSample struct {
	client, server time.Duration
}

func (m cpuMeter) read() cpuSample {
	s := cpuSample{client: procstat.CPU(), server: -1}
	if m.pids == nil {
		return s
	}
	var total time.Duration
	for _, pid := range m.pids {
		d := threadsCPU(pid)
		if d < 0 {
			return s
		}
		total += d
	}
	s.server = total
	return s
}

// since is the CPU spent between two readings (server -1 when unknown).
func (s cpuSample) since(before cpuSample) cpuSample {
	d := cpuSample{client: s.client - before.client, server: -1}
	if s.server >= 0 && before.server >= 0 {
		d.server = s.server - before.server
	}
	return d
}

// localNode reports whether pid is an OpenSearch or Elasticsearch node
// running on this machine (its command line names the server's classes).
func localNode(pid int) bool {
	if pid <= 0 {
		return false
	}
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return false
	}
	cmd := strings.ToLower(string(b))
	return (strings.Contains(cmd, "org.opensearch") || strings.Contains(cmd, "org.elasticsearch")) && threadsCPU(pid) >= 0
}

// threadsCPU sums the run time of a local process's threads
// (/proc/PID/task/*/schedstat, first field, nanoseconds); -1 when the
// process cannot be read.
func threadsCPU(pid int) time.Duration {
	tasks, err := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*", "schedstat"))
	if err != nil || len(tasks) == 0 {
		return -1
	}
	var total time.Duration
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue // the thread ended
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			continue
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err == nil {
			total += time.Duration(ns)
		}
	}
	return total
}

// cpuText prints a CPU time, "?" when unknown.
func cpuText(d time.Duration) string {
	if d < 0 {
		return "?"
	}
	return d.Round(time.Millisecond).String()
}

// cpuMS is the median of CPU times in milliseconds, -1 when one is unknown.
func cpuMS(ds []time.Duration) float64 {
	for _, d := range ds {
		if d < 0 {
			return -1
		}
	}
	return ms(median(ds))
}

// machineInfo names the CPU the numbers belong to (model, family and
// model number, CPUs, widest vector extension): ratios move between CPU
// models, so a result says which one it came from.
func machineInfo() string {
	b, _ := os.ReadFile("/proc/cpuinfo") // empty where there is none
	return describeCPU(string(b), runtime.NumCPU())
}

// describeCPU reads the first processor's entry of a /proc/cpuinfo text.
func describeCPU(cpuinfo string, cpus int) string {
	info := map[string]string{}
	for line := range strings.Lines(cpuinfo) {
		k, v, ok := strings.Cut(line, ":")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if _, seen := info[k]; ok && !seen {
			info[k] = v
		}
	}
	flags := " " + info["flags"] + " "
	simd := "no AVX2"
	switch {
	case strings.Contains(flags, " avx512f "):
		simd = "AVX-512"
	case strings.Contains(flags, " avx2 "):
		simd = "AVX2"
	}
	return fmt.Sprintf("%s (family %s model %s), %d CPUs, %s",
		cmp.Or(info["model name"], "unknown CPU"), cmp.Or(info["cpu family"], "?"), cmp.Or(info["model"], "?"), cpus, simd)
}
