package plugin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	pb "github.com/edgewatch/edgewatch/plugin/internal/proto/edgewatch/v1"
	"github.com/edgewatch/edgewatch/plugin/wire"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// maxMessageBytes bounds one gRPC message in either direction. Alert batches
// are split well below it (maxBatchBytes); the headroom is for a single
// alert document, which the engine keeps under wire.MaxAlertBytes.
const maxMessageBytes = 64 << 20

// maxBatchBytes bounds the documents of one streamed alert message: small
// enough to keep memory flat on both sides, large enough that per-message
// overhead is negligible. A single larger document travels alone.
const maxBatchBytes = wire.AlertBatchBytes

// A document the engine lets through, with its display columns and the
// message framing, always fits one message (the constant overflows, and the
// build fails, otherwise).
const _ = uint(maxMessageBytes - wire.MaxAlertBytes - 1<<20)

// grpcPlugin is the go-plugin glue: it registers the services on the plugin
// side and builds the client adapter on the host side.
type grpcPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	impl Detector // nil on the host side
}

var _ goplugin.GRPCPlugin = (*grpcPlugin)(nil)

// GRPCServer registers the Detector service and the opt-in Admin service. The
// Admin service answers Unimplemented when impl does not implement Admin.
func (p *grpcPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterDetectorServer(s, &detectorServer{impl: p.impl})
	pb.RegisterAdminServer(s, &adminServer{impl: p.impl})
	return nil
}

// GRPCClient returns the host-side adapter.
func (p *grpcPlugin) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, cc *grpc.ClientConn) (any, error) {
	return newGRPCClient(cc), nil
}

// detectorServer adapts a Detector to the generated DetectorServer.
type detectorServer struct {
	pb.UnimplementedDetectorServer
	impl Detector
}

