package plugin

import (
	"encoding/json"
	"testing"
	"time"

	pb "github.com/edgewatch/edgewatch/plugin/internal/proto/edgewatch/v1"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"
)

var ts = time.Date(2026, 1, 2, 8, 0, 0, 123000000, time.UTC)

func TestInfoConversion(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		in   *pb.DescribeResponse
		want Info
	}{
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
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := infoFromProto(tc.in)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("infoFromProto (-want +got):\n%s", diff)
			}
			if tc.in == nil {
				return
			}
			if diff := cmp.Diff(tc.in, infoToProto(got), protocmp.Transform()); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
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
			rr := runRequestFromProto(runRequestToProto(RunRequest(got)))
			if diff := cmp.Diff(RunRequest(tc.want), rr); diff != "" {
				t.Errorf("run request round trip (-want +got):\n%s", diff)
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

func TestDiagnosticsConversion(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		in   *pb.ValidateResponse
		want []Diagnostic
	}{
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
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := diagnosticsFromProto(tc.in)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("diagnosticsFromProto (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(got, diagnosticsFromProto(diagnosticsToProto(got))); len(got) > 0 && diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestProgressConversion(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		in   *pb.Progress
		want Progress
	}{
		"nil":     {in: nil, want: Progress{}},
		"zero":    {in: &pb.Progress{}, want: Progress{}},
		"stage":   {in: &pb.Progress{Stage: "events"}, want: Progress{Stage: "events"}},
		"done":    {in: &pb.Progress{Done: 1 << 40}, want: Progress{Done: 1 << 40}},
		"total":   {in: &pb.Progress{Total: 99}, want: Progress{Total: 99}},
		"unit":    {in: &pb.Progress{Unit: "bytes"}, want: Progress{Unit: "bytes"}},
		"message": {in: &pb.Progress{Message: "reading"}, want: Progress{Message: "reading"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := progressFromProto(tc.in)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("progressFromProto (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(got, progressFromProto(progressToProto(got))); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAlertConversion(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		in   *pb.Alert
		want Alert
	}{
		"nil":      {in: nil, want: Alert{}},
		"zero":     {in: &pb.Alert{}, want: Alert{}},
		"nil row":  {in: &pb.Alert{Id: "x"}, want: Alert{ID: "x"}},
		"zero row": {in: &pb.Alert{Row: &pb.AlertRow{}}, want: Alert{}},
		"id":       {in: &pb.Alert{Id: "abc"}, want: Alert{ID: "abc"}},
		"document": {in: &pb.Alert{DocumentJson: []byte(`{"a":1}`)}, want: Alert{Document: json.RawMessage(`{"a":1}`)}},
		"timestamp": {in: &pb.Alert{Row: &pb.AlertRow{Timestamp: timestamppb.New(ts)}},
			want: Alert{Row: Row{Timestamp: ts}}},
		"device_name": {in: &pb.Alert{Row: &pb.AlertRow{DeviceName: "web01"}}, want: Alert{Row: Row{DeviceName: "web01"}}},
		"threat_intelligence_ip": {in: &pb.Alert{Row: &pb.AlertRow{ThreatIntelligenceIp: "45.155.205.233"}},
			want: Alert{Row: Row{ThreatIntelligenceIP: "45.155.205.233"}}},
		"local_port": {in: &pb.Alert{Row: &pb.AlertRow{LocalPort: 443}}, want: Alert{Row: Row{LocalPort: 443}}},
		"initiating_process_file_name": {in: &pb.Alert{Row: &pb.AlertRow{InitiatingProcessFileName: "nginx"}},
			want: Alert{Row: Row{InitiatingProcessFileName: "nginx"}}},
		"remote_port": {in: &pb.Alert{Row: &pb.AlertRow{RemotePort: 51515}}, want: Alert{Row: Row{RemotePort: 51515}}},
		"ipsum_count": {in: &pb.Alert{Row: &pb.AlertRow{IpsumCount: 9}}, want: Alert{Row: Row{IPsumCount: 9}}},
		"severity":    {in: &pb.Alert{Row: &pb.AlertRow{Severity: "critical"}}, want: Alert{Row: Row{Severity: "critical"}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := alertFromProto(tc.in)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("alertFromProto (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(got, alertFromProto(alertToProto(got))); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAlertBatchConversion(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		in   *pb.AlertBatch
		want []Alert
	}{
		"nil":         {in: nil, want: nil},
		"zero":        {in: &pb.AlertBatch{}, want: nil},
		"nil element": {in: &pb.AlertBatch{Alerts: []*pb.Alert{nil, {Id: "b"}}}, want: []Alert{{ID: "b"}}},
		"order kept":  {in: &pb.AlertBatch{Alerts: []*pb.Alert{{Id: "a"}, {Id: "b"}}}, want: []Alert{{ID: "a"}, {ID: "b"}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, alertsFromProto(tc.in)); diff != "" {
				t.Errorf("alertsFromProto (-want +got):\n%s", diff)
			}
		})
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
	tests := map[string]struct {
		in   *pb.RunResult
		want Result
	}{
		"nil":     {in: nil, want: Result{}},
		"zero":    {in: &pb.RunResult{}, want: Result{}},
		"summary": {in: &pb.RunResult{SummaryJson: []byte(`{"run_id":"r"}`)}, want: Result{Summary: json.RawMessage(`{"run_id":"r"}`)}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := resultFromProto(tc.in)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("resultFromProto (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(got, resultFromProto(resultToProto(got))); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}
