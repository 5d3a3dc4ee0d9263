package correlation

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestNewGroupSpec(t *testing.T) {
	tests := []struct {
		name    string
		fields  []string
		window  time.Duration
		wantErr string
		want    time.Duration
	}{
		{name: "none", fields: nil},
		{name: "default window", fields: []string{"host.id"}, want: 24 * time.Hour},
		{name: "three fields", fields: []string{"host.id", "source.ip", "destination.port"}, window: time.Hour, want: time.Hour},
		{name: "four fields", fields: []string{"host.id", "source.ip", "destination.port", "process.name"}, wantErr: "at most 3"},
		{name: "unknown field", fields: []string{"host.ip"}, wantErr: `"host.ip": not a field`},
		{name: "repeated field", fields: []string{"source.ip", "source.ip"}, wantErr: "twice"},
		{name: "window without fields", window: time.Hour, wantErr: "without group-by"},
		{name: "window too short", fields: []string{"host.id"}, window: 30 * time.Second, wantErr: "whole seconds between"},
		{name: "window not whole seconds", fields: []string{"host.id"}, window: time.Minute + time.Millisecond, wantErr: "whole seconds"},
		{name: "window too long", fields: []string{"host.id"}, window: 400 * 24 * time.Hour, wantErr: "whole seconds between"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, err := NewGroupSpec(tc.fields, tc.window)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if g.Enabled() != (len(tc.fields) > 0) || g.Window != tc.want {
				t.Errorf("spec = %+v", g)
			}
		})
	}
}

func TestWindowOfAlignedToUTC(t *testing.T) {
	tests := []struct {
		name   string
		window time.Duration
		t      string
		start  string
	}{
		{"day, afternoon", 24 * time.Hour, "2026-08-22T15:04:05.123Z", "2026-08-22T00:00:00Z"},
		{"day, another zone", 24 * time.Hour, "2026-08-22T01:30:00+02:00", "2026-08-21T00:00:00Z"},
		{"day, exactly midnight", 24 * time.Hour, "2026-08-22T00:00:00Z", "2026-08-22T00:00:00Z"},
		{"hour", time.Hour, "2026-08-22T15:59:59.999Z", "2026-08-22T15:00:00Z"},
		{"7 days from the epoch (a Thursday)", 7 * 24 * time.Hour, "2026-08-22T10:00:00Z", "2026-08-20T00:00:00Z"},
		{"before 1970", 24 * time.Hour, "1969-12-31T23:00:00Z", "1969-12-31T00:00:00Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, err := NewGroupSpec([]string{"host.id"}, tc.window)
			if err != nil {
				t.Fatal(err)
			}
			ts, _ := time.Parse(time.RFC3339Nano, tc.t)
			start, end := g.WindowOf(ts)
			if got := start.Format(time.RFC3339); got != tc.start {
				t.Errorf("start = %s, want %s", got, tc.start)
			}
			if end.Sub(start) != tc.window || ts.Before(start) || !ts.Before(end) {
				t.Errorf("window [%s, %s) does not hold %s", start, end, ts)
			}
		})
	}
}

func groupAlert(id, host, ip string, port int, ts string, sev int) *Alert {
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		panic(err)
	}
	return &Alert{
		Timestamp: t,
		Event:     AlertEvent{ID: id, Severity: sev},
		Host:      AlertHost{ID: host},
		Source:    Endpoint{IP: ip},
		Dest:      Endpoint{Port: port},
		Edgewatch: AlertEdgewatch{Severity: SeverityForScore(sev)},
	}
}

func TestGroupIDIdentity(t *testing.T) {
	spec, _ := NewGroupSpec([]string{"host.id", "source.ip", "destination.port"}, 24*time.Hour)
	a := groupAlert("f1", "dev1", "1.2.3.4", 443, "2026-08-22T10:00:00Z", ScoreLow)
	id := func(g GroupSpec, rule string, a *Alert) string { return g.ID(rule, g.KeyOf(a)) }
	base := id(spec, "r", a)
	if len(base) != 64 {
		t.Fatalf("id %q is not 64 hex digits", base)
	}
	same := []struct {
		name string
		a    *Alert
	}{
		{"later the same day", groupAlert("f2", "dev1", "1.2.3.4", 443, "2026-08-22T23:59:59.999Z", ScoreHigh)},
	}
	for _, tc := range same {
		if got := id(spec, "r", tc.a); got != base {
			t.Errorf("%s: id %s, want %s", tc.name, got, base)
		}
	}
	other := []struct {
		name string
		rule string
		spec GroupSpec
		a    *Alert
	}{
		{"next day", "r", spec, groupAlert("f", "dev1", "1.2.3.4", 443, "2026-08-23T00:00:00Z", ScoreLow)},
		{"other device", "r", spec, groupAlert("f", "dev2", "1.2.3.4", 443, "2026-08-22T10:00:00Z", ScoreLow)},
		{"other port", "r", spec, groupAlert("f", "dev1", "1.2.3.4", 80, "2026-08-22T10:00:00Z", ScoreLow)},
		{"no port", "r", spec, groupAlert("f", "dev1", "1.2.3.4", 0, "2026-08-22T10:00:00Z", ScoreLow)},
		{"other rule", "r2", spec, a},
		{"other window length", "r", GroupSpec{Fields: spec.Fields, Window: 12 * time.Hour}, a},
		{"other field order", "r", GroupSpec{Fields: []string{"source.ip", "host.id", "destination.port"}, Window: spec.Window}, a},
	}
	seen := map[string]string{base: "base"}
	for _, tc := range other {
		got := id(tc.spec, tc.rule, tc.a)
		if prev, dup := seen[got]; dup {
			t.Errorf("%s: id equals %s's", tc.name, prev)
		}
		seen[got] = tc.name
	}
	// A value that holds the separator does not collide with two values.
	s2, _ := NewGroupSpec([]string{"host.id", "host.name"}, time.Hour)
	x := groupAlert("f", "a\x1fhost.name=b", "", 0, "2026-08-22T10:00:00Z", ScoreLow)
	y := groupAlert("f", "a", "", 0, "2026-08-22T10:00:00Z", ScoreLow)
	y.Host.Name = "b"
	if id(s2, "r", x) == id(s2, "r", y) {
		t.Error("separator inside a value collides")
	}
}

