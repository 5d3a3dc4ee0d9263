package engine

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/connectors"
	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/internal/testlog"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// stepSource is a Source for steps 1 and 2: its DeviceInfo read says when
// it starts, then does what the test asks.
type stepSource struct {
	memSource
	started  chan struct{}
	deviceFn func(ctx context.Context, q connectors.FacingQuery, fn func(*correlation.DeviceInfo) error) (connectors.Report, error)
	prepared atomic.Int32 // PrepareEvents calls
	stopped  atomic.Int32 // their stop calls
}

func (s *stepSource) DeviceInfo(ctx context.Context, q connectors.FacingQuery, fn func(*correlation.DeviceInfo) error) (connectors.Report, error) {
	close(s.started)
	if s.deviceFn != nil {
		return s.deviceFn(ctx, q, fn)
	}
	return s.memSource.DeviceInfo(ctx, q, fn)
}

func (s *stepSource) PrepareEvents(context.Context, connectors.EventQuery) func() {
	s.prepared.Add(1)
	return func() { s.stopped.Add(1) }
}

// serialObserver fails the test if two Progress calls overlap.
type serialObserver struct {
	inFlight   atomic.Int32
	overlapped atomic.Bool
	calls      atomic.Int32
}

func (o *serialObserver) Progress(wire.Progress) {
	if o.inFlight.Add(1) > 1 {
		o.overlapped.Store(true)
	}
	time.Sleep(time.Millisecond) // widen the window an unguarded call would race in
	o.calls.Add(1)
	o.inFlight.Add(-1)
}

func (o *serialObserver) Alerts(context.Context, Batch) error { return nil }

// TestIndicatorsAndFacing: steps 1 and 2 run at once and end as they did one
// after the other.
func TestIndicatorsAndFacing(t *testing.T) {
	errFeed := errors.New("lookup index unreadable")
	errRead := errors.New("DeviceInfo unreadable")
	oneIndicator := func(t *testing.T) *correlation.IndicatorSet {
		ind := correlation.NewIndicatorSet("ipsum")
		if _, err := correlation.ParseFeed(strings.NewReader("45.155.205.233\t3\n"), "feed", correlation.FeedOptions{}, ind); err != nil {
			t.Fatal(err)
		}
		return ind
	}
	tests := []struct {
		name string
		// indicators runs as Backend.Indicators once the DeviceInfo read
		// has started (or fails the test after a while).
		indicators func(t *testing.T) (*correlation.IndicatorSet, error)
		deviceFn   func(ctx context.Context, q connectors.FacingQuery, fn func(*correlation.DeviceInfo) error) (connectors.Report, error)
		wantErr    error
		wantPanic  string // the error and the log name this panic
		wantRead   int64  // sum.DeviceInfo.Read
		wantPorts  int
		wantStops  int32 // PrepareEvents stops made by the steps themselves
	}{
		{
			name:       "both succeed",
			indicators: func(t *testing.T) (*correlation.IndicatorSet, error) { return oneIndicator(t), nil },
			wantRead:   1, wantPorts: 1,
		},
		{
			name:       "an indicator error wins and cancels the DeviceInfo read",
			indicators: func(*testing.T) (*correlation.IndicatorSet, error) { return nil, errFeed },
			deviceFn: func(ctx context.Context, _ connectors.FacingQuery, _ func(*correlation.DeviceInfo) error) (connectors.Report, error) {
				<-ctx.Done() // returns only when cancelled
				return connectors.Report{Read: 7}, ctx.Err()
			},
			wantErr: errFeed, wantRead: 0,
		},
		{
			name:       "a DeviceInfo error after the indicators loaded",
			indicators: func(t *testing.T) (*correlation.IndicatorSet, error) { return oneIndicator(t), nil },
			deviceFn: func(context.Context, connectors.FacingQuery, func(*correlation.DeviceInfo) error) (connectors.Report, error) {
				return connectors.Report{Read: 3}, errRead
			},
			wantErr: errRead, wantRead: 3, wantStops: 1,
		},
		{
			name:       "a panic in the DeviceInfo read is an error",
			indicators: func(t *testing.T) (*correlation.IndicatorSet, error) { return oneIndicator(t), nil },
			deviceFn: func(context.Context, connectors.FacingQuery, func(*correlation.DeviceInfo) error) (connectors.Report, error) {
				panic("decoder bug")
			},
			wantPanic: "decoder bug", wantStops: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := &stepSource{started: make(chan struct{}), deviceFn: tc.deviceFn}
			be := &Backend{Source: src, Indicators: func(ctx context.Context) (*correlation.IndicatorSet, error) {
				select {
				case <-src.started:
				case <-time.After(10 * time.Second):
					t.Error("the DeviceInfo read did not start while the indicators loaded")
				}
				return tc.indicators(t)
			}}
			var logs testlog.Buffer // the panic is logged with its stack, here and not on stderr
			prev := slog.Default()
			slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
			t.Cleanup(func() { slog.SetDefault(prev) })
			s := wire.Settings{Cluster: &wire.ClusterSettings{IndicatorFeed: "ipsum"}}
			var sum wire.Summary
			obs := &serialObserver{}
			got, err := indicatorsAndFacing(context.Background(), s, be, obs, &sum)
			switch {
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			case tc.wantPanic != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantPanic) {
					t.Fatalf("err = %v, want the panic as an error", err)
				}
				if !strings.Contains(logs.String(), tc.wantPanic) || !strings.Contains(logs.String(), "goroutine") {
					t.Errorf("the panic was not logged with its stack: %q", logs.String())
				}
			case tc.wantErr == nil && err != nil:
				t.Fatalf("err = %v", err)
			}
			if err == nil {
				defer got.stopPrepare()
				if got.ind == nil || got.set == nil || got.set.Len() != tc.wantPorts {
					t.Errorf("indicators %v, facing set %v: want both, %d ports", got.ind, got.set, tc.wantPorts)
				}
				if src.prepared.Load() != 1 {
					t.Errorf("PrepareEvents called %d times, want once", src.prepared.Load())
				}
			}
			if sum.DeviceInfo.Read != tc.wantRead {
				t.Errorf("DeviceInfo.Read = %d, want %d", sum.DeviceInfo.Read, tc.wantRead)
			}
			if got := src.stopped.Load(); got != tc.wantStops {
				t.Errorf("the steps stopped the event preparation %d times, want %d", got, tc.wantStops)
			}
			if obs.overlapped.Load() {
				t.Errorf("two Progress calls overlapped (%d calls)", obs.calls.Load())
			}
		})
	}
}
