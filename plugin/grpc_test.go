package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/edgewatch/edgewatch/plugin/internal/proto/edgewatch/v1"
)

// connect serves impl in-process over real gRPC and returns the host-side
// adapter.
func connect(t *testing.T, impl Detector) *grpcClient {
	t.Helper()
	return connectPlugin(t, &grpcPlugin{impl: impl})
}

// recorder is a host-side Stream that keeps what it receives.
type recorder struct {
	mu       sync.Mutex
	progress []Progress
	alerts   []Alert
	batches  int
	largest  int // bytes of the largest batch
	failOn   int // fail the n-th Alerts call (1-based); 0 never
}

func (r *recorder) Progress(_ context.Context, p Progress) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.progress = append(r.progress, p)
	return nil
}

func (r *recorder) Alerts(_ context.Context, b AlertBatch) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batches++
	if r.failOn > 0 && r.batches == r.failOn {
		return errFake
	}
	if err := b.check(); err != nil {
		return err
	}
	r.largest = max(r.largest, len(b.NDJSON))
	r.alerts = append(r.alerts, b.Alerts()...)
	return nil
}

func TestGRPCDescribe(t *testing.T) {
	t.Parallel()
	want := Info{Name: "edgewatch-x", Version: "v1", ProtocolVersion: ProtocolVersion, Description: "d",
		SettingsSchema: json.RawMessage(`{"type":"object"}`), Operations: []string{"status"}}
	c := connect(t, &fakeDetector{info: want})
	got, err := c.Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Describe (-want +got):\n%s", diff)
	}
}

func TestGRPCDescribeFillsProtocolVersion(t *testing.T) {
	t.Parallel()
	c := connect(t, &fakeDetector{info: Info{Name: "x"}})
	got, err := c.Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got.ProtocolVersion != ProtocolVersion {
		t.Errorf("protocol version %d, want %d", got.ProtocolVersion, ProtocolVersion)
	}
}

