package cli

import (
	"io"
	"log/slog"

	"github.com/spf13/cobra"
)

// CommandTree is the edgewatch command tree, for generating shell
// completions and man pages at package build time (packaging/). It runs
// nothing: executing it would run edgewatch with no terminal and no
// environment.
func CommandTree() *cobra.Command {
	a := &app{env: Env{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(string) string { return "" }},
		log: slog.New(slog.DiscardHandler)}
	return a.rootCommand()
}
