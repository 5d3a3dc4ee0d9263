package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestHostDoesNoDataWork: the host binary must not link correlation/ or
// connectors/: all data work happens in the plugin process. (The plugin's
// own packages are under cmd/edgewatch-defender-ti/internal, which Go does
// not let the host import at all.)
func TestHostDoesNoDataWork(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	const mod = "github.com/edgewatch/edgewatch/"
	forbidden := []string{mod + "correlation", mod + "connectors"}
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
