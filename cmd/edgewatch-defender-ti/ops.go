package main

import (
	"github.com/edgewatch/edgewatch/internal/incremental/pluginops"
	"github.com/edgewatch/edgewatch/internal/ops"
	"github.com/edgewatch/edgewatch/plugin"
)

// operations is the plugin's Admin: the incremental-detection operations
// (detection.run_incremental, detection.retro_hunt, detection.feed_refresh,
// detection.status) that `edgewatch serve` calls, and the stack operations
// of internal/ops behind `edgewatch feed load|status`, `install`,
// `uninstall`, `report` and `status` (a combined view: feeds, checkpoints,
// last runs; detection.status alone needs the data indices configured).
// Add new operation sets here.
func operations() *plugin.Mux {
	m := &plugin.Mux{}
	pluginops.Register(m, pluginops.Deps{})
	ops.Register(m, ops.Deps{})
	return m
}
