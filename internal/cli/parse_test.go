package cli

import (
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/plugin/wire"
)

func TestParseDuration(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		in   string
		want time.Duration
		err  bool
	}{
		"empty":      {in: "", want: 0},
		"days":       {in: "30d", want: 30 * 24 * time.Hour},
		"days hours": {in: "1d12h", want: 36 * time.Hour},
		"go":         {in: "90m", want: 90 * time.Minute},
		"spaces":     {in: " 2h ", want: 2 * time.Hour},
		"bad":        {in: "soon", err: true},
		"bad days":   {in: "xd", err: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := wire.ParseDuration(tc.in)
			if (err != nil) != tc.err || got != tc.want {
				t.Errorf("ParseDuration(%q) = %v, %v", tc.in, got, err)
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	tests := map[string]struct {
		in   string
		want time.Time
		err  bool
	}{
		"empty":        {in: "", want: time.Time{}},
		"now":          {in: "now", want: now},
		"NOW":          {in: "NOW", want: now},
		"minus hours":  {in: "-24h", want: now.Add(-24 * time.Hour)},
		"minus days":   {in: "-7d", want: now.Add(-7 * 24 * time.Hour)},
		"plus":         {in: "+1h", want: now.Add(time.Hour)},
		"rfc3339":      {in: "2026-01-02T03:04:05Z", want: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		"rfc3339 nano": {in: "2026-01-02T03:04:05.5+01:00", want: time.Date(2026, 1, 2, 2, 4, 5, 5e8, time.UTC)},
		"date":         {in: "2026-01-02", want: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)},
		"bad":          {in: "yesterday", err: true},
		"bad relative": {in: "-1y", err: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseTime(tc.in, now)
			if (err != nil) != tc.err || !got.Equal(tc.want) {
				t.Errorf("ParseTime(%q) = %v, %v", tc.in, got, err)
			}
		})
	}
}
