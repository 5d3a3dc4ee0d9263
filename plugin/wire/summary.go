package wire

import (
	"strconv"
	"time"
)

// Summary is what a detection run reports at its end: the plugin's answer
// to a run, which the host prints (and `serve` turns into a run record).
type Summary struct {
	RunID    string    `json:"run_id"`
	Source   string    `json:"source"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Window   RunWindow `json:"window"`

	Indicators IndicatorSummary `json:"indicators"`
	DeviceInfo DeviceSummary    `json:"device_info"`
	Events     EventSummary     `json:"events"`
	Alerts     AlertSummary     `json:"alerts"`
	// Groups is set when the detection groups alerts: Alerts then counts
	// the per-event findings (kept as evidence in a cluster), Groups the
	// grouped alerts.
	Groups *GroupSummary `json:"groups,omitempty"`

	DurationMS int64  `json:"duration_ms"`
	Outcome    string `json:"outcome"` // StatusSuccess or StatusFailed
	Error      string `json:"error,omitempty"`
}

// RunWindow is a run's time window; zero ends are unbounded. FacingFrom is
// where the DeviceInfo look-back started.
type RunWindow struct {
	From       time.Time `json:"from,omitzero"`
	To         time.Time `json:"to,omitzero"`
	FacingFrom time.Time `json:"facing_from,omitzero"`
}

// IndicatorSummary counts the indicator step.
type IndicatorSummary struct {
	Loaded   int            `json:"loaded"`
	Addrs    int            `json:"addresses"`
	Prefixes int            `json:"ranges"`
	Dropped  map[string]int `json:"dropped,omitempty"`
	Invalid  int            `json:"invalid"`
	Feeds    []FeedReport   `json:"feeds,omitempty"`
	From     string         `json:"from"` // "files" or the lookup index
}

// FeedReport is what parsing one feed file found (correlation.ParseFeed's
// report). Every line lands in exactly one of Blank, Comments, Loaded,
// Duplicates, BelowLevel, Invalid or Dropped, so their sum equals Lines.
type FeedReport struct {
	Source       string         `json:"source"`
	Name         string         `json:"name"`   // the feed name its indicators carry
	Format       string         `json:"format"` // "ipsum", "levels", "list", "empty"
	Lines        int            `json:"lines"`
	Blank        int            `json:"blank,omitempty"`
	Comments     int            `json:"comments"`
	Loaded       int            `json:"loaded"`
	Duplicates   int            `json:"duplicates"`
	BelowLevel   int            `json:"below_level"`
	Invalid      int            `json:"invalid"`
	InvalidLines []int          `json:"invalid_lines,omitempty"` // first few 1-based line numbers
	Dropped      map[string]int `json:"dropped,omitempty"`       // non-global, by reason
}

// DroppedTotal is the number of lines refused as non-global.
func (r FeedReport) DroppedTotal() int {
	n := 0
	for _, c := range r.Dropped {
		n += c
	}
	return n
}

// DeviceSummary counts the facing step.
type DeviceSummary struct {
	Read     int64                 `json:"read"`
	Skipped  map[string]int64      `json:"skipped,omitempty"`
	Examples map[string][]Location `json:"examples,omitempty"`
	InputNotes
	NoPort      int `json:"rows_without_port"`
	FacingPorts int `json:"facing_ports"`
	Devices     int `json:"devices"`
}

// EventSummary counts the event step.
type EventSummary struct {
	Read       int64                 `json:"read"`
	Candidates int64                 `json:"candidates"`
	Skipped    map[string]int64      `json:"skipped,omitempty"`
	Examples   map[string][]Location `json:"examples,omitempty"`
	InputNotes
	// Misses counts candidate rows the exact match refused, by reason.
	Misses map[string]int64 `json:"misses,omitempty"`
	// Duplicates counts rows that produced an already-seen finding id.
	Duplicates int64 `json:"duplicates"`
	// RawNotObject counts alerts whose raw record was not a JSON object
	// (defender.network_event then holds it as a JSON string).
	RawNotObject int64 `json:"raw_not_object,omitempty"`
}

// InputNotes is what a read saw besides its rows: rows of other Defender
// tables (a mixed dump), by table, and the columns a CSV file lacks, by
// file.
type InputNotes struct {
	OtherTables    map[string]int64    `json:"other_tables,omitempty"`
	MissingColumns map[string][]string `json:"missing_columns,omitempty"`
}

// AlertSummary counts the alerts. Matched alerts go to every sink of the
// run except those in Skipped; the host counts what it wrote to a file or
// stdout, and Created, AlreadyPresent and Failed count the alert index
// (Index, the write alias), which only a cluster run without no_index
// writes. A grouping detection's (Summary.Groups set) Matched counts the
// events, and Created, AlreadyPresent and Failed its per-event findings
// stored as evidence (GroupSummary.EvidenceIndex): GroupSummary counts the
// grouped alerts in Index.
type AlertSummary struct {
	Matched int `json:"matched"`
	// Skipped counts matched alerts written nowhere, by reason
	// (SkipAlertTooLarge), with the first few events' locations.
	Skipped  map[string]int64      `json:"skipped,omitempty"`
	Examples map[string][]Location `json:"examples,omitempty"`
	// Index is the alert index (write alias) the run wrote to, "" when it
	// wrote none.
	Index          string   `json:"index,omitempty"`
	Created        int      `json:"created"`
	AlreadyPresent int      `json:"already_present"`
	Failed         int      `json:"failed"`
	Failures       []string `json:"failures,omitempty"`
}

// GroupSummary counts the grouped alerts of a run.
type GroupSummary struct {
	By     []string `json:"by"`
	Window Duration `json:"window"`
	// Touched is the number of groups the run's events fall in.
	Touched int `json:"touched"`
	// Created, Updated and Unchanged sort the touched groups by what the
	// run did to their grouped alert (file mode: all created); Failed
	// could not be written.
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	Failed    int `json:"failed"`
	// Conflicts counts optimistic-concurrency retries (another writer got
	// there first).
	Conflicts int      `json:"conflicts,omitempty"`
	Failures  []string `json:"failures,omitempty"`
	// Index is the alert alias the grouped alerts are in; EvidenceIndex
	// the findings alias (cluster mode).
	Index         string `json:"index,omitempty"`
	EvidenceIndex string `json:"evidence_index,omitempty"`
}

// Location is where a skipped row came from (correlation.Location's wire
// form).
type Location struct {
	Source string `json:"source,omitempty"` // file path or index name
	Line   int    `json:"line,omitempty"`   // 1-based line (NDJSON/CSV) or record number
	DocID  string `json:"doc_id,omitempty"` // cluster document id
}

// String renders "file:line", "index/doc-id" or the source alone.
func (l Location) String() string {
	switch {
	case l.Line > 0:
		return l.Source + ":" + strconv.Itoa(l.Line)
	case l.DocID != "":
		return l.Source + "/" + l.DocID
	default:
		return l.Source
	}
}

// SkippedTotal is the number of rows skipped for any reason.
func (e EventSummary) SkippedTotal() int64 { return sumCounts(e.Skipped) }

// SkippedTotal is the number of matched alerts skipped for any reason.
func (a AlertSummary) SkippedTotal() int64 { return sumCounts(a.Skipped) }

// SkippedTotal is the number of rows skipped for any reason.
func (d DeviceSummary) SkippedTotal() int64 { return sumCounts(d.Skipped) }

func sumCounts(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// Progress is one progress report of a run or an operation, sent often
// enough to drive a progress bar and at each stage change.
type Progress struct {
	Stage   string `json:"stage"`   // "indicators", "facing", "events", "write", "done", an operation's own
	Done    int64  `json:"done"`    // units done in this stage
	Total   int64  `json:"total"`   // 0 when unknown
	Unit    string `json:"unit"`    // "rows" or "bytes"
	Message string `json:"message"` // optional human text
}
