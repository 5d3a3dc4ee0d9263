package incremental

import (
	"time"

	"github.com/edgewatch/edgewatch/plugin/wire"
)

// Plan returns the windows an incremental run at now covers, oldest first:
// [checkpoint − Overlap, now − Delay] (or [now − Delay − InitialLookback,
// now − Delay] when checkpoint is zero, i.e. the first run), split into
// windows of at most MaxWindow, and at most MaxWindows of them. The end is
// truncated to the second. When now − Delay is not after the checkpoint
// (nothing new, or this host's clock is behind the one that committed the
// checkpoint) Plan returns nil: the run is a no-op.
func Plan(now, checkpoint time.Time, c wire.Config) []wire.Window {
	c = c.WithDefaults()
	end := now.Add(-c.Delay.D()).Truncate(time.Second).UTC()
	var start time.Time
	if checkpoint.IsZero() {
		start = end.Add(-c.InitialLookback.D())
	} else {
		if !end.After(checkpoint) {
			return nil
		}
		start = checkpoint.Add(-c.Overlap.D()).UTC()
	}
	return split(start, end, c.MaxWindow.D(), c.MaxWindows)
}

// Split cuts [from, to) into windows of at most maxWindow, oldest first.
func Split(from, to time.Time, maxWindow time.Duration) []wire.Window {
	if maxWindow <= 0 {
		maxWindow = wire.DefaultMaxWindow
	}
	return split(from.UTC(), to.UTC(), maxWindow, 0)
}

func split(start, end time.Time, maxWindow time.Duration, limit int) []wire.Window {
	var ws []wire.Window
	for from := start; from.Before(end); {
		to := from.Add(maxWindow)
		if to.After(end) {
			to = end
		}
		ws = append(ws, wire.Window{From: from, To: to})
		from = to
		if limit > 0 && len(ws) == limit {
			break
		}
	}
	return ws
}
