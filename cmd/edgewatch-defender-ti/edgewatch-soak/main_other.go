//go:build !linux

// Command edgewatch-soak is the fault soak (`make soak`); it runs on Linux
// only (it reads processes from /proc and relies on Pdeathsig).
package main

import (
	"fmt"
	"os"
	"runtime"
)

func main() {
	fmt.Fprintf(os.Stderr, "edgewatch-soak: the fault soak runs on Linux only, not on %s\n", runtime.GOOS)
	os.Exit(2)
}
