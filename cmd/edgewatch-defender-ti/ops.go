package main

import (
	"sync"

	"github.com/edgewatch/edgewatch/internal/detector"
	"github.com/edgewatch/edgewatch/internal/incremental/pluginops"
	"github.com/edgewatch/edgewatch/internal/ops"
)

// operations is the plugin's Admin registry: whatever packages registered
// with detector.RegisterOp, the incremental-detection operations
// (detection.run_incremental, detection.retro_hunt, detection.feed_refresh,
// detection.status) that `edgewatch serve` calls, and the stack operations
// of internal/ops behind `edgewatch feed load|status`, `install`,
// `uninstall`, `report` and `status` (a combined view: feeds, checkpoints,
// last runs; detection.status alone needs the data indices configured).
// Add new operation sets here. It registers once however often it is called.
var operations = sync.OnceValue(func() *detector.Registry {
	r := detector.DefaultOps()
	for name, fn := range pluginops.Ops(pluginops.Deps{}) {
		r.Register(name, fn)
	}
	ops.Register(r, ops.Deps{})
	return r
})
