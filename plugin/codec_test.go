package plugin

import (
	"bytes"
	"strings"
	"testing"

	pb "github.com/edgewatch/edgewatch/plugin/internal/proto/edgewatch/v1"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
)

// TestCodecWireFormat: the codec writes exactly what proto.Marshal writes
// (an older host or plugin with the stock codec reads it), reads what
// proto.Marshal writes, and hands the NDJSON on without copying it.
func TestCodecWireFormat(t *testing.T) {
	t.Parallel()
	c := newCodec()
	docs := func(nd string, rows ...*pb.AlertRow) *pb.AlertDocuments {
		return &pb.AlertDocuments{Ndjson: []byte(nd), Rows: rows}
	}
	var msgs []proto.Message
	// Lengths around the varint boundaries of both length prefixes.
	for _, n := range []int{1, 125, 126, 127, 128, 129, 16381, 16383, 16384, 70000} {
		nd := strings.Repeat("x", n-1) + "\n"
		msgs = append(msgs, &pb.RunEvent{Event: &pb.RunEvent_Documents{Documents: docs(nd)}},
			&pb.ExecEvent{Event: &pb.ExecEvent_Documents{Documents: docs(nd)}})
	}
	msgs = append(msgs,
		// Not the shortcut: rows, an empty batch, other events, other messages.
		&pb.RunEvent{Event: &pb.RunEvent_Documents{Documents: docs("{}\n", &pb.AlertRow{DeviceName: "web01"})}},
		&pb.RunEvent{Event: &pb.RunEvent_Documents{Documents: docs("")}},
		&pb.RunEvent{Event: &pb.RunEvent_Progress{Progress: &pb.Progress{Stage: "events", Done: 3}}},
		&pb.RunEvent{Event: &pb.RunEvent_Alerts{Alerts: &pb.AlertBatch{Alerts: []*pb.Alert{{Id: "a", DocumentJson: []byte("{}")}}}}},
		&pb.RunEvent{Event: &pb.RunEvent_Result{Result: &pb.RunResult{SummaryJson: []byte(`{"run_id":"r"}`)}}},
		&pb.RunEvent{},
		&pb.ExecEvent{Event: &pb.ExecEvent_Result{Result: &pb.ExecResult{ResultJson: []byte(`{}`)}}},
		&pb.RunRequest{SettingsJson: []byte(`{}`), AlertEncoding: pb.AlertEncoding_ALERT_ENCODING_NDJSON},
	)
	for i, m := range msgs {
		want, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Materialize(), want) {
			t.Errorf("message %d (%T): the codec's bytes differ from proto.Marshal's", i, m)
		}
		back := m.ProtoReflect().New().Interface()
		if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(want)}, back); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if diff := cmp.Diff(m, back, protocmp.Transform()); diff != "" {
			t.Errorf("message %d (%T) round trip (-want +got):\n%s", i, m, diff)
		}
	}

	// The plugin's side does not copy the NDJSON; the host's aliases the
	// one buffer it assembles (split over several frames here).
	nd := []byte(strings.Repeat("{\"a\":1}\n", 1000))
	out, err := c.Marshal(&pb.RunEvent{Event: &pb.RunEvent_Documents{Documents: &pb.AlertDocuments{Ndjson: nd}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || &out[1].ReadOnlyData()[0] != &nd[0] {
		t.Error("the NDJSON was copied into the marshalled message")
	}
	wire := out.Materialize()
	frames := mem.BufferSlice{mem.SliceBuffer(wire[:100]), mem.SliceBuffer(wire[100:5000]), mem.SliceBuffer(wire[5000:])}
	var ev pb.RunEvent
	if err := c.Unmarshal(frames, &ev); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ev.GetDocuments().GetNdjson(), nd) {
		t.Error("the NDJSON read back differs")
	}
}

// TestCodecRefusesTruncated: a message cut short is an error, never a
// shorter batch.
func TestCodecRefusesTruncated(t *testing.T) {
	t.Parallel()
	want, _ := proto.Marshal(&pb.RunEvent{Event: &pb.RunEvent_Documents{Documents: &pb.AlertDocuments{Ndjson: []byte("{}\n{}\n")}}})
	for n := 1; n < len(want); n++ {
		var ev pb.RunEvent
		err := newCodec().Unmarshal(mem.BufferSlice{mem.SliceBuffer(want[:n])}, &ev)
		if err == nil && len(ev.GetDocuments().GetNdjson()) > 0 {
			t.Errorf("%d of %d bytes read as %q", n, len(want), ev.GetDocuments().GetNdjson())
		}
	}
}
