package gen

import (
	"fmt"
	"strings"
)

// Dataset shapes: presets of Config for the benchmarks.
const (
	// ShapeDefault is Config's own defaults: a large fleet, few alerts.
	ShapeDefault = "default"
	// ShapeAlertHeavy is issue 14's alert-heavy production shape: 1M flat
	// events (~445 MB) over 300 devices, a quarter of them internet-facing,
	// ~15% of remote addresses from the feed; against IPsum level 1
	// (testdata/ipsum/levels/1.txt, 120,430 addresses) it gives ~21.7k
	// findings, so the run's cost is dominated by producing alerts.
	ShapeAlertHeavy = "alert-heavy"
)

// Shapes lists the accepted shape names.
var Shapes = []string{ShapeDefault, ShapeAlertHeavy}

// ApplyShape fills c from the named preset, leaving alone every field whose
// flag name is in explicit ("devices", "events", "facing-share",
// "inbound-share", "feed-hit-share").
func (c *Config) ApplyShape(name string, explicit map[string]bool) error {
	switch name {
	case "", ShapeDefault:
		return nil
	case ShapeAlertHeavy:
		set := func(flag string, apply func()) {
			if !explicit[flag] {
				apply()
			}
		}
		set("devices", func() { c.Devices = 300 })
		set("events", func() { c.Events = 1_000_000 })
		set("facing-share", func() { c.FacingShare = 0.25 })
		set("feed-hit-share", func() { c.FeedHitShare = 0.15 })
		set("inbound-share", func() { c.InboundShare = alertHeavyInbound })
		return nil
	}
	return fmt.Errorf("unknown shape %q (want one of %s)", name, strings.Join(Shapes, ", "))
}

// alertHeavyInbound is the inbound share that, with the other alert-heavy
// settings, gives ~21.7k findings in 1M events.
const alertHeavyInbound = 0.43