func TestGRPCValidate(t *testing.T) {
	t.Parallel()
	want := []Diagnostic{
		{Severity: SeverityError, Summary: "no cluster URL", Detail: "source opensearch needs --url", Field: "cluster.urls"},
		{Severity: SeverityWarning, Summary: "w"},
	}
	c := connect(t, &fakeDetector{diags: want})
	got, err := c.Validate(context.Background(), Config{Settings: json.RawMessage(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Validate (-want +got):\n%s", diff)
	}
}

func TestGRPCRunStreamsInOrder(t *testing.T) {
	t.Parallel()
	f := &fakeDetector{
		progress: []Progress{{Stage: "indicators"}, {Stage: "events", Done: 10, Total: 20, Unit: "rows"}},
		batches:  [][]Alert{alerts(2, "a"), alerts(3, "b")},
		summary:  json.RawMessage(`{"run_id":"r1"}`),
	}
	c := connect(t, f)
	rec := &recorder{}
	req := RunRequest{Settings: json.RawMessage(`{"source":"file"}`), Secrets: map[string]string{"password": "pw"}, AlertRows: true}
	res, err := c.Run(context.Background(), req, rec)
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Summary) != `{"run_id":"r1"}` {
		t.Errorf("summary %s", res.Summary)
	}
	if diff := cmp.Diff(f.progress, rec.progress); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
	want := append(alerts(2, "a"), alerts(3, "b")...)
	if diff := cmp.Diff(want, rec.alerts); diff != "" {
		t.Errorf("alerts (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(req, f.gotRun); diff != "" {
		t.Errorf("request seen by the plugin (-want +got):\n%s", diff)
	}
}

func TestGRPCRunSplitsLargeBatches(t *testing.T) {
	t.Parallel()
	big := alerts(60, "big")
	pad := strings.Repeat("x", 200<<10) // 60 × 200 KiB = 12 MiB, three messages' budget
	for i := range big {
		big[i].Document = json.RawMessage(fmt.Sprintf(`{"event":{"id":%q},"pad":%q}`, big[i].Row.ID, pad))
	}
	// One document larger than a message's budget travels alone.
	huge := alerts(1, "huge")
	huge[0].Document = json.RawMessage(`{"pad":"` + strings.Repeat("y", maxBatchBytes+1) + `"}`)
	c := connect(t, &fakeDetector{batches: [][]Alert{big, huge, alerts(2, "after")}})
	for _, rows := range []bool{false, true} {
		rec := &recorder{}
		if _, err := c.Run(context.Background(), RunRequest{AlertRows: rows}, rec); err != nil {
			t.Fatal(err)
		}
		want := append(append(big, huge...), alerts(2, "after")...)
		if len(rec.alerts) != len(want) {
			t.Fatalf("rows %v: got %d alerts, want %d", rows, len(rec.alerts), len(want))
		}
		if rec.batches < 5 || rec.largest > len(huge[0].Document)+1 {
			t.Errorf("rows %v: 12 MiB arrived in %d messages, the largest %d bytes; want it split under %d bytes each", rows, rec.batches, rec.largest, maxBatchBytes)
		}
		for i := range want {
			if string(rec.alerts[i].Document) != string(want[i].Document) {
				t.Fatalf("rows %v: alert %d is %.40s, want %.40s (order)", rows, i, rec.alerts[i].Document, want[i].Document)
			}
			if wantRow := want[i].Row; rows && !cmp.Equal(rec.alerts[i].Row, wantRow) {
				t.Fatalf("alert %d row %+v, want %+v", i, rec.alerts[i].Row, wantRow)
			} else if !rows && rec.alerts[i].Row != (Row{}) {
				t.Fatalf("alert %d has a row the host did not ask for: %+v", i, rec.alerts[i].Row)
			}
		}
	}
}

func TestGRPCRunErrors(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		impl     *fakeDetector
		failOn   int
		wantIs   error
		wantCode codes.Code
		wantText string
	}{
		"plugin error": {impl: &fakeDetector{err: errFake}, wantCode: codes.Unknown, wantText: "fake failure"},
		"plugin panic": {impl: &fakeDetector{panicIn: "Run"}, wantCode: codes.Internal, wantText: "plugin panic in Run: run exploded"},
		"host stream fails": {impl: &fakeDetector{batches: [][]Alert{alerts(1, "a"), alerts(1, "b")}}, failOn: 1,
			wantIs: errFake},
		"no result": {impl: nil, wantIs: ErrInvalidResponse},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var c *grpcClient
			if tc.impl == nil {
				c = connectRaw(t, &noResultServer{})
			} else {
				c = connect(t, tc.impl)
			}
			_, err := c.Run(context.Background(), RunRequest{}, &recorder{failOn: tc.failOn})
			if err == nil {
				t.Fatal("Run succeeded, want an error")
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("error %v, want errors.Is %v", err, tc.wantIs)
			}
			if tc.wantText != "" {
				if got := status.Code(err); got != tc.wantCode {
					t.Errorf("code %v, want %v", got, tc.wantCode)
				}
				if err.Error() != tc.wantText {
					t.Errorf("error text %q, want %q (no gRPC decoration)", err.Error(), tc.wantText)
				}
			}
		})
	}
}

func TestGRPCDescribePanicIsContained(t *testing.T) {
	t.Parallel()
	c := connect(t, &fakeDetector{panicIn: "Describe"})
	_, err := c.Describe(context.Background())
	if status.Code(err) != codes.Internal {
		t.Fatalf("error %v, want Internal", err)
	}
	// The server survived: a second call still answers.
	if _, err := c.Validate(context.Background(), Config{}); err != nil {
		t.Errorf("server dead after a panic: %v", err)
	}
}

func TestGRPCRunCancelReachesPlugin(t *testing.T) {
	t.Parallel()
	marker := filepath.Join(t.TempDir(), "cancelled")
	f := &fakeDetector{block: true, marker: marker, batches: [][]Alert{alerts(1, "a")}}
	c := connect(t, f)
	ctx, cancel := context.WithCancel(context.Background())
	rec := &cancelOnFirst{cancel: cancel}
	_, err := c.Run(ctx, RunRequest{}, rec)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if !waitFor(func() bool { _, err := os.Stat(marker); return err == nil }) {
		t.Error("the plugin's Run never saw the cancellation")
	}
}

// waitFor polls cond for up to 10 s (a watchdog against hangs, not a timing
// assertion).
func waitFor(cond func() bool) bool {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return cond()
}

