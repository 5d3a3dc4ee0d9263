package connectors

import (
	"fmt"
	"sort"
	"strings"

	"github.com/edgewatch/edgewatch/correlation"
)

// maxExamples is how many locations a Report keeps per skip reason.
const maxExamples = 5

// Report counts what a read saw: rows read, rows passed on, rows skipped per
// reason with the first few locations of each. It is the "counted and reported
// with file and line" half of bad-input handling.
type Report struct {
	Read    int64            `json:"read"`
	Passed  int64            `json:"passed"`
	Skipped map[string]int64 `json:"skipped,omitempty"`
	// Examples keeps the first locations per skip reason.
	Examples map[string][]correlation.Location `json:"examples,omitempty"`
}

// Skip counts one skipped row under reason.
func (r *Report) Skip(reason string, loc correlation.Location) {
	if r.Skipped == nil {
		r.Skipped = map[string]int64{}
		r.Examples = map[string][]correlation.Location{}
	}
	r.Skipped[reason]++
	if len(r.Examples[reason]) < maxExamples {
		r.Examples[reason] = append(r.Examples[reason], loc)
	}
}

// SkippedTotal is the number of rows skipped for any reason.
func (r *Report) SkippedTotal() int64 {
	var n int64
	for _, c := range r.Skipped {
		n += c
	}
	return n
}

// Merge adds o's counts to r.
func (r *Report) Merge(o Report) {
	r.Read += o.Read
	r.Passed += o.Passed
	for reason, n := range o.Skipped {
		if r.Skipped == nil {
			r.Skipped = map[string]int64{}
			r.Examples = map[string][]correlation.Location{}
		}
		r.Skipped[reason] += n
		for _, l := range o.Examples[reason] {
			if len(r.Examples[reason]) < maxExamples {
				r.Examples[reason] = append(r.Examples[reason], l)
			}
		}
	}
}

// String renders the skip reasons on one line each, sorted, with example
// locations: "bad RemoteIP: 3 (events.ndjson:12, events.ndjson:40, …)".
func (r *Report) String() string {
	reasons := make([]string, 0, len(r.Skipped))
	for k := range r.Skipped {
		reasons = append(reasons, k)
	}
	sort.Strings(reasons)
	var b strings.Builder
	for _, k := range reasons {
		fmt.Fprintf(&b, "%s: %d", k, r.Skipped[k])
		if ex := r.Examples[k]; len(ex) > 0 {
			parts := make([]string, len(ex))
			for i, l := range ex {
				parts[i] = l.String()
			}
			fmt.Fprintf(&b, " (%s)", strings.Join(parts, ", "))
		}
		b.WriteByte('\n')
	}
	return b.String()
}
