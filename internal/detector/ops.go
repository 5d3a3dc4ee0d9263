package detector

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"

	"github.com/edgewatch/edgewatch/plugin/wire"
)

// OpFunc implements one Admin operation: it receives the host's JSON args,
// the secrets, and a progress callback, and returns a JSON result.
type OpFunc func(ctx context.Context, args json.RawMessage, secrets map[string]string, progress func(wire.Progress)) (json.RawMessage, error)

// Registry maps operation names to their implementations. It is safe for
// concurrent use.
type Registry struct {
	mu  sync.RWMutex
	ops map[string]OpFunc
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{ops: map[string]OpFunc{}} }

// Register adds op name. Like http.HandleFunc it panics on an empty name, a
// nil func or a name registered twice: those are programming errors that
// must fail the first test run, not a user's command.
func (r *Registry) Register(name string, fn OpFunc) {
	if name == "" || fn == nil {
		panic("detector: RegisterOp with empty name or nil func")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.ops[name]; dup {
		panic(fmt.Sprintf("detector: operation %q registered twice", name))
	}
	r.ops[name] = fn
}

// Lookup returns the operation called name.
func (r *Registry) Lookup(name string) (OpFunc, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	fn, ok := r.ops[name]
	return fn, ok
}

// Names lists the registered operations, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.ops))
	for n := range r.ops {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// defaultOps is the registry the plugin binary serves.
var defaultOps = NewRegistry()

// RegisterOp registers an operation in the plugin's default registry. Call it
// before Serve (from an init function or from the plugin's main package).
func RegisterOp(name string, fn OpFunc) { defaultOps.Register(name, fn) }

// DefaultOps is the registry RegisterOp fills.
func DefaultOps() *Registry { return defaultOps }

// OpArgs is the common part of every op's args: the run settings (source,
// cluster, feeds). Embed it in an op's own args struct, or decode it alone.
type OpArgs struct {
	Settings wire.Settings `json:"settings"`
}
