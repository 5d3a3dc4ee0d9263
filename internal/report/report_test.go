package report

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/buger/jsonparser"
	"github.com/edgewatch/edgewatch/internal/golden"
	"github.com/edgewatch/edgewatch/plugin/wire"
	"github.com/google/go-cmp/cmp"
)

var fixedNow = time.Date(2024, 5, 3, 14, 0, 0, 0, time.UTC)

func loadSample(t testing.TB) *Summary {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "alerts.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := NewSummary(0)
	if err := s.ReadNDJSON(f, "testdata/alerts.ndjson"); err != nil {
		t.Fatal(err)
	}
	return s
}

func sampleRuns() []wire.RunRecord {
	mk := func(det, outcome string, started string, ms int64, lag int64, errText string) wire.RunRecord {
		st, _ := time.Parse(time.RFC3339, started)
		r := wire.RunRecord{Type: "run", Detection: det, RunID: "run-" + started, StartedAt: st, FinishedAt: st.Add(time.Duration(ms) * time.Millisecond),
			DurationMS: ms, Outcome: outcome, LagMS: lag, Error: errText}
		r.Counts.EventsScanned, r.Counts.AlertsCreated = 1000, 2
		return r
	}
	return []wire.RunRecord{
		mk("defender-ti", "success", "2024-05-03T13:00:00Z", 800, 120000, ""),
		mk("defender-ti", "success", "2024-05-03T13:05:00Z", 1200, 90000, ""),
		mk("defender-ti", "failed", "2024-05-03T13:10:00Z", 30000, 400000, "opensearch: 503 Service Unavailable"),
		mk("defender-ti-retro", "success", "2024-05-03T12:00:00Z", 5000, 0, ""),
	}
}

func sampleFeed() wire.FeedPanel {
	return wire.FeedPanel{Feed: "ipsum", LoadedAt: fixedNow.Add(-26 * time.Hour), Total: 1450,
		PerLevel: map[int]int64{3: 1000, 4: 300, 5: 100, 8: 50}}
}

func TestLoadAlertsNDJSON(t *testing.T) {
	s := loadSample(t)
	if s.Total != 13 {
		t.Errorf("Total %d, want 13", s.Total)
	}
	wantSev := map[string]int{"critical": 4, "high": 3, "medium": 4, "low": 2}
	if d := cmp.Diff(wantSev, s.BySeverity); d != "" {
		t.Errorf("BySeverity (-want +got):\n%s", d)
	}
	if s.Bad != 2 {
		t.Errorf("Bad %d, want 2 (one non-JSON line, one alert without @timestamp)", s.Bad)
	}
	wantBad := []string{
		"testdata/alerts.ndjson:4: not a JSON object",
		"testdata/alerts.ndjson:11: " + ErrNoTimestamp.Error(),
	}
	if d := cmp.Diff(wantBad, s.BadLines); d != "" {
		t.Errorf("BadLines (-want +got):\n%s", d)
	}
	if got := s.ips["203.0.113.7"]; got == nil || got.count != 6 || got.maxIPsum != 9 {
		t.Errorf("planted IP stat %+v, want 6 alerts, IPsum 9", got)
	}
	// The IPv4-mapped address counts for its IPv4 form.
	if got := s.ips["198.51.100.23"]; got == nil || got.count != 4 {
		t.Errorf("198.51.100.23 %+v, want 4 (one written as ::ffff:)", got)
	}
	if s.Retro != 1 || len(s.hosts) != 5 || len(s.ips) != 4 {
		t.Errorf("retro %d hosts %d ips %d", s.Retro, len(s.hosts), len(s.ips))
	}
	if !s.First.Equal(time.Date(2024, 5, 1, 0, 10, 0, 0, time.UTC)) || !s.Last.Equal(time.Date(2024, 5, 3, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("range %s..%s", s.First, s.Last)
	}

	// The same file gzipped gives the same summary.
	raw, _ := os.ReadFile(filepath.Join("testdata", "alerts.ndjson"))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	s2, err := LoadAlertsNDJSON(&gz)
	if err != nil {
		t.Fatal(err)
	}
	if s2.Total != 13 || s2.Bad != 2 {
		t.Errorf("gzip: total %d bad %d", s2.Total, s2.Bad)
	}
}

func TestReadNDJSONEdgeCases(t *testing.T) {
	alert := `{"@timestamp":"2024-05-01T00:00:00Z","source":{"ip":"203.0.113.9"},"edgewatch":{"severity":"high"}}`
	old := maxLine
	maxLine = 1 << 10
	defer func() { maxLine = old }()
	long := `{"@timestamp":"2024-05-01T00:00:00Z","source":{"ip":"203.0.113.9"},"pad":"` + strings.Repeat("x", 300*1024) + `"}`
	tests := []struct {
		name      string
		in        string
		total     int
		bad       int
		firstLine string
	}{
		{"no trailing newline", alert + "\n" + alert, 2, 0, ""},
		{"crlf and blank lines", alert + "\r\n\r\n\n" + alert + "\r\n", 2, 0, ""},
		{"empty input", "", 0, 0, ""},
		{"over-long line is counted and skipped", alert + "\n" + long + "\n" + alert + "\n", 2, 1, "x:2: line longer than 1024 bytes"},
		{"over-long last line without newline", alert + "\n" + long, 1, 1, "x:2: line longer than 1024 bytes"},
		{"bad ip", `{"@timestamp":"2024-05-01T00:00:00Z","source":{"ip":"nope"}}`, 0, 1, "x:1: " + ErrNoSourceIP.Error()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSummary(0)
			if err := s.ReadNDJSON(strings.NewReader(tc.in), "x"); err != nil {
				t.Fatal(err)
			}
			if s.Total != tc.total || s.Bad != tc.bad {
				t.Errorf("total %d bad %d, want %d %d (%v)", s.Total, s.Bad, tc.total, tc.bad, s.BadLines)
			}
			if tc.firstLine != "" && (len(s.BadLines) == 0 || s.BadLines[0] != tc.firstLine) {
				t.Errorf("BadLines %v, want first %q", s.BadLines, tc.firstLine)
			}
		})
	}
}

