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
