package plugin

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	pb "github.com/edgewatch/edgewatch/plugin/internal/proto/edgewatch/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Converters between the public Go types and the generated protobuf types.
// They are pure functions: nil in gives the zero value out, and every field
// has a table case in convert_test.go.

func infoToProto(in Info) *pb.DescribeResponse {
	return &pb.DescribeResponse{
		Name:            validUTF8(in.Name),
		Version:         validUTF8(in.Version),
		ProtocolVersion: int32(in.ProtocolVersion),
		Description:     validUTF8(in.Description),
		SettingsSchema:  in.SettingsSchema,
		Operations:      validUTF8s(in.Operations),
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
			Summary:  validUTF8(d.Summary),
			Detail:   validUTF8(d.Detail),
			Field:    validUTF8(d.Field),
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

// runRequestToProto is the host's request: it always asks for
// AlertDocuments (and accepts AlertBatch from older plugins).
func runRequestToProto(in RunRequest) *pb.RunRequest {
	return &pb.RunRequest{SettingsJson: in.Settings, Secrets: in.Secrets,
		AlertEncoding: pb.AlertEncoding_ALERT_ENCODING_NDJSON, AlertRows: in.AlertRows}
}

func runRequestFromProto(in *pb.RunRequest) RunRequest {
	if in == nil {
		return RunRequest{}
	}
	return RunRequest{Settings: rawJSON(in.GetSettingsJson()), Secrets: in.GetSecrets(), AlertRows: in.GetAlertRows()}
}

func progressToProto(in Progress) *pb.Progress {
	return &pb.Progress{
		Stage:   validUTF8(in.Stage),
		Done:    in.Done,
		Total:   in.Total,
		Unit:    validUTF8(in.Unit),
		Message: validUTF8(in.Message),
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
		DeviceName:                validUTF8(in.DeviceName),
		ThreatIntelligenceIp:      validUTF8(in.ThreatIntelligenceIP),
		LocalPort:                 int32(in.LocalPort),
		InitiatingProcessFileName: validUTF8(in.InitiatingProcessFileName),
		RemotePort:                int32(in.RemotePort),
		IpsumCount:                int32(in.IPsumCount),
		Severity:                  validUTF8(in.Severity),
		Id:                        validUTF8(in.ID),
		Feed:                      validUTF8(in.Feed),
		Provider:                  validUTF8(in.Provider),
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
		ID:                        in.GetId(),
		Feed:                      in.GetFeed(),
		Provider:                  in.GetProvider(),
	}
	if ts := in.GetTimestamp(); ts != nil {
		out.Timestamp = ts.AsTime()
	}
	return out
}

func rowsToProto(in []Row) []*pb.AlertRow {
	if len(in) == 0 {
		return nil
	}
	out := make([]*pb.AlertRow, len(in))
	for i := range in {
		out[i] = rowToProto(in[i])
	}
	return out
}

func rowsFromProto(in []*pb.AlertRow) []Row {
	if len(in) == 0 {
		return nil
	}
	out := make([]Row, len(in))
	for i, r := range in {
		out[i] = rowFromProto(r)
	}
	return out
}

// documentsToProto is a batch as AlertDocuments (ALERT_ENCODING_NDJSON):
// the NDJSON as it is, and the rows when the host asked for them.
func documentsToProto(in AlertBatch, rows bool) *pb.AlertDocuments {
	out := &pb.AlertDocuments{Ndjson: in.NDJSON}
	if rows {
		out.Rows = rowsToProto(in.Rows)
	}
	return out
}

func documentsFromProto(in *pb.AlertDocuments) AlertBatch {
	return AlertBatch{NDJSON: in.GetNdjson(), Rows: rowsFromProto(in.GetRows())}
}

// alertsToProto is a batch as AlertBatch, one Alert message per document:
// what a host that predates ALERT_ENCODING_NDJSON understands. Such hosts
// render tables from the rows, so every alert carries one (zero when the
// batch has none).
func alertsToProto(in AlertBatch) *pb.AlertBatch {
	out := &pb.AlertBatch{Alerts: make([]*pb.Alert, 0, in.Len())}
	for i, doc := range in.Documents() {
		var row Row
		if i < len(in.Rows) {
			row = in.Rows[i]
		}
		out.Alerts = append(out.Alerts, &pb.Alert{Id: validUTF8(row.ID), DocumentJson: doc, Row: rowToProto(row)})
	}
	return out
}

// alertsFromProto is an AlertBatch message (from a plugin that predates
// ALERT_ENCODING_NDJSON) as a batch: the documents joined into NDJSON,
// with their rows.
func alertsFromProto(in *pb.AlertBatch) AlertBatch {
	size := 0
	for _, a := range in.GetAlerts() {
		size += len(a.GetDocumentJson()) + 1
	}
	out := AlertBatch{NDJSON: make([]byte, 0, size), Rows: make([]Row, 0, len(in.GetAlerts()))}
	for _, a := range in.GetAlerts() {
		if a == nil {
			continue
		}
		out.NDJSON = appendLine(out.NDJSON, a.GetDocumentJson())
		row := rowFromProto(a.GetRow())
		if row.ID == "" {
			row.ID = a.GetId()
		}
		out.Rows = append(out.Rows, row)
	}
	return out
}

func resultToProto(in Result) *pb.RunResult {
	out := &pb.RunResult{SummaryJson: in.Summary}
	if in.AlertFile != nil {
		out.AlertFile = writtenToProto(*in.AlertFile)
	}
	return out
}

func resultFromProto(in *pb.RunResult) Result {
	if in == nil {
		return Result{}
	}
	out := Result{Summary: rawJSON(in.GetSummaryJson())}
	if w := in.GetAlertFile(); w != nil {
		aw := writtenFromProto(w)
		out.AlertFile = &aw
	}
	return out
}

func writtenToProto(in AlertsWritten) *pb.AlertsWritten {
	return &pb.AlertsWritten{Documents: in.Documents, Bytes: in.Bytes}
}

func writtenFromProto(in *pb.AlertsWritten) AlertsWritten {
	return AlertsWritten{Documents: in.GetDocuments(), Bytes: in.GetBytes()}
}

// rawJSON turns empty bytes into a nil RawMessage so that "absent" has one
// representation on the Go side.
func rawJSON(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	return json.RawMessage(b)
}

// validUTF8 returns s with each byte that is not part of valid UTF-8
// replaced by U+FFFD, as encoding/json does in the alert documents: proto3
// string fields must be valid UTF-8, or the whole message (a batch of
// alerts, a progress report) fails to marshal. A Defender export re-saved
// as Windows-1252 puts such bytes in device and process names.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func validUTF8s(in []string) []string {
	for i, s := range in {
		if !utf8.ValidString(s) {
			out := make([]string, len(in))
			copy(out, in[:i])
			for j := i; j < len(in); j++ {
				out[j] = validUTF8(in[j])
			}
			return out
		}
	}
	return in
}