func TestDecodeAlert(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		want    Alert
		wantErr error
	}{
		{
			name: "full",
			doc: `{"@timestamp":"2024-05-01T02:00:00+02:00","event":{"id":"e1","severity":73},"rule":{"name":"r"},"host":{"id":"d1","name":"web"},
				"source":{"ip":"203.0.113.7","port":5555},"destination":{"ip":"10.0.0.1","port":443},"process":{"name":"w3wp.exe"},
				"edgewatch":{"severity":"high","retro_hunt":true,"internet_facing":{"reason":"PublicScan"},"indicator":{"count":7,"level":7}}}`,
			want: Alert{Timestamp: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), EventID: "e1", SeverityScore: 73, Severity: "high", HostName: "web", HostID: "d1",
				SourceIP: "203.0.113.7", SourcePort: 5555, DestIP: "10.0.0.1", DestPort: 443, Process: "w3wp.exe", IndicatorCount: 7, IndicatorLevel: 7,
				Reason: "PublicScan", Rule: "r", RetroHunt: true},
		},
		{
			name: "hit wrapper, mapped address, severity from score",
			doc:  `{"_index":"edgewatch-alerts-x","_id":"e2","_source":{"@timestamp":"2024-05-01T00:00:00Z","event":{"id":"e2","severity":99},"source":{"ip":"::ffff:198.51.100.1"}}}`,
			want: Alert{Timestamp: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), EventID: "e2", SeverityScore: 99, Severity: "critical", SourceIP: "198.51.100.1"},
		},
		{name: "no timestamp", doc: `{"source":{"ip":"198.51.100.1"}}`, wantErr: ErrNoTimestamp},
		{name: "no source ip", doc: `{"@timestamp":"2024-05-01T00:00:00Z"}`, wantErr: ErrNoSourceIP},
		{name: "not an object", doc: `[1,2]`, wantErr: ErrNotObject},
		{name: "truncated", doc: `{"@timestamp":"2024-05-01T00:00:00Z","source":{"ip":"198.51.100.1"},"host":{"na`, wantErr: ErrTruncated},
		{name: "severity of the wrong type", doc: `{"@timestamp":"2024-05-01T00:00:00Z","source":{"ip":"198.51.100.1"},"event":{"severity":"high"}}`},
		{name: "bad timestamp", doc: `{"@timestamp":"yesterday","source":{"ip":"198.51.100.1"}}`},
		{name: "retro_hunt not a JSON value", doc: `{"@timestamp":"2024-05-01T00:00:00Z","source":{"ip":"198.51.100.1"},"edgewatch":{"retro_hunt":A}}`},
		// jsonparser reports this with field index -1 (it panicked DecodeAlert).
		{name: "malformed between braces", doc: `{}"":}`, wantErr: jsonparser.MalformedJsonError},
		{name: "escaped strings", doc: `{"@timestamp":"2024-05-01T00:00:00Z","source":{"ip":"198.51.100.1"},"host":{"name":"a\"b\u00e9"}}`,
			want: Alert{Timestamp: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), SourceIP: "198.51.100.1", HostName: "a\"bé", Severity: "low"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeAlert([]byte(tc.doc))
			if tc.want.Timestamp.IsZero() {
				if err == nil || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Error(d)
			}
		})
	}
}

