package plugin

import (
	"encoding/json"

	pb "github.com/edgewatch/edgewatch/plugin/internal/proto/edgewatch/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Converters between the public Go types and the generated protobuf types.
// They are pure functions: nil in gives the zero value out, and every field
// has a table case in convert_test.go.

func infoToProto(in Info) *pb.DescribeResponse {
	return &pb.DescribeResponse{
		Name:            in.Name,
		Version:         in.Version,
		ProtocolVersion: int32(in.ProtocolVersion),
		Description:     in.Description,
		SettingsSchema:  in.SettingsSchema,
		Operations:      in.Operations,
	}
}

func infoFromProto(in *pb.DescribeResponse) Info {
	if in == nil {
		return Info{}
	}
	return Info{
		Name:            in.GetName(),
		Version:         in.GetVersion(),
		ProtocolVersion: int(in.GetProtocolVersion()),
		Description:     in.GetDescription(),
		SettingsSchema:  rawJSON(in.GetSettingsSchema()),
		Operations:      in.GetOperations(),
	}
}

func configToProto(in Config) *pb.ValidateRequest {
	return &pb.ValidateRequest{SettingsJson: in.Settings, Secrets: in.Secrets}
}

func configFromProto(in *pb.ValidateRequest) Config {
	if in == nil {
		return Config{}
	}
	return Config{Settings: rawJSON(in.GetSettingsJson()), Secrets: in.GetSecrets()}
}

func diagnosticsToProto(in []Diagnostic) *pb.ValidateResponse {
	out := &pb.ValidateResponse{}
	if len(in) == 0 {
		return out
	}
	out.Diagnostics = make([]*pb.Diagnostic, len(in))
	for i, d := range in {
		out.Diagnostics[i] = &pb.Diagnostic{
			Severity: pb.Diagnostic_Severity(d.Severity),
			Summary:  d.Summary,
			Detail:   d.Detail,
			Field:    d.Field,
		}
	}
	return out
}

func diagnosticsFromProto(in *pb.ValidateResponse) []Diagnostic {
	if len(in.GetDiagnostics()) == 0 {
		return nil
	}
	out := make([]Diagnostic, 0, len(in.GetDiagnostics()))
	for _, d := range in.GetDiagnostics() {
		if d == nil {
			continue
		}
		out = append(out, Diagnostic{
			Severity: Severity(d.GetSeverity()),
			Summary:  d.GetSummary(),
			Detail:   d.GetDetail(),
			Field:    d.GetField(),
		})
	}
	return out
}

func runRequestToProto(in RunRequest) *pb.RunRequest {
	return &pb.RunRequest{SettingsJson: in.Settings, Secrets: in.Secrets}
}

func runRequestFromProto(in *pb.RunRequest) RunRequest {
	if in == nil {
		return RunRequest{}
	}
	return RunRequest{Settings: rawJSON(in.GetSettingsJson()), Secrets: in.GetSecrets()}
}

func progressToProto(in Progress) *pb.Progress {
	return &pb.Progress{
		Stage:   in.Stage,
		Done:    in.Done,
		Total:   in.Total,
		Unit:    in.Unit,
		Message: in.Message,
	}
}

func progressFromProto(in *pb.Progress) Progress {
	if in == nil {
		return Progress{}
	}
	return Progress{
		Stage:   in.GetStage(),
		Done:    in.GetDone(),
		Total:   in.GetTotal(),
		Unit:    in.GetUnit(),
		Message: in.GetMessage(),
	}
}

func rowToProto(in Row) *pb.AlertRow {
	out := &pb.AlertRow{
		DeviceName:                in.DeviceName,
		ThreatIntelligenceIp:      in.ThreatIntelligenceIP,
		LocalPort:                 int32(in.LocalPort),
		InitiatingProcessFileName: in.InitiatingProcessFileName,
		RemotePort:                int32(in.RemotePort),
		IpsumCount:                int32(in.IPsumCount),
		Severity:                  in.Severity,
	}
	if !in.Timestamp.IsZero() {
		out.Timestamp = timestamppb.New(in.Timestamp)
	}
	return out
}

func rowFromProto(in *pb.AlertRow) Row {
	if in == nil {
		return Row{}
	}
	out := Row{
		DeviceName:                in.GetDeviceName(),
		ThreatIntelligenceIP:      in.GetThreatIntelligenceIp(),
		LocalPort:                 int(in.GetLocalPort()),
		InitiatingProcessFileName: in.GetInitiatingProcessFileName(),
		RemotePort:                int(in.GetRemotePort()),
		IPsumCount:                int(in.GetIpsumCount()),
		Severity:                  in.GetSeverity(),
	}
	if ts := in.GetTimestamp(); ts != nil {
		out.Timestamp = ts.AsTime()
	}
	return out
}

func alertToProto(in Alert) *pb.Alert {
	return &pb.Alert{Id: in.ID, DocumentJson: in.Document, Row: rowToProto(in.Row)}
}

func alertFromProto(in *pb.Alert) Alert {
	if in == nil {
		return Alert{}
	}
	return Alert{ID: in.GetId(), Document: rawJSON(in.GetDocumentJson()), Row: rowFromProto(in.GetRow())}
}

func alertsToProto(in []Alert) *pb.AlertBatch {
	out := &pb.AlertBatch{Alerts: make([]*pb.Alert, len(in))}
	for i := range in {
		out.Alerts[i] = alertToProto(in[i])
	}
	return out
}

func alertsFromProto(in *pb.AlertBatch) []Alert {
	if len(in.GetAlerts()) == 0 {
		return nil
	}
	out := make([]Alert, 0, len(in.GetAlerts()))
	for _, a := range in.GetAlerts() {
		if a == nil {
			continue
		}
		out = append(out, alertFromProto(a))
	}
	return out
}

func resultToProto(in Result) *pb.RunResult {
	return &pb.RunResult{SummaryJson: in.Summary}
}

func resultFromProto(in *pb.RunResult) Result {
	if in == nil {
		return Result{}
	}
	return Result{Summary: rawJSON(in.GetSummaryJson())}
}

// rawJSON turns empty bytes into a nil RawMessage so that "absent" has one
// representation on the Go side.
func rawJSON(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	return json.RawMessage(b)
}

// alertSize estimates the encoded size of an alert, for batching.
func alertSize(a *Alert) int {
	return len(a.ID) + len(a.Document) + len(a.Row.DeviceName) + len(a.Row.ThreatIntelligenceIP) +
		len(a.Row.InitiatingProcessFileName) + len(a.Row.Severity) + 64
}
