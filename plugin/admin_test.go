package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/edgewatch/edgewatch/plugin/wire"
)

// muxDetector serves a Mux as the Admin of a fake detector.
type muxDetector struct {
	*fakeDetector
	*Mux
}

// TestCallOverGRPC: a typed call crosses the real gRPC adapters: args and
// secrets arrive decoded, progress and alert batches reach the host's
// stream in order, the result comes back typed.
func TestCallOverGRPC(t *testing.T) {
	t.Parallel()
	m := &Mux{}
	Handle(m, wire.OpFeedLoad, func(ctx context.Context, a wire.FeedLoadArgs, secrets map[string]string, s Stream) (wire.FeedLoadResult, error) {
		if err := s.Progress(ctx, Progress{Stage: "feed", Done: 1, Total: 2, Unit: "rows"}); err != nil {
			return wire.FeedLoadResult{}, err
		}
		if err := s.Alerts(ctx, NewAlertBatch(alerts(3, "doc"))); err != nil {
			return wire.FeedLoadResult{}, err
		}
		return wire.FeedLoadResult{Feed: a.Name, Loaded: len(a.Content), Index: a.Settings.Source + "/" + secrets[wire.SecretPassword]}, nil
	})
	c := connect(t, muxDetector{&fakeDetector{}, m})
	rec := &recorder{}
	res, err := Call(context.Background(), c, wire.OpFeedLoad,
		wire.FeedLoadArgs{Settings: wire.Settings{Source: wire.SourceOpenSearch}, Name: "ipsum", Content: []byte("1.2.3.4\n")},
		map[string]string{wire.SecretPassword: "pw"}, rec)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wire.FeedLoadResult{Feed: "ipsum", Loaded: 8, Index: "opensearch/pw"}, res); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	if len(rec.progress) != 1 || rec.progress[0].Stage != "feed" || len(rec.alerts) != 3 {
		t.Errorf("stream: progress %+v, %d alerts", rec.progress, len(rec.alerts))
	}
	// A nil stream discards what the operation streams.
	if _, err := Call(context.Background(), c, wire.OpFeedLoad, wire.FeedLoadArgs{}, nil, nil); err != nil {
		t.Errorf("nil stream: %v", err)
	}
}

func TestCallErrors(t *testing.T) {
	t.Parallel()
	m := &Mux{}
	Handle(m, wire.OpStatus, func(context.Context, wire.StatusArgs, map[string]string, Stream) (wire.StatusResult, error) {
		return wire.StatusResult{}, errors.New("no cluster")
	})
	c := connect(t, muxDetector{&fakeDetector{}, m})
	tests := map[string]struct {
		call func() error
		want string
		code codes.Code
		is   error
	}{
		"handler error": {
			call: func() error {
				_, err := Call(context.Background(), c, wire.OpStatus, wire.StatusArgs{}, nil, nil)
				return err
			},
			want: "no cluster", code: codes.Unknown},
		"unknown op lists the offer": {
			call: func() error {
				_, err := Call(context.Background(), c, wire.OpInstall, wire.InstallArgs{}, nil, nil)
				return err
			},
			want: `"install"`, is: ErrUnknownOp},
		"args that do not decode": {
			call: func() error {
				_, err := c.Exec(context.Background(), wire.OpStatus.Name, json.RawMessage(`{"detections":"x"}`), nil, nil)
				return err
			},
			want: "status", code: codes.InvalidArgument},
		"no args": {
			call: func() error {
				_, err := c.Exec(context.Background(), wire.OpStatus.Name, nil, nil, nil)
				return err
			},
			want: "no arguments", code: codes.InvalidArgument},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := tc.call()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to mention %q", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.is)
			}
			if tc.is == nil && status.Code(err) != tc.code {
				t.Errorf("code %v, want %v", status.Code(err), tc.code)
			}
		})
	}
}

// TestMuxRejectsMistakes: registration mistakes are programming errors
// that panic at start-up, as http.HandleFunc's do.
func TestMuxRejectsMistakes(t *testing.T) {
	t.Parallel()
	nop := func(context.Context, wire.StatusArgs, map[string]string, Stream) (wire.StatusResult, error) {
		return wire.StatusResult{}, nil
	}
	tests := map[string]func(m *Mux){
		"empty name": func(m *Mux) { Handle(m, wire.Op[wire.StatusArgs, wire.StatusResult]{}, nop) },
		"nil func":   func(m *Mux) { Handle[wire.StatusArgs, wire.StatusResult](m, wire.OpStatus, nil) },
		"duplicate":  func(m *Mux) { Handle(m, wire.OpStatus, nop); Handle(m, wire.OpStatus, nop) },
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			fn(&Mux{})
		})
	}
}

func TestMuxNames(t *testing.T) {
	t.Parallel()
	m := &Mux{}
	if got := m.Names(); len(got) != 0 {
		t.Errorf("empty mux offers %v", got)
	}
	Handle(m, wire.OpStatus, func(context.Context, wire.StatusArgs, map[string]string, Stream) (wire.StatusResult, error) {
		return wire.StatusResult{}, nil
	})
	Handle(m, wire.OpFeedLoad, func(context.Context, wire.FeedLoadArgs, map[string]string, Stream) (wire.FeedLoadResult, error) {
		return wire.FeedLoadResult{}, nil
	})
	if diff := cmp.Diff([]string{"feed.load", "status"}, m.Names()); diff != "" {
		t.Error(diff)
	}
}
