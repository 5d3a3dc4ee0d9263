package servecmd

import (
	"errors"
	"io"
	"sync"
)

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// syncWriter serialises writes from the server's goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
