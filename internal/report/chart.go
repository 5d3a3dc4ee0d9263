package report

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// Chart geometry (SVG user units).
const (
	chartW, chartH         = 960, 240
	padL, padR, padT, padB = 48, 12, 10, 34
	maxBars                = 60
)

type chart struct {
	Width, Height int
	PlotX, PlotY  float64 // plot origin (top-left)
	PlotW, PlotH  float64
	Bars          []bar
	YTicks        []tick
	XLabels       []tick
	Interval      string
	Empty         bool
}

type bar struct {
	X, W  float64
	Segs  []seg
	Total int
	Title string
}

type seg struct {
	Y, H  float64
	Color string
	Title string
}

type tick struct {
	X, Y   float64
	Label  string
	Anchor string // SVG text-anchor
}

// intervals are the bucket widths, in hours, the chart can use.
var intervals = []int64{1, 2, 3, 6, 12, 24, 48, 168, 720}

func intervalName(h int64) string {
	switch {
	case h%168 == 0 && h >= 168:
		return fmt.Sprintf("%d week", h/168)
	case h%24 == 0:
		if h == 24 {
			return "1 day"
		}
		return fmt.Sprintf("%d days", h/24)
	case h == 1:
		return "1 hour"
	default:
		return fmt.Sprintf("%d hours", h)
	}
}

// niceCeil rounds up to 1, 2 or 5 times a power of ten.
func niceCeil(v int) int {
	if v <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(float64(v))))
	for _, m := range []float64{1, 2, 5, 10} {
		if float64(v) <= m*p {
			return int(m * p)
		}
	}
	return int(10 * p)
}

// buildChart turns the hourly counts into stacked bars by severity: critical
// at the bottom, then high, medium, low, bucketed so there are at most
// maxBars bars from the first alert to the last.
func buildChart(s *Summary) chart {
	c := chart{Width: chartW, Height: chartH, PlotX: padL, PlotY: padT, PlotW: chartW - padL - padR, PlotH: chartH - padT - padB}
	if s.Total == 0 {
		c.Empty = true
		return c
	}
	firstH, lastH := s.First.Unix()/3600, s.Last.Unix()/3600
	iv := intervals[len(intervals)-1]
	for _, cand := range intervals {
		if (lastH/cand - firstH/cand + 1) <= maxBars {
			iv = cand
			break
		}
	}
	c.Interval = intervalName(iv)
	start, end := firstH/iv, lastH/iv
	n := int(end - start + 1)
	buckets := make([][4]int, n)
	for h, counts := range s.hourly {
		i := int(h/iv - start)
		for k := range counts {
			buckets[i][k] += counts[k]
		}
	}
	peak := 0
	for _, b := range buckets {
		peak = max(peak, b[0]+b[1]+b[2]+b[3])
	}
	yMax := niceCeil(peak)
	slot := c.PlotW / float64(n)
	w := math.Max(1, slot*0.8)
	for i, b := range buckets {
		t0 := time.Unix((start+int64(i))*iv*3600, 0).UTC()
		x := c.PlotX + float64(i)*slot + (slot-w)/2
		br := bar{X: round2(x), W: round2(w), Title: t0.Format("2006-01-02 15:04Z")}
		y := c.PlotY + c.PlotH
		for k, name := range Severities {
			if b[k] == 0 {
				continue
			}
			br.Total += b[k]
			h := c.PlotH * float64(b[k]) / float64(yMax)
			y -= h
			br.Segs = append(br.Segs, seg{
				Y: round2(y), H: round2(h), Color: severityColors[name],
				Title: fmt.Sprintf("%s, %s: %d", t0.Format("2006-01-02 15:04Z"), name, b[k]),
			})
		}
		c.Bars = append(c.Bars, br)
	}
	for _, f := range []float64{0, 0.5, 1} {
		v := float64(yMax) * f
		if f == 0.5 && yMax%2 != 0 {
			continue
		}
		c.YTicks = append(c.YTicks, tick{X: c.PlotX - 6, Y: round2(c.PlotY + c.PlotH - c.PlotH*f), Label: strconv.Itoa(int(v)), Anchor: "end"})
	}
	labelAt := map[int]bool{0: true, n - 1: true, n / 2: true}
	for i := range n {
		if !labelAt[i] {
			continue
		}
		t0 := time.Unix((start+int64(i))*iv*3600, 0).UTC()
		format := "01-02 15:04"
		if iv >= 24 {
			format = "2006-01-02"
		}
		tk := tick{X: round2(c.PlotX + (float64(i)+0.5)*slot), Y: c.PlotY + c.PlotH + 18, Label: t0.Format(format), Anchor: "middle"}
		switch {
		case n > 1 && i == 0:
			tk.X, tk.Anchor = c.PlotX, "start"
		case n > 1 && i == n-1:
			tk.X, tk.Anchor = c.PlotX+c.PlotW, "end"
		}
		c.XLabels = append(c.XLabels, tk)
	}
	return c
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }
