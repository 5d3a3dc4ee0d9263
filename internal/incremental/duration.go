package incremental

import "github.com/edgewatch/edgewatch/internal/duration"

// Duration is a time.Duration read from JSON or YAML as a Go duration string
// with an optional leading day count ("10m", "7d", "1d12h").
type Duration = duration.Duration

// ParseDuration accepts Go durations plus a leading "<n>d" day count.
var ParseDuration = duration.Parse
