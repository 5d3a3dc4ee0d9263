package faults

import (
	"context"
	"sync"

	"github.com/edgewatch/edgewatch/connectors/cluster"
)

// Hook is a cluster.Doer that injects one fault at an exact point of a
// request sequence. Every request goes to Next. Before, when set, sees
// (and may change) each request before it is sent; After sees each
// answer. The first time After returns true, Fault runs, synchronously,
// before the caller gets that answer: whatever the caller sends next meets
// the fault. Fault runs at most once; its error is kept (Fired). After
// may be called concurrently; it, Before and Fault must talk to the
// cluster through another client than the hooked one.
type Hook struct {
	Next   cluster.Doer
	Before func(ctx context.Context, req *cluster.Request)
	After  func(req cluster.Request, resp *cluster.Response) bool
	Fault  func() error

	mu    sync.Mutex
	fired bool
	err   error
}

// Do implements cluster.Doer.
func (h *Hook) Do(ctx context.Context, req cluster.Request) (*cluster.Response, error) {
	if h.Before != nil {
		h.Before(ctx, &req)
	}
	resp, err := h.Next.Do(ctx, req)
	if err != nil || h.After == nil || !h.After(req, resp) {
		return resp, err
	}
	// Other answers arriving while the fault runs wait for it.
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.fired {
		h.fired = true
		h.err = h.Fault()
	}
	return resp, err
}

// Fired reports whether the fault ran, and its error.
func (h *Hook) Fired() (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.fired, h.err
}
