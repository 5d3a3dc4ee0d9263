package plugin

import (
	"encoding/binary"

	pb "github.com/edgewatch/edgewatch/plugin/internal/proto/edgewatch/v1"
	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
)

// codec is the gRPC codec of both ends of the plugin connection: plain
// protobuf, with one shortcut for the bulk of a run's bytes, a RunEvent or
// ExecEvent that carries AlertDocuments without rows. The plugin frames
// such a message around its NDJSON instead of copying the NDJSON into a
// marshal buffer (the engine never reuses a batch, so gRPC may send it
// later); the host reads it with the NDJSON aliasing the one buffer the
// message is assembled into, instead of proto.Unmarshal copying it again.
// The bytes on the wire are exactly proto.Marshal's (TestCodecWireFormat),
// so either end may be an older release with the stock codec.
type codec struct{ std encoding.CodecV2 }

func newCodec() codec { return codec{std: encoding.GetCodecV2(grpcproto.Name)} }

// Name is the stock codec's, so that the content-subtype is unchanged.
func (codec) Name() string { return grpcproto.Name }

// The wire tags of the shortcut: field 4 (documents) of RunEvent and
// ExecEvent, and field 1 (ndjson) of AlertDocuments, both length-delimited.
const (
	tagDocuments = 4<<3 | 2
	tagNDJSON    = 1<<3 | 2
)

func (c codec) Marshal(v any) (mem.BufferSlice, error) {
	if nd, ok := bareDocuments(v); ok {
		inner := 1 + varintLen(len(nd)) + len(nd)
		head := make([]byte, 0, 2+2*binary.MaxVarintLen64)
		head = append(head, tagDocuments)
		head = binary.AppendUvarint(head, uint64(inner))
		head = append(head, tagNDJSON)
		head = binary.AppendUvarint(head, uint64(len(nd)))
		return mem.BufferSlice{mem.SliceBuffer(head), mem.SliceBuffer(nd)}, nil
	}
	return c.std.Marshal(v)
}

// bareDocuments returns the NDJSON of an event that is AlertDocuments with
// NDJSON and nothing else (no rows, no unknown fields).
func bareDocuments(v any) ([]byte, bool) {
	var d *pb.AlertDocuments
	switch ev := v.(type) {
	case *pb.RunEvent:
		if len(ev.ProtoReflect().GetUnknown()) == 0 {
			d = ev.GetDocuments()
		}
	case *pb.ExecEvent:
		if len(ev.ProtoReflect().GetUnknown()) == 0 {
			d = ev.GetDocuments()
		}
	}
	if d == nil || len(d.GetNdjson()) == 0 || len(d.GetRows()) > 0 || len(d.ProtoReflect().GetUnknown()) > 0 {
		return nil, false
	}
	return d.GetNdjson(), true
}

func (c codec) Unmarshal(data mem.BufferSlice, v any) error {
	switch v.(type) {
	case *pb.RunEvent, *pb.ExecEvent:
	default:
		return c.std.Unmarshal(data, v)
	}
	buf := data.Materialize() // ours: the NDJSON may alias it
	if nd, ok := parseBareDocuments(buf); ok {
		d := &pb.AlertDocuments{Ndjson: nd}
		switch ev := v.(type) {
		case *pb.RunEvent:
			ev.Reset()
			ev.Event = &pb.RunEvent_Documents{Documents: d}
		case *pb.ExecEvent:
			ev.Reset()
			ev.Event = &pb.ExecEvent_Documents{Documents: d}
		}
		return nil
	}
	return proto.Unmarshal(buf, v.(proto.Message))
}

// parseBareDocuments reads a message that is exactly field 4 holding an
// AlertDocuments that is exactly field 1 (what Marshal's shortcut and
// proto.Marshal write for such an event); anything else is not ok.
func parseBareDocuments(b []byte) ([]byte, bool) {
	if len(b) < 2 || b[0] != tagDocuments {
		return nil, false
	}
	n, k := binary.Uvarint(b[1:])
	if k <= 0 || n != uint64(len(b)-1-k) {
		return nil, false
	}
	inner := b[1+k:]
	if len(inner) < 2 || inner[0] != tagNDJSON {
		return nil, false
	}
	m, j := binary.Uvarint(inner[1:])
	if j <= 0 || m == 0 || m != uint64(len(inner)-1-j) {
		return nil, false
	}
	return inner[1+j:], true
}

func varintLen(n int) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], uint64(n))
}
