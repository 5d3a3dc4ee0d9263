package report

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"container/heap"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/edgewatch/edgewatch/plugin/wire"
)

// DefaultLatest is how many of the newest alerts a Summary keeps for the
// latest-alerts table.
const DefaultLatest = 500

// maxLine caps one NDJSON line; longer lines are counted as bad. A variable
// so tests can lower it.
var maxLine = 16 << 20

// maxBadKept is how many bad-line locations a Summary keeps verbatim.
const maxBadKept = 20

// Summary accumulates alerts (and optionally runs and the feed state) into
// what the report shows. Its zero value is not usable; call NewSummary.
type Summary struct {
	Total int
	// Events is the number of network events the alerts stand for: a
	// grouped alert counts its group's events, any other alert one.
	Events     int
	BySeverity map[string]int
	Retro      int
	First      time.Time
	Last       time.Time

	hourly    map[int64]*[4]int // unix hour → counts per Severities index
	ips       map[string]*ipStat
	hosts     map[string]int
	ports     map[int]int
	processes map[string]int
	reasons   map[string]int

	latest    alertHeap
	maxLatest int

	// Bad counts input lines that were not alerts; BadLines keeps the first
	// few as "source:line: reason".
	Bad      int
	BadLines []string

	Runs       []wire.RunRecord
	Indicators *wire.FeedPanel
}

type ipStat struct {
	count    int
	events   int
	maxIPsum int
}

// NewSummary returns an empty Summary that keeps the latest `latest` alerts
// (DefaultLatest when latest <= 0).
func NewSummary(latest int) *Summary {
	if latest <= 0 {
		latest = DefaultLatest
	}
	return &Summary{
		BySeverity: map[string]int{},
		hourly:     map[int64]*[4]int{},
		ips:        map[string]*ipStat{},
		hosts:      map[string]int{},
		ports:      map[int]int{},
		processes:  map[string]int{},
		reasons:    map[string]int{},
		maxLatest:  latest,
	}
}

func sevIndex(s string) int {
	for i, v := range Severities {
		if v == s {
			return i
		}
	}
	return len(Severities) - 1
}

// Add counts one alert.
func (s *Summary) Add(a Alert) {
	s.Total++
	s.Events += a.EventCount()
	s.BySeverity[a.Severity]++
	if a.RetroHunt {
		s.Retro++
	}
	if s.First.IsZero() || a.Timestamp.Before(s.First) {
		s.First = a.Timestamp
	}
	if a.Timestamp.After(s.Last) {
		s.Last = a.Timestamp
	}
	h := a.Timestamp.Unix() / 3600
	if s.hourly[h] == nil {
		s.hourly[h] = &[4]int{}
	}
	s.hourly[h][sevIndex(a.Severity)]++
	st := s.ips[a.SourceIP]
	if st == nil {
		st = &ipStat{}
		s.ips[a.SourceIP] = st
	}
	st.count++
	st.events += a.EventCount()
	st.maxIPsum = max(st.maxIPsum, a.IndicatorCount)
	s.hosts[orDash(a.HostName)]++
	s.ports[a.DestPort]++
	s.processes[orDash(a.Process)]++
	s.reasons[orDash(a.Reason)]++

	if len(s.latest) < s.maxLatest {
		heap.Push(&s.latest, a)
	} else if newer(a, s.latest[0]) {
		s.latest[0] = a
		heap.Fix(&s.latest, 0)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// newer orders alerts newest first; ties by event id for a stable report.
func newer(a, b Alert) bool {
	if !a.Timestamp.Equal(b.Timestamp) {
		return a.Timestamp.After(b.Timestamp)
	}
	return a.EventID > b.EventID
}

// alertHeap is a min-heap of the newest alerts: the oldest kept is at [0].
type alertHeap []Alert

func (h alertHeap) Len() int           { return len(h) }
func (h alertHeap) Less(i, j int) bool { return newer(h[j], h[i]) }
func (h alertHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *alertHeap) Push(x any)        { *h = append(*h, x.(Alert)) }
func (h *alertHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// AddRun records a run of the state index.
func (s *Summary) AddRun(r wire.RunRecord) { s.Runs = append(s.Runs, r) }

// SetIndicators records the live indicator feed (the feed panel).
func (s *Summary) SetIndicators(f wire.FeedPanel) { s.Indicators = &f }

// AddDocument counts one alert document, the n-th of source. A document
// that is not an alert is counted in Bad and named "source:n" in BadLines.
func (s *Summary) AddDocument(doc []byte, source string, n int) {
	a, err := DecodeAlert(doc)
	if err != nil {
		s.bad(source, n, err.Error())
		return
	}
	s.Add(a)
}

func (s *Summary) bad(source string, n int, reason string) {
	s.Bad++
	if len(s.BadLines) < maxBadKept {
		s.BadLines = append(s.BadLines, source+":"+strconv.Itoa(n)+": "+reason)
	}
}

// ReadNDJSON streams alert documents, one per line, into the summary; gzip
// input is detected by its magic bytes. Lines that are not alerts are counted
// in Bad with their line number and skipped; only a read error stops it.
// source names the input in BadLines.
func (s *Summary) ReadNDJSON(r io.Reader, source string) error {
	br := bufio.NewReaderSize(r, 256*1024)
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("report: %s: gzip: %w", source, err)
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 256*1024)
	}
	var buf []byte // a line longer than the reader's buffer
	tooLong := false
	line := 0
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if !tooLong {
				if len(buf)+len(chunk) > maxLine {
					tooLong, buf = true, buf[:0]
				} else {
					buf = append(buf, chunk...)
				}
			}
			continue
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("report: read %s: %w", source, err)
		}
		if err == io.EOF && len(chunk) == 0 && len(buf) == 0 && !tooLong {
			return nil
		}
		line++
		b := chunk
		if len(buf) > 0 {
			buf = append(buf, chunk...)
			b = buf
		}
		switch t := bytes.TrimSpace(b); {
		case tooLong:
			s.bad(source, line, fmt.Sprintf("line longer than %d bytes", maxLine))
		case len(t) == 0:
		default:
			s.AddDocument(t, source, line)
		}
		buf, tooLong = buf[:0], false
		if err == io.EOF {
			return nil
		}
	}
}

// LoadAlertsNDJSON builds a Summary from an alerts NDJSON stream (plain or
// gzip), e.g. the --out file of `edgewatch run` in file mode.
func LoadAlertsNDJSON(r io.Reader) (*Summary, error) {
	s := NewSummary(0)
	if err := s.ReadNDJSON(r, "alerts"); err != nil {
		return nil, err
	}
	return s, nil
}
