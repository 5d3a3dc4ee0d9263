package gctune

import (
	"os"
	"runtime/debug"
)

// GC settings of the plugin process, by the kind of run.
//
// A cluster run allocates a page of hits (megabytes) at a time and keeps
// little: with Go's default GOGC of 100 the collector ran on every page and
// took a quarter of the plugin's CPU on the cluster benchmark, CPU that a
// single-host install takes from the cluster itself. A target of 400 cut
// that by about 55 ms of the ~225 ms of plugin-side CPU per round of the
// 2M-event cluster benchmark, for 40 → 56 MB peak RSS. That is the
// process's default (Apply): `edgewatch serve` keeps one plugin for
// cluster runs.
//
// A file run (`edgewatch run` over files, one run per plugin process)
// reads through reused buffers; its garbage is the alert batches. At 400 the
// alert-heavy file benchmark once peaked at 110–122 MB RSS, at 100 at
// 67–72 MB. Since the plugin writes the alert file itself (no batches
// queued for the connection), the whole CLI on that benchmark, 12 rounds:
// 100 → 60–62 MB, 0.310 s, 0.525 s CPU; 150 → 70–73 MB, 0.300 s, 0.510 s;
// 200 → 78–81 MB, 0.300 s, 0.510 s; 300 → 95–97 MB, 0.290 s. ForRun sets
// 150 for file runs: as fast as 200, and 27 MB or more under the 100 MB
// budget. A grouped file run is the exception: it
// keeps each group's first alert until the end (up to one per event, some
// 60 MB on the alert-heavy run), which at 100 every collection marks
// again; it gets 400 too (the soft limit still bounds the heap).
//
// The soft limit keeps the heap well under the plugin's 300 MB budget
// should the live set grow.
const (
	clusterGCPercent = 400
	fileGCPercent    = 150
	memoryLimit      = 256 << 20
)

// Apply applies the plugin process's GC settings (the cluster ones) unless
// the operator chose their own with GOGC or GOMEMLIMIT. The plugin's main
// calls it, and so does the cluster benchmark, which measures the plugin's
// read path in process.
func Apply() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(clusterGCPercent)
	}
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(memoryLimit)
	}
}

// ForRun sets the GC target for a run reading from source ("file",
// "opensearch", "elasticsearch"; "" is file), grouped or not, unless the
// operator set GOGC. The detector calls it at the start of each run; a
// process runs one file run (the CLI) or cluster runs (serve), so runs of
// both kinds at once in one process do not happen in practice (the last
// call wins).
func ForRun(source string, grouped bool) {
	if _, set := os.LookupEnv("GOGC"); set {
		return
	}
	if (source == "" || source == "file") && !grouped {
		debug.SetGCPercent(fileGCPercent)
		return
	}
	debug.SetGCPercent(clusterGCPercent)
}
