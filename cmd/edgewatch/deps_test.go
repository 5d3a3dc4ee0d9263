package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestHostDoesNoDataWork: the host binary must not link the detection
// (correlation/, connectors/, the engine): all data work happens in the
// plugin process.
func TestHostDoesNoDataWork(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	const mod = "github.com/edgewatch/edgewatch/"
	forbidden := []string{mod + "correlation", mod + "connectors", mod + "internal/engine", mod + "internal/detector"}
	var own int
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, mod) {
			own++
		}
		for _, f := range forbidden {
			if pkg == f || strings.HasPrefix(pkg, f+"/") {
				t.Errorf("cmd/edgewatch depends on %s", pkg)
			}
		}
	}
	if own < 3 {
		t.Fatalf("go list found only %d edgewatch packages; the check is not looking at the host:\n%s", own, out)
	}
}
