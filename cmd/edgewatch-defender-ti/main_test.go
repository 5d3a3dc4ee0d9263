package main

import (
	"slices"
	"testing"
)

func TestOperationsRegistered(t *testing.T) {
	names := operations().Names()
	for _, want := range []string{
		"detection.run_incremental", "detection.retro_hunt", "detection.feed_refresh", "detection.status",
		// the ops internal/cli calls
		"feed.load", "feed.status", "install", "uninstall", "report", "status",
	} {
		if !slices.Contains(names, want) {
			t.Errorf("operation %q not registered (have %v)", want, names)
		}
	}
}