func TestLatestIsBounded(t *testing.T) {
	s := NewSummary(3)
	f, err := os.Open(filepath.Join("testdata", "alerts.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := s.ReadNDJSON(f, "a"); err != nil {
		t.Fatal(err)
	}
	got := latest(s)
	var ts []string
	for _, a := range got {
		ts = append(ts, a.Timestamp.Format(time.RFC3339))
	}
	want := []string{"2024-05-03T12:00:00Z", "2024-05-03T02:00:00Z", "2024-05-03T01:00:00Z"}
	if d := cmp.Diff(want, ts); d != "" {
		t.Errorf("latest (-want +got):\n%s", d)
	}
}

func renderSample(t testing.TB, opt Options) []byte {
	t.Helper()
	s := loadSample(t)
	for _, r := range sampleRuns() {
		s.AddRun(r)
	}
	s.SetIndicators(sampleFeed())
	if opt.Now.IsZero() {
		opt.Now = fixedNow
	}
	if opt.Source == "" {
		opt.Source = "testdata/alerts.ndjson"
	}
	var buf bytes.Buffer
	if err := Render(&buf, s, opt); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRenderGolden(t *testing.T) {
	golden.Check(t, filepath.Join("testdata", "report.golden.html"), renderSample(t, Options{}))
}

func TestRenderContent(t *testing.T) {
	page := string(renderSample(t, Options{}))
	for _, want := range []string{
		// top IP first with its count and IPsum count
		`<tr class="drill" tabindex="0" data-filter="ip" data-value="203.0.113.7"><td>203.0.113.7</td><td class="n">6</td><td class="n">6</td><td class="n">9</td></tr>`,
		// the counts data the page's script reads
		`"total":13`, `"critical":4`, `"devices":5`, `"ips":4`,
		// seed columns in the latest table
		`<th>host.name</th><th>source.ip</th><th class="n">destination.port</th><th>process.name</th>`,
		// feed and run health
		`<b id="feed-total">1450</b>`, `<span id="feed-age">26.0 h</span>`,
		`<td>defender-ti</td><td>failed</td><td class="n">1</td><td class="n">30000</td><td class="n">30000</td><td class="n">400000</td>`,
		`<td>defender-ti</td><td>success</td><td class="n">2</td><td class="n">1000</td><td class="n">1200</td><td class="n">120000</td><td class="n">2000</td><td class="n">4</td>`,
		`opensearch: 503 Service Unavailable`,
		`<span id="bad-count">2</span>`,
		// chart: 2-hour buckets over the 61 h span
		`(per 2 hours)`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// The chart's stacked bars add up to the alert count.
	total := 0
	for _, m := range regexp.MustCompile(`<g class="bar" data-total="(\d+)">`).FindAllStringSubmatch(page, -1) {
		var n int
		for _, c := range m[1] {
			n = n*10 + int(c-'0')
		}
		total += n
	}
	if total != 13 {
		t.Errorf("bars add up to %d, want 13", total)
	}
}

// TestRenderGrouped: grouped alerts (--group-by) count their events in the
// events figures, and the latest-alerts table shows each group's event
// count and first and last event; an alert of one event counts one.
func TestRenderGrouped(t *testing.T) {
	docs := []string{
		`{"@timestamp":"2024-05-01T00:10:00Z","event":{"id":"g1","severity":99},"host":{"name":"web-01"},"source":{"ip":"203.0.113.7"},"destination":{"port":443},
		  "edgewatch":{"severity":"critical","suppression":{"docs_count":300,"start":"2024-05-01T00:10:00Z","end":"2024-05-01T23:59:00.5Z"}}}`,
		`{"@timestamp":"2024-05-02T00:00:00Z","event":{"id":"g2","severity":47},"host":{"name":"web-01"},"source":{"ip":"203.0.113.7"},"destination":{"port":443},
		  "edgewatch":{"severity":"medium","suppression":{"docs_count":2,"start":"2024-05-02T00:00:00Z","end":"2024-05-02T01:00:00Z"}}}`,
		`{"@timestamp":"2024-05-02T05:00:00Z","event":{"id":"e3","severity":21},"host":{"name":"mail-01"},"source":{"ip":"198.51.100.23"},"destination":{"port":25},
		  "edgewatch":{"severity":"low"}}`,
	}
	s := NewSummary(0)
	for i, d := range docs {
		s.AddDocument([]byte(strings.ReplaceAll(d, "\n", "")), "t", i+1)
	}
	if s.Bad != 0 || s.Total != 3 || s.Events != 303 {
		t.Fatalf("summary: %d alerts, %d events, %d bad (%v)", s.Total, s.Events, s.Bad, s.BadLines)
	}
	var buf bytes.Buffer
	if err := Render(&buf, s, Options{Now: fixedNow}); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{
		`"total":3,"events":303`,
		`<td>203.0.113.7</td><td class="n">2</td><td class="n">302</td>`,
		`<th class="n">events</th><th>first event</th><th>last event</th>`,
		`<td class="n">300</td><td>2024-05-01 00:10:00Z</td><td>2024-05-01 23:59:00Z</td>`,
		`<td class="n">1</td><td></td><td></td>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// TestRenderSelfContained: one page, no external fetch of any kind, and
// attacker-controlled alert fields are escaped.
func TestRenderSelfContained(t *testing.T) {
	page := string(renderSample(t, Options{}))
	for _, bad := range []*regexp.Regexp{
		regexp.MustCompile(`(?i)\s(src|href|action|srcset|poster|data)\s*=\s*"(?:https?:)?//`),
		regexp.MustCompile(`(?i)<(link|img|iframe|object|embed|audio|video|source)\b`),
		regexp.MustCompile(`(?i)url\(`),
		regexp.MustCompile(`(?i)@import`),
		regexp.MustCompile(`(?i)https?://`),
		regexp.MustCompile(`<script>alert\(1\)</script>`),
	} {
		if loc := bad.FindStringIndex(page); loc != nil {
			t.Errorf("page matches %s at %q", bad, page[loc[0]:min(len(page), loc[1]+40)])
		}
	}
	if !strings.Contains(page, `&lt;script&gt;alert(1)&lt;/script&gt;`) {
		t.Error("the hostile host name is not shown escaped")
	}
	if !strings.Contains(page, `Content-Security-Policy" content="default-src 'none'`) {
		t.Error("no CSP forbidding external loads")
	}
}

func TestRenderEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := Render(&buf, NewSummary(0), Options{Now: fixedNow}); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{"No alerts.", `"total":0`, "No feed information", "No run records"} {
		if !strings.Contains(page, want) {
			t.Errorf("empty page lacks %q", want)
		}
	}
}

func BenchmarkReadNDJSON(b *testing.B) {
	raw, err := os.ReadFile(filepath.Join("testdata", "alerts.ndjson"))
	if err != nil {
		b.Fatal(err)
	}
	var in bytes.Buffer
	for in.Len() < 4<<20 {
		in.Write(raw)
	}
	data := in.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		s := NewSummary(0)
		if err := s.ReadNDJSON(bytes.NewReader(data), "bench"); err != nil {
			b.Fatal(err)
		}
	}
}

// TestRunRecordDecodesStateDoc: a run document of the edgewatch-state index
// (field names of dashboards/templates/edgewatch-state.json) decodes into
// wire.RunRecord.
func TestRunRecordDecodesStateDoc(t *testing.T) {
	doc := `{"type":"run","detection":"d","run_id":"r1","trigger":"schedule","window":{"from":"2024-05-03T12:00:00Z","to":"2024-05-03T12:05:00Z"},
		"started_at":"2024-05-03T12:05:01Z","finished_at":"2024-05-03T12:05:02Z","duration_ms":1000,"outcome":"success","lag_ms":61000,
		"counts":{"events_scanned":5000,"alerts_created":3}}`
	var r wire.RunRecord
	if err := json.Unmarshal([]byte(doc), &r); err != nil {
		t.Fatal(err)
	}
	if r.Detection != "d" || r.StartedAt.IsZero() || r.FinishedAt.IsZero() || r.LagMS != 61000 || r.Counts.EventsScanned != 5000 ||
		r.Counts.AlertsCreated != 3 || r.Window.To.IsZero() || r.Outcome != "success" {
		t.Errorf("decoded %+v", r)
	}
}
