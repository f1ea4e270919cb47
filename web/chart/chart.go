// Package chart draws the admin dashboard's charts as server-side SVG: line charts and vertical
// or horizontal bar charts with axes, tick labels, a legend and a tooltip on every point or bar
// (an SVG <title>, so it works without JavaScript). It draws no colours or styles of its own:
// every element carries a class that web/static/css/analytics.css colours from the theme, so a
// chart follows the light and dark themes and the page's CSP allows no inline styles anyway.
package chart

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// Point is one value of a chart: its category or date label, the value, and the tooltip text
// (the label and the formatted value when empty).
type Point struct {
	Label string
	Value int64
	Tip   string
}

// Chart is one chart's data and how to show it.
type Chart struct {
	ID     string // element id prefix, unique on the page; also the data-testid
	Title  string // accessible name of the SVG
	Series string // legend text
	Points []Point
	// Format turns a value into the text of tick labels and tooltips; nil prints the integer.
	Format func(int64) string
	// LabelEvery shows every n-th category label on the x axis (line and vertical bars); 0 picks one.
	LabelEvery int
	// Width is the drawing's width in SVG user units; 0 is DefaultWidth. The SVG is scaled to
	// its box, text with it, so make it about the width the chart is shown at (DefaultWidth for
	// half a dashboard row, twice that for a whole row): the CSS font sizes are then close to
	// the sizes people see.
	Width int
}

// DefaultWidth is the width of a chart drawn for half a dashboard row at 1280 px.
const DefaultWidth = 480

// Geometry of the drawing, in SVG user units; the CSS scales the whole drawing to its box.
const (
	height       = 260
	padLeft      = 64
	padRight     = 16
	padTop       = 28
	padBottom    = 36
	hLabelWidth  = 150 // horizontal bars: room for category names
	hBarHeight   = 26
	hBarGap      = 8
	hPadTop      = 28
	hPadBottom   = 28
	legendHeight = 14
)

func (c Chart) width() int {
	if c.Width > 0 {
		return c.Width
	}
	return DefaultWidth
}

func (c Chart) format(v int64) string {
	if c.Format != nil {
		return c.Format(v)
	}
	return fmt.Sprint(v)
}

func (c Chart) tip(p Point) string {
	if p.Tip != "" {
		return p.Tip
	}
	return p.Label + ": " + c.format(p.Value)
}

// Line draws the points as a line with a dot (and tooltip) per point.
func Line(c Chart) template.HTML {
	return c.vertical(false)
}

// Bars draws the points as vertical bars.
func Bars(c Chart) template.HTML {
	return c.vertical(true)
}

