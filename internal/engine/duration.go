package engine

import "github.com/edgewatch/edgewatch/internal/duration"

// Duration is a time.Duration that reads "30d", "12h", "90m" from JSON/YAML.
type Duration = duration.Duration

// ParseDuration accepts Go durations plus a "d" (24h) suffix: "30d", "1d12h".
var ParseDuration = duration.Parse
