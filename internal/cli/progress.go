package cli

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/edgewatch/edgewatch/plugin"
)

// progressInterval throttles the progress line.
const progressInterval = 200 * time.Millisecond

// progressLine draws one self-overwriting status line on a terminal. A nil
// *progressLine (stderr is not a terminal) draws nothing.
type progressLine struct {
	mu     sync.Mutex
	w      io.Writer
	last   time.Time
	p      plugin.Progress
	alerts int
	drawn  bool
	now    func() time.Time
}

func newProgressLine(w io.Writer, enabled bool) *progressLine {
	if !enabled {
		return nil
	}
	return &progressLine{w: w, now: time.Now}
}

// Update records p and redraws if the last draw is old enough or the stage
// changed.
func (l *progressLine) Update(p plugin.Progress) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	stageChanged := p.Stage != l.p.Stage
	l.p = p
	l.drawLocked(stageChanged)
}

// Alerts records the number of alerts written so far.
func (l *progressLine) Alerts(n int) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.alerts = n
	l.drawLocked(false)
}

func (l *progressLine) drawLocked(force bool) {
	now := l.now()
	if !force && now.Sub(l.last) < progressInterval {
		return
	}
	l.last = now
	fmt.Fprintf(l.w, "\r\033[K%s", progressText(l.p, l.alerts))
	l.drawn = true
}

// Clear erases the line (before the summary or an error is printed).
func (l *progressLine) Clear() {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.drawn {
		fmt.Fprint(l.w, "\r\033[K")
		l.drawn = false
	}
}

// progressText renders a progress report: "events: 1,234,567 rows (45%) · 12 alerts".
func progressText(p plugin.Progress, alerts int) string {
	s := p.Stage
	if s == "" {
		s = "starting"
	}
	if p.Done > 0 || p.Total > 0 {
		unit := p.Unit
		if unit == "" {
			unit = "rows"
		}
		if unit == "bytes" {
			s += ": " + humanBytes(p.Done)
		} else {
			s += ": " + groupDigits(p.Done) + " " + unit
		}
		if p.Total > 0 {
			s += fmt.Sprintf(" (%d%%)", p.Done*100/p.Total)
		}
	} else if p.Message != "" {
		s += ": " + p.Message
	}
	if alerts > 0 {
		s += fmt.Sprintf(" · %d alerts", alerts)
	}
	return s
}

func groupDigits(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 || len(s) <= 3 {
		return s
	}
	var out []byte
	for i, c := range []byte(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, c)
	}
	return string(out)
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
