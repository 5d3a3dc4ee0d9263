package plugin

import (
	"context"
	"encoding/json"
	"os"

	"github.com/edgewatch/edgewatch/plugin/wire"
)

// Detector is what every edgewatch plugin implements. The host calls
// Describe once after start-up, may call Validate, then calls Run once per
// detection window. Every method may be called concurrently with another.
type Detector interface {
	// Describe says what the plugin is: name, version, protocol version,
	// the settings it accepts and the Admin operations it offers.
	Describe(ctx context.Context) (Info, error)

	// Validate checks a configuration without running anything. User-facing
	// problems are returned as diagnostics; the error is for failures of the
	// call itself.
	Validate(ctx context.Context, cfg Config) ([]Diagnostic, error)

	// Run executes one detection window. It reports progress and alert
	// batches through s as they happen (a run over millions of events is never
	// one giant response) and returns the run summary. When ctx is cancelled
	// Run stops promptly and returns ctx's error.
	Run(ctx context.Context, req RunRequest, s Stream) (Result, error)
}

// Admin is an optional capability: operations other than a detection run,
// the wire.Op descriptors (wire.OpFeedLoad, wire.OpInstall, ...). A plugin
// offers it by implementing Admin next to Detector, usually with a [Mux]
// filled by [Handle]; a host calls an operation with [Call]. A host talking
// to a plugin without it gets an error wrapping [ErrUnsupported].
type Admin interface {
	// Exec runs operation op with its JSON arguments and secrets, reporting
	// progress through s, and returns the operation's JSON result. An
	// operation the plugin does not know returns an error wrapping
	// [ErrUnknownOp].
	Exec(ctx context.Context, op string, args json.RawMessage, secrets map[string]string, s Stream) (json.RawMessage, error)
}

// Stream carries what a run produces, in order. On the plugin side the
// adapter sends each call to the host; on the host side the caller's Stream
// receives them. A Stream method returning an error aborts the run. A
// Stream may keep a batch it was given: its sender never reuses it.
type Stream interface {
	Progress(ctx context.Context, p Progress) error
	Alerts(ctx context.Context, batch AlertBatch) error
}

// RowsStream is a Stream that says whether it uses AlertBatch.Rows; a
// plugin need not build rows for one that does not. A Stream without the
// method takes them.
type RowsStream interface {
	Stream
	WantsRows() bool
}

// Info describes a plugin.
type Info struct {
	Name            string `json:"name"`
	Version         string `json:"version"`
	ProtocolVersion int    `json:"protocol_version"`
	Description     string `json:"description,omitempty"`
	// SettingsSchema is a JSON Schema document for RunRequest.Settings.
	SettingsSchema json.RawMessage `json:"settings_schema,omitempty"`
	// Operations lists the Admin operations the plugin offers, sorted.
	Operations []string `json:"operations,omitempty"`
}

// Config is a settings document to validate, with its secrets.
type Config struct {
	Settings json.RawMessage
	Secrets  map[string]string
}

// RunRequest is one detection run: the settings document (JSON, a
// wire.Settings) and the secrets (wire.SecretPassword, wire.SecretAPIKey).
// Secrets travel only over the plugin channel, never in argv or the
// environment.
type RunRequest struct {
	Settings json.RawMessage
	Secrets  map[string]string
	// AlertRows asks for each alert's display columns (AlertBatch.Rows)
	// next to its document: a host that renders a table sets it.
	AlertRows bool
	// AlertFile, set by a host that writes the documents to a file (and
	// leaves AlertRows false), offers the plugin that file to write them
	// into itself: the bulk of an alert-heavy run then never crosses the
	// plugin connection. It must be a regular file opened for writing that
	// the host does not write to during the run (in practice the
	// temporary file an atomic output is renamed from). A plugin that takes
	// it appends every document there, whole lines only; Result.AlertFile
	// then holds its totals (checked against the file's size), the
	// Stream's Alerts sees none of the documents, and a Stream that
	// implements WrittenStream hears how far the plugin got. A plugin that
	// cannot take it (an older release, a file it cannot open as that same
	// file) sends the documents to the Stream as usual. On the plugin side
	// it is always nil: the plugin package writes the file, the Detector
	// only calls Stream.Alerts.
	AlertFile *os.File
}

// Result is what a run returns at its end: the run summary as JSON (a
// wire.Summary).
type Result struct {
	Summary json.RawMessage
	// AlertFile is what the plugin wrote into RunRequest.AlertFile; nil
	// when it sent the documents to the Stream instead (or none was
	// offered).
	AlertFile *AlertsWritten
}

// AlertsWritten is how much a plugin has written into RunRequest.AlertFile:
// whole documents (lines) and their bytes.
type AlertsWritten struct {
	Documents int64
	Bytes     int64
}

// WrittenStream is a host-side Stream that hears, while the run goes on,
// how much the plugin has written into RunRequest.AlertFile so far (in
// total), in place of the Alerts calls for those documents.
type WrittenStream interface {
	Stream
	AlertsWritten(ctx context.Context, w AlertsWritten) error
}

// Severity grades a Diagnostic.
type Severity int

// Diagnostic severities.
const (
	SeverityUnspecified Severity = iota
	SeverityError
	SeverityWarning
)

// String returns "error", "warning" or "unspecified".
func (s Severity) String() string {
	switch s {
	case SeverityError:
		return "error"
	case SeverityWarning:
		return "warning"
	default:
		return "unspecified"
	}
}

// Diagnostic is one user-facing problem with a configuration.
type Diagnostic struct {
	Severity Severity
	Summary  string
	Detail   string
	// Field is the settings key concerned, e.g. "cluster.urls".
	Field string
}

// Progress is one progress report (wire.Progress: the plugin side's engine
// and operations report it as it is).
type Progress = wire.Progress
