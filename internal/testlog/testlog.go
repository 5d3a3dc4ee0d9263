package testlog

import (
	"bytes"
	"flag"
	"log/slog"
	"os"
	"sync"
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

// Buffer is a bytes.Buffer that goroutines may write to at once (a
// server's log handler, go-plugin's stderr reader) while the test reads
// it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String is what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
