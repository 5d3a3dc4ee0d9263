package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"sort"
	"strconv"
	"time"

	"github.com/edgewatch/edgewatch/plugin/wire"
)

//go:embed report.html.tmpl
var pageTmpl string

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"ts": func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"sevColor": func(s string) string { return severityColors[s] },
	"dict": func(kv ...any) (map[string]any, error) {
		if len(kv)%2 != 0 {
			return nil, fmt.Errorf("dict: odd number of arguments")
		}
		m := make(map[string]any, len(kv)/2)
		for i := 0; i < len(kv); i += 2 {
			k, ok := kv[i].(string)
			if !ok {
				return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
			}
			m[k] = kv[i+1]
		}
		return m, nil
	},
	"f1": func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) },
	"port": func(p int) string {
		if p == 0 {
			return "-"
		}
		return strconv.Itoa(p)
	},
}).Parse(pageTmpl))

// severityColors match the dashboard's uiState colours.
var severityColors = map[string]string{
	"critical": "#BD271E",
	"high":     "#E7664C",
	"medium":   "#D6BF57",
	"low":      "#54B399",
}

// Options tune Render.
type Options struct {
	Title  string    // page title; default "edgewatch report"
	Source string    // what the alerts were read from, shown in the header
	Now    time.Time // generation time, also the reference for the feed age; default time.Now()
	Top    int       // rows of the top-N tables; default 10

	testScript string // extra inline script, for the headless-browser tests only
}

type countRow struct {
	Key   string
	Count int
	Pct   float64
}

type ipRow struct {
	IP       string
	Count    int
	Events   int
	MaxIPsum int
}

type sevCount struct {
	Name  string
	Count int
}

type runRow struct {
	Detection, Outcome string
	Runs               int
	AvgMS, MaxMS       int64
	MaxLagMS           int64
	Alerts, Events     int64
	LastFinished       time.Time
}

type feedView struct {
	wire.FeedPanel
	Age    string
	Levels []levelRow
}

type levelRow struct {
	Level int
	Count int64
}

type pageData struct {
	Total     int            `json:"total"`
	Events    int            `json:"events"`
	Severity  map[string]int `json:"severity"`
	Devices   int            `json:"devices"`
	IPs       int            `json:"ips"`
	Retro     int            `json:"retro"`
	Bad       int            `json:"bad"`
	Latest    int            `json:"latest"`
	Generated string         `json:"generated"`
}

type view struct {
	Title, Source, Generated string
	First, Last              time.Time
	Severities               []sevCount
	Chart                    chart
	TopIPs                   []ipRow
	Hosts, Ports, Processes  []countRow
	Reasons                  []countRow
	Latest                   []Alert
	Total                    int
	Events                   int
	// Grouped says some alert is a grouped alert: the latest-alerts table
	// shows the events, first and last columns.
	Grouped    bool
	Feed       *feedView
	Runs       []runRow
	Failures   []wire.RunRecord
	Bad        int
	BadLines   []string
	Data       pageData
	TestScript template.JS
}

// Render writes the report page for s.
func Render(w io.Writer, s *Summary, opt Options) error {
	if opt.Title == "" {
		opt.Title = "edgewatch report"
	}
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	if opt.Top <= 0 {
		opt.Top = 10
	}
	v := view{
		Title:      opt.Title,
		Source:     opt.Source,
		Generated:  opt.Now.UTC().Format(time.RFC3339),
		First:      s.First,
		Last:       s.Last,
		Total:      s.Total,
		Events:     s.Events,
		Chart:      buildChart(s),
		TopIPs:     topIPs(s.ips, opt.Top),
		Hosts:      top(s.hosts, opt.Top, s.Total),
		Processes:  top(s.processes, opt.Top, s.Total),
		Reasons:    top(s.reasons, opt.Top, s.Total),
		Ports:      topPorts(s.ports, opt.Top, s.Total),
		Latest:     latest(s),
		Feed:       feed(s.Indicators, opt.Now),
		Bad:        s.Bad,
		BadLines:   s.BadLines,
		TestScript: template.JS(opt.testScript),
	}
	for _, name := range Severities {
		v.Severities = append(v.Severities, sevCount{name, s.BySeverity[name]})
	}
	for _, a := range v.Latest {
		v.Grouped = v.Grouped || a.Events > 0
	}
	v.Runs, v.Failures = runs(s.Runs)
	v.Data = pageData{
		Total: s.Total, Events: s.Events, Severity: map[string]int{}, Devices: len(s.hosts), IPs: len(s.ips),
		Retro: s.Retro, Bad: s.Bad, Latest: len(v.Latest), Generated: v.Generated,
	}
	for _, name := range Severities {
		v.Data.Severity[name] = s.BySeverity[name]
	}
	if err := page.Execute(w, v); err != nil {
		return fmt.Errorf("report: render: %w", err)
	}
	return nil
}

