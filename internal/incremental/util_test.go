package incremental

import (
	"crypto/rand"
	"encoding/hex"
	"flag"
	"log/slog"
	"os"
	"testing"
	"time"
)

func randHex() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Verbose() {
		slog.SetDefault(slog.New(slog.DiscardHandler))
	}
	os.Exit(m.Run())
}

func fixed(t time.Time) func() time.Time { return func() time.Time { return t } }
