package incremental

import (
	"flag"
	"log/slog"
	"os"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Verbose() {
		slog.SetDefault(slog.New(slog.DiscardHandler))
	}
	os.Exit(m.Run())
}

func fixed(t time.Time) func() time.Time { return func() time.Time { return t } }
