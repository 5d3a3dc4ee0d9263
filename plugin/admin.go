package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/edgewatch/edgewatch/plugin/wire"
)

// ErrInvalidArgs: an operation's arguments (or its result) do not decode
// as the operation's type.
var ErrInvalidArgs = errors.New("invalid operation arguments")

// Call runs the admin operation op in the plugin behind a with typed args
// and result: the args travel as JSON over the frozen Exec RPC and the
// answer is decoded into R. Progress and alert batches go to s (nil
// discards them).
func Call[A, R any](ctx context.Context, a Admin, op wire.Op[A, R], args A, secrets map[string]string, s Stream) (R, error) {
	var res R
	raw, err := json.Marshal(args)
	if err != nil {
		return res, fmt.Errorf("%s: encode args: %w", op.Name, err)
	}
	if s == nil {
		s = discard{}
	}
	out, err := a.Exec(ctx, op.Name, raw, secrets, s)
	if err != nil {
		return res, err
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return res, fmt.Errorf("%w: %s: bad result: %w", ErrInvalidResponse, op.Name, err)
	}
	return res, nil
}

// discard is the Stream of a caller that wants neither progress nor alerts.
type discard struct{}

func (discard) Progress(context.Context, Progress) error { return nil }
func (discard) Alerts(context.Context, AlertBatch) error { return nil }

// HandlerFunc serves one typed operation: its decoded args, the secrets
// the host sent next to them, and the Stream for progress (and alert
// batches, for operations that stream them).
type HandlerFunc[A, R any] func(ctx context.Context, args A, secrets map[string]string, s Stream) (R, error)

// Mux is a plugin's Admin implementation: a set of typed operations, each
// registered once with Handle. The zero value is an empty Mux; it is not
// safe to register while serving.
type Mux struct {
	ops map[string]func(ctx context.Context, args json.RawMessage, secrets map[string]string, s Stream) (json.RawMessage, error)
}

var _ Admin = (*Mux)(nil)

// Handle registers fn as operation op of m. Like http.HandleFunc it panics
// on an empty name, a nil fn or a name registered twice: those are
// programming errors that must fail the first test run.
func Handle[A, R any](m *Mux, op wire.Op[A, R], fn HandlerFunc[A, R]) {
	if op.Name == "" || fn == nil {
		panic("plugin: Handle with an empty operation name or a nil handler")
	}
	if _, dup := m.ops[op.Name]; dup {
		panic(fmt.Sprintf("plugin: operation %q registered twice", op.Name))
	}
	if m.ops == nil {
		m.ops = map[string]func(context.Context, json.RawMessage, map[string]string, Stream) (json.RawMessage, error){}
	}
	m.ops[op.Name] = func(ctx context.Context, raw json.RawMessage, secrets map[string]string, s Stream) (json.RawMessage, error) {
		var args A
		if len(raw) == 0 {
			return nil, fmt.Errorf("%w: %s: no arguments", ErrInvalidArgs, op.Name)
		}
		if err := json.Unmarshal(raw, &args); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrInvalidArgs, op.Name, err)
		}
		res, err := fn(ctx, args, secrets, s)
		if err != nil {
			return nil, err
		}
		return json.Marshal(res)
	}
}

// Names lists the registered operations, sorted (Info.Operations).
func (m *Mux) Names() []string {
	names := make([]string, 0, len(m.ops))
	for n := range m.ops {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Exec implements Admin: it runs the operation called op, or answers an
// error wrapping ErrUnknownOp that lists what the plugin offers.
func (m *Mux) Exec(ctx context.Context, op string, args json.RawMessage, secrets map[string]string, s Stream) (json.RawMessage, error) {
	fn, ok := m.ops[op]
	if !ok {
		offers := "none"
		if names := m.Names(); len(names) > 0 {
			offers = strings.Join(names, ", ")
		}
		return nil, fmt.Errorf("%w: %q (this plugin offers: %s)", ErrUnknownOp, op, offers)
	}
	if s == nil {
		s = discard{}
	}
	return fn(ctx, args, secrets, s)
}
