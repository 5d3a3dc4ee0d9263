package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"testing"

	pb "github.com/edgewatch/edgewatch/plugin/internal/proto/edgewatch/v1"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"
)

// The plugin protocol is frozen: a host and a plugin of different releases
// must still work together. These tests play the release before
// AlertDocuments on one side and this code on the other.

// TestOldHostGetsAlertBatch: a host that predates AlertDocuments sends a
// RunRequest without alert_encoding and reads AlertBatch messages; this
// plugin answers it that way, each alert with its id and display columns,
// whatever the batch size.
func TestOldHostGetsAlertBatch(t *testing.T) {
	t.Parallel()
	batch := alerts(3, "a")
	batch[1].Row.DeviceName = "SRV-M\xdcNCHEN" // Windows-1252 bytes: sanitised on the wire
	c := connect(t, &fakeDetector{batches: [][]Alert{batch}, summary: json.RawMessage(`{"run_id":"r"}`)})
	stream, err := c.detector.Run(context.Background(), &pb.RunRequest{SettingsJson: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	var got []*pb.Alert
	var result bool
	for {
		ev, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch e := ev.GetEvent().(type) {
		case *pb.RunEvent_Alerts:
			got = append(got, e.Alerts.GetAlerts()...)
		case *pb.RunEvent_Result:
			result = true
		default:
			t.Fatalf("an old host got %T, which it does not know", e)
		}
	}
	if !result || len(got) != len(batch) {
		t.Fatalf("result %v, %d alerts, want %d", result, len(got), len(batch))
	}
	for i, a := range got {
		if a.GetId() != batch[i].Row.ID || string(a.GetDocumentJson()) != string(batch[i].Document) ||
			a.GetRow().GetLocalPort() != 443 || a.GetRow().GetTimestamp().AsTime() != batch[i].Row.Timestamp {
			t.Errorf("alert %d: %v, want id %s, document %s and its row", i, a, batch[i].Row.ID, batch[i].Document)
		}
	}
	if got := got[1].GetRow().GetDeviceName(); got != "SRV-M\uFFFDNCHEN" {
		t.Errorf("device name %q, want the bad byte as U+FFFD", got)
	}
}

// oldPlugin is a plugin of the release before AlertDocuments: it ignores
// alert_encoding (an unknown field to it) and sends AlertBatch.
type oldPlugin struct{ pb.UnimplementedDetectorServer }

func (oldPlugin) Run(_ *pb.RunRequest, srv grpc.ServerStreamingServer[pb.RunEvent]) error {
	batch := &pb.AlertBatch{Alerts: []*pb.Alert{
		{Id: "a", DocumentJson: []byte(`{"event":{"id":"a"}}`), Row: &pb.AlertRow{DeviceName: "web01", LocalPort: 443}},
		{Id: "b", DocumentJson: []byte(`{"event":{"id":"b"}}`), Row: &pb.AlertRow{DeviceName: "web02", LocalPort: 3389}},
	}}
	if err := srv.Send(&pb.RunEvent{Event: &pb.RunEvent_Alerts{Alerts: batch}}); err != nil {
		return err
	}
	return srv.Send(&pb.RunEvent{Event: &pb.RunEvent_Result{Result: &pb.RunResult{SummaryJson: []byte(`{}`)}}})
}

// TestNewHostReadsOldPlugin: this host asks for AlertDocuments; a plugin
// that predates them sends AlertBatch, which reaches the host's Stream as
// the same NDJSON batch with rows.
func TestNewHostReadsOldPlugin(t *testing.T) {
	t.Parallel()
	c := connectRaw(t, oldPlugin{})
	rec := &recorder{}
	if _, err := c.Run(context.Background(), RunRequest{}, rec); err != nil {
		t.Fatal(err)
	}
	want := []Alert{
		{Document: json.RawMessage(`{"event":{"id":"a"}}`), Row: Row{ID: "a", DeviceName: "web01", LocalPort: 443}},
		{Document: json.RawMessage(`{"event":{"id":"b"}}`), Row: Row{ID: "b", DeviceName: "web02", LocalPort: 3389}},
	}
	if diff := cmp.Diff(want, rec.alerts); diff != "" {
		t.Errorf("alerts (-want +got):\n%s", diff)
	}
}

// badDocuments breaks AlertDocuments' framing: rows that do not match the
// lines, or a last line without its newline.
type badDocuments struct {
	pb.UnimplementedDetectorServer
	docs *pb.AlertDocuments
}

func (b badDocuments) Run(_ *pb.RunRequest, srv grpc.ServerStreamingServer[pb.RunEvent]) error {
	return srv.Send(&pb.RunEvent{Event: &pb.RunEvent_Documents{Documents: b.docs}})
}

func TestHostRefusesBrokenDocuments(t *testing.T) {
	t.Parallel()
	for name, docs := range map[string]*pb.AlertDocuments{
		"no final newline": {Ndjson: []byte("{}\n{}")},
		"rows mismatch":    {Ndjson: []byte("{}\n{}\n"), Rows: []*pb.AlertRow{{}}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := connectRaw(t, badDocuments{docs: docs}).Run(context.Background(), RunRequest{}, &recorder{})
			if !errors.Is(err, ErrInvalidResponse) {
				t.Errorf("error %v, want ErrInvalidResponse", err)
			}
		})
	}
}

// TestProtoKeepsTheReleasedProtocol holds the proto to its FROZEN rules:
// every message, field (name, number, type, label, oneof), enum value,
// service and method of the released protocol 1
// (testdata/proto/detector-v1.released.json, the descriptor of the first
// release's detector.proto) is still there, unchanged. Additions pass.
func TestProtoKeepsTheReleasedProtocol(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("testdata/proto/detector-v1.released.json")
	if err != nil {
		t.Fatal(err)
	}
	var released descriptorpb.FileDescriptorProto
	if err := protojson.Unmarshal(raw, &released); err != nil {
		t.Fatal(err)
	}
	current := protodesc.ToFileDescriptorProto(pb.File_edgewatch_v1_detector_proto)
	if released.GetPackage() != current.GetPackage() {
		t.Fatalf("package %s, released %s", current.GetPackage(), released.GetPackage())
	}

	messages := map[string]*descriptorpb.DescriptorProto{}
	var index func(prefix string, ms []*descriptorpb.DescriptorProto)
	index = func(prefix string, ms []*descriptorpb.DescriptorProto) {
		for _, m := range ms {
			messages[prefix+m.GetName()] = m
			index(prefix+m.GetName()+".", m.GetNestedType())
		}
	}
	index("", current.GetMessageType())
	var check func(prefix string, ms []*descriptorpb.DescriptorProto)
	check = func(prefix string, ms []*descriptorpb.DescriptorProto) {
		for _, old := range ms {
			name := prefix + old.GetName()
			cur, ok := messages[name]
			if !ok {
				t.Errorf("message %s was removed or renamed", name)
				continue
			}
			fields := byKey(cur.GetField(), (*descriptorpb.FieldDescriptorProto).GetNumber)
			for _, f := range old.GetField() {
				c, ok := fields[f.GetNumber()]
				switch {
				case !ok:
					t.Errorf("%s: field %d (%s) was removed", name, f.GetNumber(), f.GetName())
				case c.GetName() != f.GetName() || c.GetType() != f.GetType() || c.GetTypeName() != f.GetTypeName() ||
					c.GetLabel() != f.GetLabel() || (c.OneofIndex == nil) != (f.OneofIndex == nil):
					t.Errorf("%s: field %d changed: %v, released %v", name, f.GetNumber(), c, f)
				case f.OneofIndex != nil && cur.GetOneofDecl()[c.GetOneofIndex()].GetName() != old.GetOneofDecl()[f.GetOneofIndex()].GetName():
					t.Errorf("%s: field %d moved to another oneof", name, f.GetNumber())
				}
			}
			checkEnums(t, name+".", old.GetEnumType(), cur.GetEnumType())
			check(name+".", old.GetNestedType())
		}
	}
	check("", released.GetMessageType())
	checkEnums(t, "", released.GetEnumType(), current.GetEnumType())

	services := byKey(current.GetService(), (*descriptorpb.ServiceDescriptorProto).GetName)
	for _, old := range released.GetService() {
		cur, ok := services[old.GetName()]
		if !ok {
			t.Errorf("service %s was removed", old.GetName())
			continue
		}
		methods := byKey(cur.GetMethod(), (*descriptorpb.MethodDescriptorProto).GetName)
		for _, m := range old.GetMethod() {
			c, ok := methods[m.GetName()]
			if !ok || c.GetInputType() != m.GetInputType() || c.GetOutputType() != m.GetOutputType() ||
				c.GetClientStreaming() != m.GetClientStreaming() || c.GetServerStreaming() != m.GetServerStreaming() {
				t.Errorf("%s.%s was removed or changed: %v, released %v", old.GetName(), m.GetName(), c, m)
			}
		}
	}
	// The check has teeth: the released descriptor is not empty.
	if len(released.GetMessageType()) < 10 || len(released.GetService()) != 2 {
		t.Fatalf("released descriptor holds %d messages, %d services: not the protocol", len(released.GetMessageType()), len(released.GetService()))
	}
}

// byKey indexes vs by key.
func byKey[K comparable, V any](vs []V, key func(V) K) map[K]V {
	m := make(map[K]V, len(vs))
	for _, v := range vs {
		m[key(v)] = v
	}
	return m
}

func checkEnums(t *testing.T, prefix string, released, current []*descriptorpb.EnumDescriptorProto) {
	t.Helper()
	cur := map[string]map[int32]string{}
	for _, e := range current {
		cur[e.GetName()] = map[int32]string{}
		for _, v := range e.GetValue() {
			cur[e.GetName()][v.GetNumber()] = v.GetName()
		}
	}
	for _, e := range released {
		values, ok := cur[e.GetName()]
		if !ok {
			t.Errorf("enum %s%s was removed", prefix, e.GetName())
			continue
		}
		for _, v := range e.GetValue() {
			if values[v.GetNumber()] != v.GetName() {
				t.Errorf("enum %s%s value %d is %q, released %q", prefix, e.GetName(), v.GetNumber(), values[v.GetNumber()], v.GetName())
			}
		}
	}
}
