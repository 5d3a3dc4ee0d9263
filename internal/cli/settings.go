package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/edgewatch/edgewatch/plugin/wire"
)

// ParseTime reads a window bound: "now", a relative offset from now
// ("-24h", "-7d", "+1h"), an RFC 3339 time, or a date (UTC midnight).
func ParseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return time.Time{}, nil
	case strings.EqualFold(s, "now"):
		return now, nil
	case s[0] == '-' || s[0] == '+':
		d, err := wire.ParseDuration(s[1:])
		if err != nil {
			return time.Time{}, fmt.Errorf("invalid time %q: want now, -24h, -7d, RFC 3339 or YYYY-MM-DD", s)
		}
		if s[0] == '-' {
			d = -d
		}
		return now.Add(d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("invalid time %q: want now, -24h, -7d, RFC 3339 or YYYY-MM-DD", s)
}
