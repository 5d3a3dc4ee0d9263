package wire

// Bounds of the alert path from the engine to every sink.
const (
	// MaxAlertBytes bounds one alert document. A matched event whose alert
	// would be larger (a Defender row with a field of many megabytes) is
	// not written anywhere: it is counted in AlertSummary.Skipped as
	// SkipAlertTooLarge with the event's file and line (or index and
	// document id). Every document then fits one plugin message (64 MiB),
	// one bulk request and the clusters' default http.max_content_length
	// (100 MB), so one such row never sinks the run's other alerts.
	MaxAlertBytes = 16 << 20
	// AlertBatchBytes bounds the alert documents the engine hands on at
	// once and one plugin message of them; a single document larger than
	// this travels alone.
	AlertBatchBytes = 4 << 20
)

// SkipAlertTooLarge is the AlertSummary.Skipped reason of an alert larger
// than MaxAlertBytes.
const SkipAlertTooLarge = "alert too large"
