package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/plugin"
)

func TestProgressText(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		p      plugin.Progress
		alerts int
		want   string
	}{
		"zero":        {want: "starting"},
		"message":     {p: plugin.Progress{Stage: "indicators", Message: "loading"}, want: "indicators: loading"},
		"rows":        {p: plugin.Progress{Stage: "events", Done: 1234567, Unit: "rows"}, want: "events: 1,234,567 rows"},
		"percent":     {p: plugin.Progress{Stage: "events", Done: 50, Total: 200}, want: "events: 50 rows (25%)"},
		"bytes":       {p: plugin.Progress{Stage: "events", Done: 3 << 20, Unit: "bytes"}, want: "events: 3.0 MiB"},
		"with alerts": {p: plugin.Progress{Stage: "events", Done: 1}, alerts: 7, want: "events: 1 rows · 7 alerts"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := progressText(tc.p, tc.alerts); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestProgressLineThrottles(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l := newProgressLine(&buf, true)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l.now = func() time.Time { return now }
	l.Update(plugin.Progress{Stage: "events", Done: 1})
	l.Update(plugin.Progress{Stage: "events", Done: 2}) // too soon: not drawn
	now = now.Add(progressInterval)
	l.Update(plugin.Progress{Stage: "events", Done: 3})
	l.Update(plugin.Progress{Stage: "write"}) // stage change: drawn at once
	l.Clear()
	out := buf.String()
	if strings.Contains(out, "events: 2 rows") || !strings.Contains(out, "events: 3 rows") || !strings.Contains(out, "write") {
		t.Errorf("drawn: %q", out)
	}
	if !strings.HasSuffix(out, "\r\033[K") {
		t.Errorf("Clear did not erase the line: %q", out)
	}
	var none *progressLine = newProgressLine(&buf, false)
	none.Update(plugin.Progress{Stage: "x"}) // a nil line is a no-op
	none.Clear()
}
