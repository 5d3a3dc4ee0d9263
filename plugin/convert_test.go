package plugin

import (
	"encoding/json"
	"testing"
	"time"

	pb "github.com/edgewatch/edgewatch/plugin/internal/proto/edgewatch/v1"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

var ts = time.Date(2026, 1, 2, 8, 0, 0, 123000000, time.UTC)

// conversion is one case of a message conversion: in converts to want.
type conversion[P, T any] struct {
	in   P
	want T
}

// checkConversions runs each case: from (named fromName) converts in to
// want, which check (when not nil) accepts and which survives a round trip
// through to and back (compared with the roundTrip options).
func checkConversions[P, T any](t *testing.T, fromName string, from func(P) T, to func(T) P,
	check func(*testing.T, T), tests map[string]conversion[P, T], roundTrip ...cmp.Option) {
	t.Helper()
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := from(tc.in)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", fromName, diff)
			}
			if check != nil {
				check(t, got)
			}
			if diff := cmp.Diff(got, from(to(got)), roundTrip...); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

// checkBatch checks that an AlertBatch is well formed.
func checkBatch(t *testing.T, b AlertBatch) {
	t.Helper()
	if err := b.check(); err != nil {
		t.Error(err)
	}
}

func TestInfoConversion(t *testing.T) {
	t.Parallel()
	checkConversions(t, "infoFromProto", infoFromProto, infoToProto, nil, map[string]conversion[*pb.DescribeResponse, Info]{
		"nil":              {in: nil, want: Info{}},
		"zero":             {in: &pb.DescribeResponse{}, want: Info{}},
		"name":             {in: &pb.DescribeResponse{Name: "edgewatch-x"}, want: Info{Name: "edgewatch-x"}},
		"version":          {in: &pb.DescribeResponse{Version: "v1.2.3"}, want: Info{Version: "v1.2.3"}},
		"protocol_version": {in: &pb.DescribeResponse{ProtocolVersion: 7}, want: Info{ProtocolVersion: 7}},
		"description":      {in: &pb.DescribeResponse{Description: "d"}, want: Info{Description: "d"}},
		"settings_schema": {in: &pb.DescribeResponse{SettingsSchema: []byte(`{"type":"object"}`)},
			want: Info{SettingsSchema: json.RawMessage(`{"type":"object"}`)}},
		"operations": {in: &pb.DescribeResponse{Operations: []string{"feed.load", "status"}},
			want: Info{Operations: []string{"feed.load", "status"}}},
	})
}

func TestConfigAndRunRequestConversion(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		settings []byte
		secrets  map[string]string
		want     Config
	}{
		"zero":     {want: Config{}},
		"settings": {settings: []byte(`{"source":"file"}`), want: Config{Settings: json.RawMessage(`{"source":"file"}`)}},
		"secrets": {secrets: map[string]string{"password": "s3cret"},
			want: Config{Secrets: map[string]string{"password": "s3cret"}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := configFromProto(&pb.ValidateRequest{SettingsJson: tc.settings, Secrets: tc.secrets})
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("configFromProto (-want +got):\n%s", diff)
			}
			for _, rows := range []bool{false, true} {
				req := RunRequest{Settings: got.Settings, Secrets: got.Secrets, AlertRows: rows}
				p := runRequestToProto(req)
				if p.GetAlertEncoding() != pb.AlertEncoding_ALERT_ENCODING_NDJSON {
					t.Errorf("the host asks for %v, want NDJSON documents", p.GetAlertEncoding())
				}
				if diff := cmp.Diff(req, runRequestFromProto(p)); diff != "" {
					t.Errorf("run request round trip (-want +got):\n%s", diff)
				}
			}
			back := configFromProto(configToProto(got))
			if diff := cmp.Diff(tc.want, back); diff != "" {
				t.Errorf("config round trip (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("nil", func(t *testing.T) {
		t.Parallel()
		if diff := cmp.Diff(Config{}, configFromProto(nil)); diff != "" {
			t.Error(diff)
		}
		if diff := cmp.Diff(RunRequest{}, runRequestFromProto(nil)); diff != "" {
			t.Error(diff)
		}
	})
}

// TestDiagnosticsConversion: nil elements are dropped, and no diagnostics
// is nil either way.
func TestDiagnosticsConversion(t *testing.T) {
	t.Parallel()
	checkConversions(t, "diagnosticsFromProto", diagnosticsFromProto, diagnosticsToProto, nil, map[string]conversion[*pb.ValidateResponse, []Diagnostic]{
		"nil":          {in: nil, want: nil},
		"zero":         {in: &pb.ValidateResponse{}, want: nil},
		"nil element":  {in: &pb.ValidateResponse{Diagnostics: []*pb.Diagnostic{nil}}, want: []Diagnostic{}},
		"zero element": {in: &pb.ValidateResponse{Diagnostics: []*pb.Diagnostic{{}}}, want: []Diagnostic{{}}},
		"severity error": {in: &pb.ValidateResponse{Diagnostics: []*pb.Diagnostic{{Severity: pb.Diagnostic_SEVERITY_ERROR}}},
			want: []Diagnostic{{Severity: SeverityError}}},
		"severity warning": {in: &pb.ValidateResponse{Diagnostics: []*pb.Diagnostic{{Severity: pb.Diagnostic_SEVERITY_WARNING}}},
			want: []Diagnostic{{Severity: SeverityWarning}}},
		"summary": {in: &pb.ValidateResponse{Diagnostics: []*pb.Diagnostic{{Summary: "s"}}}, want: []Diagnostic{{Summary: "s"}}},
		"detail":  {in: &pb.ValidateResponse{Diagnostics: []*pb.Diagnostic{{Detail: "d"}}}, want: []Diagnostic{{Detail: "d"}}},
		"field":   {in: &pb.ValidateResponse{Diagnostics: []*pb.Diagnostic{{Field: "cluster.urls"}}}, want: []Diagnostic{{Field: "cluster.urls"}}},
	}, cmpopts.EquateEmpty())
}

func TestProgressConversion(t *testing.T) {
	t.Parallel()
	checkConversions(t, "progressFromProto", progressFromProto, progressToProto, nil, map[string]conversion[*pb.Progress, Progress]{
		"nil":     {in: nil, want: Progress{}},
		"zero":    {in: &pb.Progress{}, want: Progress{}},
		"stage":   {in: &pb.Progress{Stage: "events"}, want: Progress{Stage: "events"}},
		"done":    {in: &pb.Progress{Done: 1 << 40}, want: Progress{Done: 1 << 40}},
		"total":   {in: &pb.Progress{Total: 99}, want: Progress{Total: 99}},
		"unit":    {in: &pb.Progress{Unit: "bytes"}, want: Progress{Unit: "bytes"}},
		"message": {in: &pb.Progress{Message: "reading"}, want: Progress{Message: "reading"}},
	})
}

func TestRowConversion(t *testing.T) {
	t.Parallel()
	checkConversions(t, "rowFromProto", rowFromProto, rowToProto, nil, map[string]conversion[*pb.AlertRow, Row]{
		"nil":         {in: nil, want: Row{}},
		"zero":        {in: &pb.AlertRow{}, want: Row{}},
		"timestamp":   {in: &pb.AlertRow{Timestamp: timestamppb.New(ts)}, want: Row{Timestamp: ts}},
		"device_name": {in: &pb.AlertRow{DeviceName: "web01"}, want: Row{DeviceName: "web01"}},
		"threat_intelligence_ip": {in: &pb.AlertRow{ThreatIntelligenceIp: "45.155.205.233"},
			want: Row{ThreatIntelligenceIP: "45.155.205.233"}},
		"local_port":                   {in: &pb.AlertRow{LocalPort: 443}, want: Row{LocalPort: 443}},
		"initiating_process_file_name": {in: &pb.AlertRow{InitiatingProcessFileName: "nginx"}, want: Row{InitiatingProcessFileName: "nginx"}},
		"remote_port":                  {in: &pb.AlertRow{RemotePort: 51515}, want: Row{RemotePort: 51515}},
		"ipsum_count":                  {in: &pb.AlertRow{IpsumCount: 9}, want: Row{IPsumCount: 9}},
		"severity":                     {in: &pb.AlertRow{Severity: "critical"}, want: Row{Severity: "critical"}},
		"id":                           {in: &pb.AlertRow{Id: "abc"}, want: Row{ID: "abc"}},
		"feed":                         {in: &pb.AlertRow{Feed: "corp-list"}, want: Row{Feed: "corp-list"}},
		"provider":                     {in: &pb.AlertRow{Provider: "IPsum"}, want: Row{Provider: "IPsum"}},
	})
}

// TestAlertBatchConversion: the AlertBatch message of hosts and plugins
// that predate AlertDocuments becomes the same NDJSON batch, and back.
func TestAlertBatchConversion(t *testing.T) {
	t.Parallel()
	checkConversions(t, "alertsFromProto", alertsFromProto, alertsToProto, checkBatch, map[string]conversion[*pb.AlertBatch, AlertBatch]{
		"nil":         {in: nil, want: AlertBatch{NDJSON: []byte{}, Rows: []Row{}}},
		"zero":        {in: &pb.AlertBatch{}, want: AlertBatch{NDJSON: []byte{}, Rows: []Row{}}},
		"nil element": {in: &pb.AlertBatch{Alerts: []*pb.Alert{nil, {Id: "b", DocumentJson: []byte(`{"b":1}`)}}}, want: AlertBatch{NDJSON: []byte(`{"b":1}` + "\n"), Rows: []Row{{ID: "b"}}}},
		"order kept": {in: &pb.AlertBatch{Alerts: []*pb.Alert{{Id: "a", DocumentJson: []byte(`{"a":1}`)}, {Id: "b", DocumentJson: []byte(`{"b":2}`), Row: &pb.AlertRow{LocalPort: 443}}}},
			want: AlertBatch{NDJSON: []byte(`{"a":1}` + "\n" + `{"b":2}` + "\n"), Rows: []Row{{ID: "a"}, {ID: "b", LocalPort: 443}}}},
		"a document on several lines": {in: &pb.AlertBatch{Alerts: []*pb.Alert{{DocumentJson: []byte("{\n  \"a\": 1\n}")}}},
			want: AlertBatch{NDJSON: []byte("{   \"a\": 1 }\n"), Rows: []Row{{}}}},
	})
}

// TestAlertDocumentsConversion: AlertDocuments carry the NDJSON as it is,
// and the rows only when the host asked for them.
func TestAlertDocumentsConversion(t *testing.T) {
	t.Parallel()
	b := AlertBatch{NDJSON: []byte(`{"a":1}` + "\n" + `{"b":2}` + "\n"), Rows: []Row{{ID: "a"}, {ID: "b", Timestamp: ts}}}
	if diff := cmp.Diff(b, documentsFromProto(documentsToProto(b, true))); diff != "" {
		t.Errorf("with rows (-want +got):\n%s", diff)
	}
	got := documentsFromProto(documentsToProto(b, false))
	if diff := cmp.Diff(AlertBatch{NDJSON: b.NDJSON}, got); diff != "" {
		t.Errorf("without rows (-want +got):\n%s", diff)
	}
	if &got.NDJSON[0] != &b.NDJSON[0] {
		t.Error("the NDJSON was copied on the way to the message")
	}
}

// TestStringsAreValidUTF8OnTheWire: every string the plugin sends is
// valid UTF-8 (proto3 refuses to marshal others), each bad byte replaced by
// U+FFFD as encoding/json does in the documents.
func TestStringsAreValidUTF8OnTheWire(t *testing.T) {
	t.Parallel()
	cp1252 := "SRV-M\xdcNCHEN-\x80\x81" // "SRV-MÜNCHEN-€" saved as Windows-1252, and an undefined byte
	want := "SRV-M\uFFFDNCHEN-\uFFFD\uFFFD"
	if got := validUTF8(cp1252); got != want {
		t.Errorf("validUTF8 = %q, want %q", got, want)
	}
	var viaJSON string
	if doc, _ := json.Marshal(cp1252); json.Unmarshal(doc, &viaJSON) != nil || viaJSON != want {
		t.Errorf("encoding/json writes %s; validUTF8 must agree with it", doc)
	}
	if s := "ok ü €"; validUTF8(s) != s {
		t.Error("validUTF8 changed a valid string")
	}
	msgs := map[string]proto.Message{
		"row":        rowToProto(Row{DeviceName: cp1252, InitiatingProcessFileName: cp1252, ThreatIntelligenceIP: cp1252, Severity: cp1252, ID: cp1252, Feed: cp1252, Provider: cp1252}),
		"progress":   progressToProto(Progress{Stage: cp1252, Unit: cp1252, Message: cp1252}),
		"describe":   infoToProto(Info{Name: cp1252, Version: cp1252, Description: cp1252, Operations: []string{"ok", cp1252}}),
		"diagnostic": diagnosticsToProto([]Diagnostic{{Summary: cp1252, Detail: cp1252, Field: cp1252}}),
		"old batch":  alertsToProto(NewAlertBatch([]Alert{{Document: json.RawMessage(`{}`), Row: Row{DeviceName: cp1252}}})),
		"documents":  documentsToProto(NewAlertBatch([]Alert{{Document: json.RawMessage(`{}`), Row: Row{DeviceName: cp1252}}}), true),
	}
	for name, m := range msgs {
		if _, err := proto.Marshal(m); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if got := rowFromProto(rowToProto(Row{DeviceName: cp1252})).DeviceName; got != want {
		t.Errorf("row device name %q, want %q", got, want)
	}
}

func TestRowTimestampKeepsInstant(t *testing.T) {
	t.Parallel()
	local := time.Date(2026, 1, 2, 9, 0, 0, 5, time.FixedZone("CET", 3600))
	got := rowFromProto(rowToProto(Row{Timestamp: local}))
	if !got.Timestamp.Equal(local) {
		t.Errorf("timestamp %v, want the instant %v", got.Timestamp, local)
	}
	if rowToProto(Row{}).GetTimestamp() != nil {
		t.Error("zero timestamp should be absent on the wire")
	}
}

func TestResultConversion(t *testing.T) {
	t.Parallel()
	checkConversions(t, "resultFromProto", resultFromProto, resultToProto, nil, map[string]conversion[*pb.RunResult, Result]{
		"nil":     {in: nil, want: Result{}},
		"zero":    {in: &pb.RunResult{}, want: Result{}},
		"summary": {in: &pb.RunResult{SummaryJson: []byte(`{"run_id":"r"}`)}, want: Result{Summary: json.RawMessage(`{"run_id":"r"}`)}},
	})
}