func TestGrouper(t *testing.T) {
	spec, _ := NewGroupSpec([]string{"host.id", "source.ip", "destination.port"}, 24*time.Hour)
	g := NewGrouper(spec, "rule")
	in := []*Alert{
		groupAlert("c", "dev1", "1.2.3.4", 443, "2026-08-22T10:00:00Z", ScoreLow),
		groupAlert("b", "dev1", "1.2.3.4", 443, "2026-08-22T09:00:00Z", ScoreHigh),
		groupAlert("a", "dev1", "1.2.3.4", 443, "2026-08-22T09:00:00Z", ScoreMedium), // tie at the start: smaller id first
		groupAlert("z", "dev1", "1.2.3.4", 443, "2026-08-22T12:00:00Z", ScoreLow),
		groupAlert("y", "dev1", "1.2.3.4", 443, "2026-08-22T12:00:00Z", ScoreLow), // tie at the end
		groupAlert("d", "dev1", "1.2.3.4", 443, "2026-08-23T01:00:00Z", ScoreLow), // next window
		groupAlert("e", "dev2", "1.2.3.4", 443, "2026-08-22T08:00:00Z", ScoreCritical),
	}
	for _, a := range in {
		g.Add(a)
	}
	created := time.Date(2026, 8, 24, 0, 0, 0, 0, time.UTC)
	var out []*Alert
	if err := g.Each(created, "run1", func(a *Alert) error {
		out = append(out, a)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if g.Len() != 0 {
		t.Errorf("the Grouper holds %d groups after Each, want none", g.Len())
	}
	type row struct {
		first, start, end, sev string
		count                  int64
	}
	var got []row
	for _, a := range out {
		s := a.Edgewatch.Suppression
		if a.Event.ID != a.Edgewatch.GroupID || a.Event.ID != spec.ID("rule", spec.KeyOf(a)) {
			t.Errorf("group %s: event.id, group_id and the key's id differ", a.Event.ID)
		}
		if !a.Event.Created.Equal(created) || a.Edgewatch.RunID != "run1" {
			t.Errorf("group %s: created %s, run %q", a.Event.ID, a.Event.Created, a.Edgewatch.RunID)
		}
		got = append(got, row{s.FirstEventID, s.Start.Format(time.RFC3339), s.End.Format(time.RFC3339), a.Edgewatch.Severity, s.DocsCount})
	}
	want := []row{
		{"e", "2026-08-22T08:00:00Z", "2026-08-22T08:00:00Z", "critical", 1},
		{"a", "2026-08-22T09:00:00Z", "2026-08-22T12:00:00Z", "high", 5},
		{"d", "2026-08-23T01:00:00Z", "2026-08-23T01:00:00Z", "low", 1},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d groups %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("group %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if in[2].Event.ID != "a" || in[2].Edgewatch.Suppression != nil {
		t.Error("GroupedAlert modified the first event's alert")
	}
	// The document carries the terms in field order and the window.
	doc := out[1].AppendJSON(nil)
	var d struct {
		Edgewatch struct {
			Suppression struct {
				Terms []struct {
					Field string  `json:"field"`
					Value *string `json:"value"`
				} `json:"terms"`
				WindowStart time.Time `json:"window_start"`
				WindowEnd   time.Time `json:"window_end"`
			} `json:"suppression"`
		} `json:"edgewatch"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	s := d.Edgewatch.Suppression
	if len(s.Terms) != 3 || s.Terms[0].Field != "host.id" || *s.Terms[0].Value != "dev1" || *s.Terms[2].Value != "443" {
		t.Errorf("terms = %+v", s.Terms)
	}
	if s.WindowStart.Format(time.RFC3339) != "2026-08-22T00:00:00Z" || s.WindowEnd.Format(time.RFC3339) != "2026-08-23T00:00:00Z" {
		t.Errorf("window = %s .. %s", s.WindowStart, s.WindowEnd)
	}
}

// TestGrouperEachStops: fn's error ends Each at once and is returned.
func TestGrouperEachStops(t *testing.T) {
	spec, _ := NewGroupSpec([]string{"host.id"}, 24*time.Hour)
	g := NewGrouper(spec, "rule")
	for i, dev := range []string{"dev1", "dev2", "dev3"} {
		g.Add(groupAlert(string(rune('a'+i)), dev, "1.2.3.4", 443, "2026-08-22T10:00:00Z", ScoreLow))
	}
	stop := errors.New("stop")
	calls := 0
	err := g.Each(time.Now(), "run1", func(*Alert) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("Each = %v after %d calls, want %v after 1", err, calls, stop)
	}
}

func TestSeverityForScore(t *testing.T) {
	for _, lv := range []int{0, 1, 3, 5, 8} {
		label, score := SeverityForLevel(lv)
		if got := SeverityForScore(score); got != label {
			t.Errorf("level %d: SeverityForScore(%d) = %s, want %s", lv, score, got, label)
		}
	}
}
