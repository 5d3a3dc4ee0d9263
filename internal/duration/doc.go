// Package duration reads and writes the durations edgewatch's settings use:
// Go durations plus a leading whole-day count ("30d", "1d12h", "90m"). It has
// no dependencies, so the host, the plugin side and the engine share it.
package duration
