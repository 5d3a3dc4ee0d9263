// Package testlog quiets the default slog logger in tests: the packages
// that log their runs (incremental runs, serve, the admin operations) call
// Main from their TestMain, so that `go test` shows the log lines only with
// -v, where they help to read a failure.
package testlog

import (
	"flag"
	"log/slog"
	"os"
	"testing"
)

// Main runs m's tests, with slog's default logger discarded unless -v, and
// exits with their status.
func Main(m *testing.M) {
	flag.Parse()
	if !testing.Verbose() {
		slog.SetDefault(slog.New(slog.DiscardHandler))
	}
	os.Exit(m.Run())
}
