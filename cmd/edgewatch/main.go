// Command edgewatch is the edgewatch host: it reads flags and config,
// starts the detector plugin (edgewatch-defender-ti) and writes what it
// finds. It never reads Defender data itself.
package main

import (
	"os"

	"github.com/edgewatch/edgewatch/internal/cli"
)

func main() { os.Exit(cli.Run(os.Args[1:])) }
