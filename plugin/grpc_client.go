package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	pb "github.com/edgewatch/edgewatch/plugin/internal/proto/edgewatch/v1"
	"github.com/edgewatch/edgewatch/plugin/wire"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// grpcClient is the host-side adapter: it implements Detector and Admin by
// calling the plugin's gRPC services and feeding streamed events to the
// caller's Stream.
type grpcClient struct {
	detector pb.DetectorClient
	admin    pb.AdminClient
}

var (
	_ Detector = (*grpcClient)(nil)
	_ Admin    = (*grpcClient)(nil)
)

func newGRPCClient(cc grpc.ClientConnInterface) *grpcClient {
	return &grpcClient{detector: pb.NewDetectorClient(cc), admin: pb.NewAdminClient(cc)}
}

func (c *grpcClient) Describe(ctx context.Context) (Info, error) {
	resp, err := c.detector.Describe(ctx, &pb.DescribeRequest{})
	if err != nil {
		return Info{}, fromStatus(ctx, err)
	}
	return infoFromProto(resp), nil
}

func (c *grpcClient) Validate(ctx context.Context, cfg Config) ([]Diagnostic, error) {
	resp, err := c.detector.Validate(ctx, configToProto(cfg))
	if err != nil {
		return nil, fromStatus(ctx, err)
	}
	return diagnosticsFromProto(resp), nil
}

func (c *grpcClient) Run(ctx context.Context, req RunRequest, s Stream) (Result, error) {
	if s == nil {
		s = discard{}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the RPC if s fails mid-stream
	preq := runRequestToProto(req)
	var fileSize int64 // the alert file's size before the run
	if req.AlertFile != nil && !req.AlertRows {
		preq.AlertFile, fileSize, _ = offerAlertFile(req.AlertFile)
	}
	stream, err := c.detector.Run(ctx, preq)
	if err != nil {
		return Result{}, fromStatus(ctx, err)
	}
	streamed := false // documents came over the stream
	for {
		ev, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return Result{}, fmt.Errorf("%w: run stream ended without a result", ErrInvalidResponse)
		}
		if err != nil {
			return Result{}, fromStatus(ctx, err)
		}
		switch e := ev.GetEvent().(type) {
		case *pb.RunEvent_Progress:
			err = s.Progress(ctx, progressFromProto(e.Progress))
		case *pb.RunEvent_Alerts:
			streamed = true
			err = s.Alerts(ctx, alertsFromProto(e.Alerts))
		case *pb.RunEvent_Documents:
			streamed = true
			err = receiveDocuments(ctx, s, e.Documents)
		case *pb.RunEvent_Written:
			if preq.AlertFile == nil {
				err = fmt.Errorf("%w: the plugin reports writing an alert file it was not offered", ErrInvalidResponse)
			} else if ws, ok := s.(WrittenStream); ok {
				err = ws.AlertsWritten(ctx, writtenFromProto(e.Written))
			}
		case *pb.RunEvent_Result:
			res := resultFromProto(e.Result)
			if res.AlertFile != nil {
				if preq.AlertFile == nil {
					return Result{}, fmt.Errorf("%w: the plugin reports writing an alert file it was not offered", ErrInvalidResponse)
				}
				if err := checkAlertFile(req.AlertFile, fileSize, *res.AlertFile, streamed); err != nil {
					return Result{}, err
				}
			}
			return res, nil
		}
		if err != nil {
			return Result{}, err
		}
	}
}

func (c *grpcClient) Exec(ctx context.Context, op string, args json.RawMessage, secrets map[string]string, s Stream) (json.RawMessage, error) {
	if s == nil {
		s = discard{}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.admin.Exec(ctx, &pb.ExecRequest{Op: op, ArgsJson: args, Secrets: secrets,
		AlertEncoding: pb.AlertEncoding_ALERT_ENCODING_NDJSON})
	if err != nil {
		return nil, execError(ctx, op, err)
	}
	for {
		ev, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: %s stream ended without a result", ErrInvalidResponse, op)
		}
		if err != nil {
			return nil, execError(ctx, op, err)
		}
		switch e := ev.GetEvent().(type) {
		case *pb.ExecEvent_Progress:
			err = s.Progress(ctx, progressFromProto(e.Progress))
		case *pb.ExecEvent_Alerts:
			err = s.Alerts(ctx, alertsFromProto(e.Alerts))
		case *pb.ExecEvent_Documents:
			err = receiveDocuments(ctx, s, e.Documents)
		case *pb.ExecEvent_Result:
			return rawJSON(e.Result.GetResultJson()), nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// receiveDocuments hands an AlertDocuments message to s, after checking
// that it is whole lines with one row per line (when it has rows).
func receiveDocuments(ctx context.Context, s Stream, d *pb.AlertDocuments) error {
	b := documentsFromProto(d)
	if err := b.check(); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidResponse, err)
	}
	return s.Alerts(ctx, b)
}

// execError names the two "not there" cases of Exec: a plugin without the
// Admin service at all, and an Admin without that operation.
func execError(ctx context.Context, op string, err error) error {
	switch status.Code(err) {
	case codes.Unimplemented:
		return fmt.Errorf("%w admin operations (%s)", ErrUnsupported, op)
	case codes.NotFound:
		return fmt.Errorf("%w: %q", ErrUnknownOp, op)
	}
	return fromStatus(ctx, err)
}

// RemoteError is an error the plugin returned. Its text is the plugin's
// message without gRPC decoration; Code is the gRPC code. An input error
// of the plugin (InvalidArgument) matches wire.ErrInput.
type RemoteError struct {
	Code    codes.Code
	Message string
}

func (e *RemoteError) Error() string { return e.Message }

// Is matches wire.ErrInput for InvalidArgument.
func (e *RemoteError) Is(target error) bool {
	return target == wire.ErrInput && e.Code == codes.InvalidArgument
}

// GRPCStatus lets status.Code and status.FromError see the original code.
func (e *RemoteError) GRPCStatus() *status.Status { return status.New(e.Code, e.Message) }

// fromStatus turns a gRPC error into a Go error: the caller's own
// cancellation comes back as ctx.Err(), a deadline in the plugin as
// context.DeadlineExceeded, everything else as a *RemoteError.
func fromStatus(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	if st.Code() == codes.DeadlineExceeded {
		return fmt.Errorf("%w (in plugin): %s", context.DeadlineExceeded, st.Message())
	}
	return &RemoteError{Code: st.Code(), Message: st.Message()}
}
