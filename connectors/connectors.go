package connectors

import (
	"context"
	"errors"
	"time"

	"github.com/edgewatch/edgewatch/correlation"
)

// FacingQuery selects the DeviceInfo rows the facing step reads: rows in
// [From, To) that carry internet-facing data. Zero times are unbounded.
type FacingQuery struct {
	From, To time.Time
	// Progress, when set, is called now and then with the rows (or bytes)
	// read so far and the total when known (0 otherwise).
	Progress ProgressFunc
}

// ProgressFunc reports how far a read is: done and total in Unit ("rows" or
// "bytes"); total is 0 when unknown. Connectors call it at most a few times a
// second.
type ProgressFunc func(done, total int64, unit string)

// EventQuery selects DeviceNetworkEvents rows in [From, To) (zero times are
// unbounded). A connector pushes down as much of the filter as it can:
// ActionType == InboundConnectionAccepted, device and port in Facing, and
// RemoteIP in Indicators. Nil Facing or Indicators mean "no filter".
type EventQuery struct {
	From, To   time.Time
	Facing     *correlation.FacingSet
	Indicators *correlation.IndicatorSet
	// Progress, as in FacingQuery.
	Progress ProgressFunc
}

// FacingReader streams DeviceInfo rows.
type FacingReader interface {
	// DeviceInfo calls fn for each row that matches q. Rows the connector
	// cannot decode are counted in the returned Report, not passed to fn.
	DeviceInfo(ctx context.Context, q FacingQuery, fn func(*correlation.DeviceInfo) error) (Report, error)
}

// EventReader streams DeviceNetworkEvents rows.
type EventReader interface {
	// NetworkEvents calls fn for each candidate row of q. The event passed to
	// fn is only valid during the call: copy what you keep.
	NetworkEvents(ctx context.Context, q EventQuery, fn func(*correlation.NetworkEvent) error) (Report, error)
}

// Source is what the detection reads from.
type Source interface {
	FacingReader
	EventReader
}

// EventPreparer is an optional extension of a Source whose event step has
// work that does not need the facing set (a cluster lists the window's
// indicator remotes). The engine calls PrepareEvents with the run's window
// and indicators (Facing nil) before the facing step; the Source does that
// work in the background, and a later NetworkEvents with the same From, To
// and Indicators uses it. The events NetworkEvents reads must not depend on
// whether it was prepared. stop cancels the preparation if it is still
// running and waits for it to end; the caller calls it once the event step
// is over or the run failed.
type EventPreparer interface {
	PrepareEvents(ctx context.Context, q EventQuery) (stop func())
}

// AlertWriter stores alerts durably. Write returns only once every alert it
// accepted is durable; alerts already present (same id) are counted, not
// errors.
type AlertWriter interface {
	Write(ctx context.Context, alerts []*correlation.Alert) (WriteResult, error)
}

// WriteResult counts the outcome of a Write.
type WriteResult struct {
	Created        int `json:"created"`
	AlreadyPresent int `json:"already_present"`
	Failed         int `json:"failed"`
	// Failures describes up to a few failed documents with the store's reason.
	Failures []string `json:"failures,omitempty"`
}

// ErrInput marks a read that failed on what it was given rather than on the
// store: a file whose content cannot be read to its end (a truncated or
// corrupt gzip stream) or cannot hold the table asked for (a CSV export
// without a column every row needs). The error names the file (and line or
// byte offset). Callers test it with errors.Is and report it as an input
// error (the CLI's exit 2).
var ErrInput = errors.New("bad input")
