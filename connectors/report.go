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
	// OtherTables counts the rows that name another Defender table than the
	// one read (a Streaming API record's category, a Log Analytics row's
	// Type), by that table. They are neither read nor skipped: a dump of
	// many tables is a normal input.
	OtherTables map[string]int64 `json:"other_tables,omitempty"`
	// MissingColumns lists, per file, the columns the table needs that the
	// file's CSV header lacks.
	MissingColumns map[string][]string `json:"missing_columns,omitempty"`
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

// OtherTable counts one row of another table.
func (r *Report) OtherTable(table string) {
	if r.OtherTables == nil {
		r.OtherTables = map[string]int64{}
	}
	r.OtherTables[table]++
}

// MissingColumn records that file lacks the needed columns cols.
func (r *Report) MissingColumn(file string, cols []string) {
	if r.MissingColumns == nil {
		r.MissingColumns = map[string][]string{}
	}
	r.MissingColumns[file] = cols
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
	for table, n := range o.OtherTables {
		if r.OtherTables == nil {
			r.OtherTables = map[string]int64{}
		}
		r.OtherTables[table] += n
	}
	for file, cols := range o.MissingColumns {
		r.MissingColumn(file, cols)
	}
}

// String renders the skip reasons on one line each, sorted, with example
// locations: "bad RemoteIP: 3 (events.ndjson:12, events.ndjson:40, …)",
// then the other tables on one line and the missing columns per file.
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
	if len(r.OtherTables) > 0 {
		tables := make([]string, 0, len(r.OtherTables))
		for k := range r.OtherTables {
			tables = append(tables, k)
		}
		sort.Strings(tables)
		for i, k := range tables {
			tables[i] = fmt.Sprintf("%s %d", k, r.OtherTables[k])
		}
		fmt.Fprintf(&b, "other tables: %s\n", strings.Join(tables, ", "))
	}
	files := make([]string, 0, len(r.MissingColumns))
	for f := range r.MissingColumns {
		files = append(files, f)
	}
	sort.Strings(files)
	for _, f := range files {
		fmt.Fprintf(&b, "missing columns: %s: %s\n", f, strings.Join(r.MissingColumns[f], ", "))
	}
	return b.String()
}
