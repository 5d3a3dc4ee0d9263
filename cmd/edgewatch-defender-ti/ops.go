package main

import (
	"sync"

	"github.com/edgewatch/edgewatch/internal/detector"
	"github.com/edgewatch/edgewatch/internal/incremental/pluginops"
)

// operations is the plugin's Admin registry: whatever packages registered
// with detector.RegisterOp, plus the incremental-detection operations
// (detection.run_incremental, detection.retro_hunt, detection.feed_refresh,
// detection.status) that `edgewatch serve` calls. Add new operation sets
// here. It registers once however often it is called.
var operations = sync.OnceValue(func() *detector.Registry {
	r := detector.DefaultOps()
	for name, fn := range pluginops.Ops(pluginops.Deps{}) {
		r.Register(name, fn)
	}
	return r
})