func (s *detectorServer) Describe(ctx context.Context, _ *pb.DescribeRequest) (resp *pb.DescribeResponse, err error) {
	defer recoverRPC("Describe", &err)
	info, err := s.impl.Describe(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	if info.ProtocolVersion == 0 {
		info.ProtocolVersion = ProtocolVersion
	}
	return infoToProto(info), nil
}

func (s *detectorServer) Validate(ctx context.Context, req *pb.ValidateRequest) (resp *pb.ValidateResponse, err error) {
	defer recoverRPC("Validate", &err)
	diags, err := s.impl.Validate(ctx, configFromProto(req))
	if err != nil {
		return nil, toStatus(err)
	}
	return diagnosticsToProto(diags), nil
}

func (s *detectorServer) Run(req *pb.RunRequest, srv grpc.ServerStreamingServer[pb.RunEvent]) (err error) {
	defer recoverRPC("Run", &err)
	out := &sendStream{
		encoding: req.GetAlertEncoding(),
		rows:     req.GetAlertRows(),
		progress: func(p *pb.Progress) error {
			return srv.Send(&pb.RunEvent{Event: &pb.RunEvent_Progress{Progress: p}})
		},
		alerts: func(b *pb.AlertBatch) error {
			return srv.Send(&pb.RunEvent{Event: &pb.RunEvent_Alerts{Alerts: b}})
		},
		documents: func(d *pb.AlertDocuments) error {
			return srv.Send(&pb.RunEvent{Event: &pb.RunEvent_Documents{Documents: d}})
		},
		written: func(w *pb.AlertsWritten) error {
			return srv.Send(&pb.RunEvent{Event: &pb.RunEvent_Written{Written: w}})
		},
	}
	if af := req.GetAlertFile(); af != nil && out.encoding == pb.AlertEncoding_ALERT_ENCODING_NDJSON && !out.rows {
		f, err := openAlertFile(af)
		if err != nil {
			// Not fatal: the documents go over the stream instead.
			slog.Debug("alert file not taken, sending the documents", "error", err)
		} else {
			out.file = newAlertFileWriter(f)
		}
	}
	out.start(srv.Context())
	defer out.close() // after a panic too
	res, err := s.impl.Run(srv.Context(), runRequestFromProto(req), out)
	if serr := out.close(); err == nil {
		err = serr
	}
	if err != nil {
		return toStatus(err)
	}
	res.AlertFile = nil // the implementation's word does not count: the file's does
	if out.file != nil {
		res.AlertFile = &out.file.written
	}
	return srv.Send(&pb.RunEvent{Event: &pb.RunEvent_Result{Result: resultToProto(res)}})
}

// adminServer adapts the opt-in Admin interface to the generated AdminServer.
type adminServer struct {
	pb.UnimplementedAdminServer
	impl Detector
}

func (s *adminServer) Exec(req *pb.ExecRequest, srv grpc.ServerStreamingServer[pb.ExecEvent]) (err error) {
	defer recoverRPC("Exec", &err)
	admin, ok := s.impl.(Admin)
	if !ok {
		return status.Error(codes.Unimplemented, "plugin does not implement Admin")
	}
	out := &sendStream{
		encoding: req.GetAlertEncoding(),
		progress: func(p *pb.Progress) error {
			return srv.Send(&pb.ExecEvent{Event: &pb.ExecEvent_Progress{Progress: p}})
		},
		alerts: func(b *pb.AlertBatch) error {
			return srv.Send(&pb.ExecEvent{Event: &pb.ExecEvent_Alerts{Alerts: b}})
		},
		documents: func(d *pb.AlertDocuments) error {
			return srv.Send(&pb.ExecEvent{Event: &pb.ExecEvent_Documents{Documents: d}})
		},
	}
	out.start(srv.Context())
	defer out.close() // after a panic too
	res, err := admin.Exec(srv.Context(), req.GetOp(), rawJSON(req.GetArgsJson()), req.GetSecrets(), out)
	if serr := out.close(); err == nil {
		err = serr
	}
	if err != nil {
		return toStatus(err)
	}
	return srv.Send(&pb.ExecEvent{Event: &pb.ExecEvent_Result{Result: &pb.ExecResult{ResultJson: res}}})
}

// sendStream is the plugin-side Stream: each call becomes one or more
// messages on the RPC's response stream, sent in order by one goroutine
// behind a short queue. gRPC lets one message be in flight per stream (its
// 64 KiB write quota): without the queue the run waited for each batch's
// TLS writes before producing the next one. A full queue blocks the run,
// which is the back-pressure a slow host needs; a failed send fails the
// next call (and the RPC).
type sendStream struct {
	// encoding is what the host asked for: AlertDocuments, or (a host
	// that predates it) AlertBatch; rows whether AlertDocuments carry rows.
	encoding  pb.AlertEncoding
	rows      bool
	progress  func(*pb.Progress) error
	alerts    func(*pb.AlertBatch) error
	documents func(*pb.AlertDocuments) error
	written   func(*pb.AlertsWritten) error
	// file, when the host offered an alert file and it could be opened,
	// is where the documents go instead of documents (see alertfile.go).
	file *alertFileWriter
	// writtenDue paces the reports of what file holds: they feed the
	// host's progress line, and one per batch (500 alerts) cost both
	// processes a message, a wake-up and a TLS record each.
	writtenDue throttle

	ctx    context.Context
	queue  chan func() error
	done   chan struct{}
	closed sync.Once
	mu     sync.Mutex
	err    error // the first failed send
}

// sendQueue is how many messages wait behind the one gRPC is writing: with
// alert batches of up to 4 MiB, at most 8 MiB more in memory.
const sendQueue = 2

// start starts the sending goroutine; close ends it.
func (s *sendStream) start(ctx context.Context) {
	s.ctx, s.queue, s.done = ctx, make(chan func() error, sendQueue), make(chan struct{})
	go func() {
		defer close(s.done)
		for send := range s.queue {
			if err := send(); err != nil {
				s.setErr(err)
				return
			}
		}
	}()
}

// close waits for every queued message to be sent (and closes the alert
// file) and returns the first error; the implementation no longer calls
// the Stream. A second close only returns the error.
func (s *sendStream) close() error {
	s.closed.Do(func() {
		close(s.queue)
		<-s.done
		if s.file != nil {
			if err := s.file.close(); err != nil {
				s.setErr(err)
			}
		}
	})
	<-s.done
	return s.failed()
}

func (s *sendStream) setErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
}