type cancelOnFirst struct{ cancel context.CancelFunc }

func (c *cancelOnFirst) Progress(context.Context, Progress) error { return nil }
func (c *cancelOnFirst) Alerts(context.Context, AlertBatch) error {
	c.cancel()
	return nil
}

func TestGRPCExec(t *testing.T) {
	t.Parallel()
	impl := &fakeAdmin{fakeDetector: &fakeDetector{}, ops: map[string]func(json.RawMessage, map[string]string) (json.RawMessage, error){
		"feed.status": func(args json.RawMessage, secrets map[string]string) (json.RawMessage, error) {
			return json.Marshal(map[string]any{"args": args, "password": secrets["password"]})
		},
		"fails": func(json.RawMessage, map[string]string) (json.RawMessage, error) { return nil, errFake },
	}}
	c := connect(t, impl)
	ctx := context.Background()

	rec := &recorder{}
	got, err := c.Exec(ctx, "feed.status", json.RawMessage(`{"name":"ipsum"}`), map[string]string{"password": "pw"}, rec)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != `{"args":{"name":"ipsum"},"password":"pw"}` {
		t.Errorf("result %s", got)
	}
	if len(rec.progress) != 1 || rec.progress[0].Stage != "feed.status" {
		t.Errorf("progress %+v", rec.progress)
	}

	_, err = c.Exec(ctx, "nope", nil, nil, &recorder{})
	if !errors.Is(err, ErrUnknownOp) || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown op: %v, want ErrUnknownOp naming it", err)
	}
	_, err = c.Exec(ctx, "fails", nil, nil, &recorder{})
	if err == nil || err.Error() != "fake failure" {
		t.Errorf("failing op: %v", err)
	}
}

// TestGRPCAdminUnsupported: a plugin that does not implement Admin (and an
// older plugin that does not even register the service) both answer
// Unimplemented, which the host reports as ErrUnsupported.
func TestGRPCAdminUnsupported(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]*grpcClient{
		"Admin not implemented":  connect(t, &fakeDetector{}),
		"service not registered": connectPlugin(t, &detectorOnlyPlugin{impl: &fakeDetector{}}),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := c.Exec(context.Background(), "feed.load", nil, nil, &recorder{})
			if !errors.Is(err, ErrUnsupported) {
				t.Fatalf("error %v, want ErrUnsupported", err)
			}
			if want := "plugin does not support admin operations (feed.load)"; err.Error() != want {
				t.Errorf("error %q, want %q", err, want)
			}
		})
	}
}

// detectorOnlyPlugin serves only the Detector service, as a plugin built
// before Admin existed would.
type detectorOnlyPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	impl Detector
}

func (p *detectorOnlyPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterDetectorServer(s, &detectorServer{impl: p.impl})
	return nil
}

func (p *detectorOnlyPlugin) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, cc *grpc.ClientConn) (any, error) {
	return newGRPCClient(cc), nil
}

// connectPlugin serves p in-process over real gRPC and returns the
// host-side adapter.
func connectPlugin(t *testing.T, p goplugin.Plugin) *grpcClient {
	t.Helper()
	client, _ := goplugin.TestPluginGRPCConn(t, false, map[string]goplugin.Plugin{detectorPluginName: p})
	// Close asks the server to stop (go-plugin's controller Shutdown);
	// stopping it here as well would race with that.
	t.Cleanup(func() { client.Close() })
	raw, err := client.Dispense(detectorPluginName)
	if err != nil {
		t.Fatal(err)
	}
	return raw.(*grpcClient)
}

// noResultServer breaks the protocol: its run stream ends without a result.
type noResultServer struct {
	pb.UnimplementedDetectorServer
}

func (noResultServer) Run(*pb.RunRequest, grpc.ServerStreamingServer[pb.RunEvent]) error { return nil }

type rawPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	srv pb.DetectorServer
}

func (p *rawPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterDetectorServer(s, p.srv)
	return nil
}

func (p *rawPlugin) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, cc *grpc.ClientConn) (any, error) {
	return newGRPCClient(cc), nil
}

func connectRaw(t *testing.T, srv pb.DetectorServer) *grpcClient {
	return connectPlugin(t, &rawPlugin{srv: srv})
}