func latest(s *Summary) []Alert {
	out := append([]Alert(nil), s.latest...)
	sort.Slice(out, func(i, j int) bool { return newer(out[i], out[j]) })
	return out
}

func top(m map[string]int, n, total int) []countRow {
	rows := make([]countRow, 0, len(m))
	for k, c := range m {
		rows = append(rows, countRow{Key: k, Count: c})
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Count != rows[j].Count {
			return rows[i].Count > rows[j].Count
		}
		return rows[i].Key < rows[j].Key
	})
	if len(rows) > n {
		rows = rows[:n]
	}
	for i := range rows {
		if total > 0 {
			rows[i].Pct = 100 * float64(rows[i].Count) / float64(total)
		}
	}
	return rows
}

func topPorts(m map[int]int, n, total int) []countRow {
	sm := make(map[string]int, len(m))
	for p, c := range m {
		key := "-"
		if p != 0 {
			key = fmt.Sprintf("%05d", p) // sorts numerically on ties
		}
		sm[key] = c
	}
	rows := top(sm, n, total)
	for i := range rows {
		if rows[i].Key != "-" {
			p, _ := strconv.Atoi(rows[i].Key)
			rows[i].Key = strconv.Itoa(p)
		}
	}
	return rows
}

func topIPs(m map[string]*ipStat, n int) []ipRow {
	rows := make([]ipRow, 0, len(m))
	for ip, st := range m {
		rows = append(rows, ipRow{IP: ip, Count: st.count, Events: st.events, MaxIPsum: st.maxIPsum})
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Count != rows[j].Count {
			return rows[i].Count > rows[j].Count
		}
		if rows[i].MaxIPsum != rows[j].MaxIPsum {
			return rows[i].MaxIPsum > rows[j].MaxIPsum
		}
		return rows[i].IP < rows[j].IP
	})
	if len(rows) > n {
		rows = rows[:n]
	}
	return rows
}

func feed(i *wire.FeedPanel, now time.Time) *feedView {
	if i == nil {
		return nil
	}
	f := &feedView{FeedPanel: *i}
	if !i.LoadedAt.IsZero() {
		f.Age = humanAge(now.Sub(i.LoadedAt))
	}
	for lvl, c := range i.PerLevel {
		f.Levels = append(f.Levels, levelRow{lvl, c})
	}
	sort.Slice(f.Levels, func(a, b int) bool { return f.Levels[a].Level > f.Levels[b].Level })
	return f
}

func humanAge(d time.Duration) string {
	switch {
	case d < 0:
		return "in the future (clock skew?)"
	case d < time.Minute:
		return "less than a minute"
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%.1f h", d.Hours())
	default:
		return fmt.Sprintf("%.1f days", d.Hours()/24)
	}
}

// maxFailures is how many recent failed runs the run-health panel lists.
const maxFailures = 10

func runs(rs []wire.RunRecord) ([]runRow, []wire.RunRecord) {
	type key struct{ det, out string }
	agg := map[key]*runRow{}
	sums := map[key]int64{}
	var failures []wire.RunRecord
	for _, r := range rs {
		k := key{r.Detection, r.Outcome}
		row := agg[k]
		if row == nil {
			row = &runRow{Detection: r.Detection, Outcome: r.Outcome}
			agg[k] = row
		}
		row.Runs++
		sums[k] += r.DurationMS
		row.MaxMS = max(row.MaxMS, r.DurationMS)
		row.MaxLagMS = max(row.MaxLagMS, r.LagMS)
		row.Alerts += r.Counts.AlertsCreated
		row.Events += r.Counts.EventsScanned
		if r.FinishedAt.After(row.LastFinished) {
			row.LastFinished = r.FinishedAt
		}
		if r.Outcome != wire.StatusSuccess {
			failures = append(failures, r)
		}
	}
	rows := make([]runRow, 0, len(agg))
	for k, row := range agg {
		row.AvgMS = sums[k] / int64(row.Runs)
		rows = append(rows, *row)
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Detection != rows[j].Detection {
			return rows[i].Detection < rows[j].Detection
		}
		return rows[i].Outcome < rows[j].Outcome
	})
	sort.Slice(failures, func(i, j int) bool { return failures[i].StartedAt.After(failures[j].StartedAt) })
	if len(failures) > maxFailures {
		failures = failures[:maxFailures]
	}
	return rows, failures
}