func (c Chart) vertical(bars bool) template.HTML {
	var b strings.Builder
	width := c.width()
	kind := "line"
	if bars {
		kind = "bar"
	}
	c.open(&b, kind, width, height)
	lo, hi := bounds(c.Points)
	ticks := niceTicks(lo, hi, 4)
	lo, hi = ticks[0], ticks[len(ticks)-1]
	plotW, plotH := float64(width-padLeft-padRight), float64(height-padTop-padBottom)
	y := func(v int64) float64 {
		if hi == lo {
			return float64(padTop) + plotH
		}
		return float64(padTop) + plotH*(1-float64(v-lo)/float64(hi-lo))
	}
	for _, t := range ticks {
		fmt.Fprintf(&b, `<line class="chart-grid" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>`, padLeft, width-padRight, y(t), y(t))
		fmt.Fprintf(&b, `<text class="chart-tick" x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`,
			padLeft-8, y(t), esc(c.format(t)))
	}
	fmt.Fprintf(&b, `<line class="chart-axis" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>`, padLeft, width-padRight, y(lo), y(lo))
	fmt.Fprintf(&b, `<line class="chart-axis" x1="%d" x2="%d" y1="%d" y2="%.1f"/>`, padLeft, padLeft, padTop, y(lo))

	n := len(c.Points)
	every := c.LabelEvery
	if every <= 0 {
		every = max(1, int(math.Ceil(float64(n)/8)))
	}
	slot := plotW / float64(max(n, 1))
	x := func(i int) float64 { return float64(padLeft) + slot*(float64(i)+0.5) }
	for i, p := range c.Points {
		if i%every == 0 || i == n-1 && bars {
			fmt.Fprintf(&b, `<text class="chart-tick" x="%.1f" y="%d" text-anchor="middle">%s</text>`, x(i), height-padBottom+18, esc(p.Label))
		}
	}
	if bars {
		base := y(max(lo, 0))
		bw := math.Max(1, slot*0.7)
		for i, p := range c.Points {
			top, bottom := y(p.Value), base
			if top > bottom {
				top, bottom = bottom, top
			}
			fmt.Fprintf(&b, `<rect class="chart-bar chart-point" x="%.1f" y="%.1f" width="%.1f" height="%.1f" data-value="%d"><title>%s</title></rect>`,
				x(i)-bw/2, top, bw, math.Max(bottom-top, 0.5), p.Value, esc(c.tip(p)))
		}
	} else if n > 0 {
		var path strings.Builder
		for i, p := range c.Points {
			cmd := "L"
			if i == 0 {
				cmd = "M"
			}
			fmt.Fprintf(&path, "%s%.1f %.1f ", cmd, x(i), y(p.Value))
		}
		fmt.Fprintf(&b, `<path class="chart-line" d="%s"/>`, strings.TrimSpace(path.String()))
		r := 3.0
		if n > 60 {
			r = 2
		}
		for i, p := range c.Points {
			fmt.Fprintf(&b, `<circle class="chart-dot chart-point" cx="%.1f" cy="%.1f" r="%.0f" data-value="%d"><title>%s</title></circle>`,
				x(i), y(p.Value), r, p.Value, esc(c.tip(p)))
		}
	}
	c.legend(&b, kind, padLeft)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// HorizontalBars draws one bar per point, top to bottom, with its label on the left and its
// value at the end of the bar: for rankings such as popular plans.
func HorizontalBars(c Chart) template.HTML {
	var b strings.Builder
	width := c.width()
	n := len(c.Points)
	h := hPadTop + hPadBottom + max(n, 2)*(hBarHeight+hBarGap) // room for "No data yet" without bars
	c.open(&b, "hbar", width, h)
	_, hi := bounds(c.Points)
	ticks := niceTicks(0, hi, 4)
	hi = ticks[len(ticks)-1]
	plotW := float64(width - hLabelWidth - padRight - 40)
	x := func(v int64) float64 {
		if hi == 0 {
			return hLabelWidth
		}
		return hLabelWidth + plotW*float64(v)/float64(hi)
	}
	bottom := h - hPadBottom
	for _, t := range ticks {
		fmt.Fprintf(&b, `<line class="chart-grid" x1="%.1f" x2="%.1f" y1="%d" y2="%d"/>`, x(t), x(t), hPadTop, bottom)
		fmt.Fprintf(&b, `<text class="chart-tick" x="%.1f" y="%d" text-anchor="middle">%s</text>`, x(t), bottom+16, esc(c.format(t)))
	}
	fmt.Fprintf(&b, `<line class="chart-axis" x1="%d" x2="%d" y1="%d" y2="%d"/>`, hLabelWidth, hLabelWidth, hPadTop, bottom)
	for i, p := range c.Points {
		top := hPadTop + i*(hBarHeight+hBarGap) + hBarGap/2
		fmt.Fprintf(&b, `<text class="chart-label" x="%d" y="%d" text-anchor="end" dominant-baseline="middle">%s</text>`,
			hLabelWidth-8, top+hBarHeight/2, esc(truncate(p.Label, 18)))
		fmt.Fprintf(&b, `<rect class="chart-bar chart-point" x="%d" y="%d" width="%.1f" height="%d" data-value="%d"><title>%s</title></rect>`,
			hLabelWidth, top, math.Max(x(p.Value)-hLabelWidth, 0.5), hBarHeight, p.Value, esc(c.tip(p)))
		fmt.Fprintf(&b, `<text class="chart-value" x="%.1f" y="%d" dominant-baseline="middle">%s</text>`,
			x(p.Value)+6, top+hBarHeight/2, esc(c.format(p.Value)))
	}
	c.legend(&b, "hbar", hLabelWidth)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func (c Chart) open(b *strings.Builder, kind string, w, h int) {
	fmt.Fprintf(b, `<svg class="chart chart-%s" id="%s" data-testid="%s" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-title" preserveAspectRatio="xMidYMid meet">`,
		kind, esc(c.ID), esc(c.ID), w, h, esc(c.ID))
	fmt.Fprintf(b, `<title id="%s-title">%s</title>`, esc(c.ID), esc(c.Title))
	if len(c.Points) == 0 {
		fmt.Fprintf(b, `<text class="chart-empty" x="%d" y="%d" text-anchor="middle">No data yet</text>`, w/2, h/2)
	}
}

// legend draws the series swatch and name above the plot.
func (c Chart) legend(b *strings.Builder, kind string, x int) {
	if c.Series == "" {
		return
	}
	y := 8
	if kind == "line" {
		fmt.Fprintf(b, `<g class="chart-legend"><line class="chart-line" x1="%d" x2="%d" y1="%d" y2="%d"/>`, x, x+16, y+legendHeight/2, y+legendHeight/2)
	} else {
		fmt.Fprintf(b, `<g class="chart-legend"><rect class="chart-bar" x="%d" y="%d" width="12" height="12"/>`, x, y+1)
	}
	fmt.Fprintf(b, `<text class="chart-legend-text" x="%d" y="%d" dominant-baseline="middle">%s</text></g>`, x+22, y+legendHeight/2, esc(c.Series))
}

func bounds(ps []Point) (lo, hi int64) {
	for _, p := range ps {
		lo, hi = min(lo, p.Value), max(hi, p.Value)
	}
	return lo, hi
}

// niceTicks returns about n+1 evenly spaced round values covering lo..hi (always including 0
// when lo ≥ 0), steps of 1, 2, 2.5 or 5 times a power of ten.
func niceTicks(lo, hi int64, n int) []int64 {
	if hi <= lo {
		hi = lo + 1
	}
	raw := float64(hi-lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	s := int64(math.Max(1, math.Round(step)))
	start := int64(math.Floor(float64(lo)/float64(s))) * s
	var out []int64
	for v := start; ; v += s {
		out = append(out, v)
		if v >= hi {
			break
		}
	}
	return out
}

func esc(s string) string { return template.HTMLEscapeString(s) }

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
