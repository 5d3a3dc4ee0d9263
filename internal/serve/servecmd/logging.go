package servecmd

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/edgewatch/edgewatch/internal/serve"
)

// underSystemd reports whether serve runs as a systemd service: systemd
// sets INVOCATION_ID for every unit it starts, and JOURNAL_STREAM when
// stdout or stderr is connected to the journal.
func underSystemd(getenv func(string) string) bool {
	return getenv("JOURNAL_STREAM") != "" || getenv("INVOCATION_ID") != ""
}

// logOutput picks where serve logs and, when neither the configuration nor
// --log-format chose one, in which format: under systemd JSON lines on
// stdout (the journal keeps one entry per line, and `journalctl -o cat`
// gives them to jq), elsewhere text on stderr.
func logOutput(cmd *cobra.Command, cfg *serve.Config, getenv func(string) string) io.Writer {
	if !underSystemd(getenv) {
		return cmd.ErrOrStderr()
	}
	if cfg.Log.Format == "" {
		cfg.Log.Format = "json"
	}
	return cmd.OutOrStdout()
}