func (s *sendStream) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// enqueue queues one send: it fails when an earlier send failed or the
// call ended, and blocks while the queue is full.
func (s *sendStream) enqueue(ctx context.Context, send func() error) error {
	if err := s.failed(); err != nil {
		return err
	}
	select {
	case s.queue <- send:
		return nil
	case <-s.done:
		return s.failed()
	case <-ctx.Done():
		return ctx.Err()
	case <-s.ctx.Done():
		return s.ctx.Err()
	}
}

func (s *sendStream) Progress(ctx context.Context, p Progress) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	msg := progressToProto(p)
	return s.enqueue(ctx, func() error { return s.progress(msg) })
}

// WantsRows: the host asked for rows, or predates the NDJSON encoding.
func (s *sendStream) WantsRows() bool {
	return s.encoding != pb.AlertEncoding_ALERT_ENCODING_NDJSON || s.rows
}

// Alerts sends batch in messages of at most maxBatchBytes of documents,
// cut at line boundaries (a single larger document goes alone), in the
// encoding the host asked for. The batch is sent after Alerts returns: the
// Stream contract lets a Stream keep it.
func (s *sendStream) Alerts(ctx context.Context, batch AlertBatch) error {
	ndjson := s.encoding == pb.AlertEncoding_ALERT_ENCODING_NDJSON
	if !s.WantsRows() {
		batch.Rows = nil // not asked for: neither counted nor sent
	}
	if err := batch.check(); err != nil {
		return fmt.Errorf("plugin: %w", err)
	}
	if s.file != nil {
		if len(batch.NDJSON) == 0 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		// Written in the sending goroutine, in order with the progress
		// messages, while the run goes on.
		return s.enqueue(ctx, func() error {
			if err := s.file.write(batch); err != nil {
				return err
			}
			if !s.writtenDue.due(time.Now()) {
				return nil // the result carries the totals
			}
			return s.written(writtenToProto(s.file.written))
		})
	}
	for part := range batch.split(maxBatchBytes) {
		if err := ctx.Err(); err != nil {
			return err
		}
		var send func() error
		if ndjson {
			msg := documentsToProto(part, s.rows)
			send = func() error { return s.documents(msg) }
		} else {
			msg := alertsToProto(part)
			send = func() error { return s.alerts(msg) }
		}
		if err := s.enqueue(ctx, send); err != nil {
			return err
		}
	}
	return nil
}

// toStatus maps an implementation error to a gRPC status whose message is the
// error text: cancellation and deadlines keep their codes, unknown operations
// become NotFound, unsupported capabilities Unimplemented, input errors
// (wire.ErrInput, and arguments that do not decode) InvalidArgument.
func toStatus(err error) error {
	var se interface{ GRPCStatus() *status.Status }
	if errors.As(err, &se) {
		return err
	}
	code := codes.Unknown
	switch {
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	case errors.Is(err, ErrUnknownOp):
		code = codes.NotFound
	case errors.Is(err, ErrUnsupported):
		code = codes.Unimplemented
	case errors.Is(err, ErrInvalidArgs), errors.Is(err, wire.ErrInput):
		code = codes.InvalidArgument
	}
	return status.Error(code, err.Error())
}

// recoverRPC turns a panic in an implementation into an Internal error so
// that one bad call does not take the plugin process (and other calls) down.
func recoverRPC(method string, errp *error) {
	if r := recover(); r != nil {
		slog.Error("plugin panic", "method", method, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		*errp = status.Errorf(codes.Internal, "plugin panic in %s: %v", method, r)
	}
}

// writtenEvery is the least time between two reports of an alert file's
// progress (the first goes at once; the run's result has the totals).
const writtenEvery = 250 * time.Millisecond

// throttle says when a paced report is due: the first time, then once
// writtenEvery has passed since the last one due.
type throttle struct{ last time.Time }

func (t *throttle) due(now time.Time) bool {
	if !t.last.IsZero() && now.Sub(t.last) < writtenEvery {
		return false
	}
	t.last = now
	return true
}
