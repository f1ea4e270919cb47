package chart

import (
	"encoding/xml"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func points() []Point {
	return []Point{{Label: "Jan", Value: 1200}, {Label: "Feb", Value: 0}, {Label: "Mar <&>", Value: 4833, Tip: "March: USD 48.33"}}
}

func TestChartsDrawOnePointWithATooltipPerValueAndNoInlineStyles(t *testing.T) {
	for name, svg := range map[string]string{
		"line":  string(Line(Chart{ID: "l", Title: "Line", Series: "MRR", Points: points()})),
		"bars":  string(Bars(Chart{ID: "b", Title: "Bars", Series: "Revenue", Points: points()})),
		"hbars": string(HorizontalBars(Chart{ID: "h", Title: "Plans", Series: "Subscriptions", Points: points()})),
	} {
		if n := strings.Count(svg, `class="chart-bar chart-point"`) + strings.Count(svg, `class="chart-dot chart-point"`); n != 3 {
			t.Errorf("%s: %d data points, want 3:\n%s", name, n, svg)
		}
		if !strings.Contains(svg, "<title>March: USD 48.33</title>") || !strings.Contains(svg, "<title>Jan: 1200</title>") {
			t.Errorf("%s: tooltips missing:\n%s", name, svg)
		}
		if strings.Contains(svg, "style=") || strings.Contains(svg, "fill=") || strings.Contains(svg, "<script") {
			t.Errorf("%s: inline style or script in the SVG:\n%s", name, svg)
		}
		if strings.Contains(svg, "Mar <&>") {
			t.Errorf("%s: label not escaped", name)
		}
		if err := xml.Unmarshal([]byte(svg), new(any)); err != nil && !strings.Contains(err.Error(), "EOF") {
			t.Errorf("%s: not well-formed XML: %v", name, err)
		}
		if !strings.Contains(svg, `class="chart-legend-text"`) || !strings.Contains(svg, `class="chart-tick"`) {
			t.Errorf("%s: no legend or tick labels", name)
		}
	}
}

func TestNiceTicksCoverTheRangeWithRoundSteps(t *testing.T) {
	for _, c := range []struct {
		lo, hi int64
		want   []int64
	}{
		{0, 4833, []int64{0, 2000, 4000, 6000}},
		{0, 100, []int64{0, 25, 50, 75, 100}},
		{-500, 1000, []int64{-500, 0, 500, 1000}},
		{0, 0, []int64{0, 1}},
	} {
		got := niceTicks(c.lo, c.hi, 4)
		if len(got) != len(c.want) {
			t.Errorf("niceTicks(%d, %d) = %v, want %v", c.lo, c.hi, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("niceTicks(%d, %d) = %v, want %v", c.lo, c.hi, got, c.want)
				break
			}
		}
	}
}

func TestChartsAreDrawnAtTheirWidth(t *testing.T) {
	for _, c := range []struct {
		svg  string
		want string
	}{
		{string(Line(Chart{ID: "l", Points: points()})), `viewBox="0 0 480 260"`},
		{string(Bars(Chart{ID: "b", Points: points(), Width: 960})), `viewBox="0 0 960 260"`},
		{string(HorizontalBars(Chart{ID: "h", Points: points(), Width: 600})), `viewBox="0 0 600 `},
	} {
		if !strings.Contains(c.svg, c.want) {
			t.Errorf("want %s in\n%s", c.want, c.svg)
		}
	}
}

// TestEmptyHorizontalBarsLeaveRoomForTheirNote checks that "No data yet" does not sit on the
// legend or the tick labels of an empty ranking.
func TestEmptyHorizontalBarsLeaveRoomForTheirNote(t *testing.T) {
	svg := string(HorizontalBars(Chart{ID: "h", Series: "Active subscriptions"}))
	y := func(class string) float64 {
		m := regexp.MustCompile(`<text class="` + class + `"[^>]* y="([0-9.]+)"`).FindStringSubmatch(svg)
		if m == nil {
			t.Fatalf("no %s text in\n%s", class, svg)
		}
		v, _ := strconv.ParseFloat(m[1], 64)
		return v
	}
	note, legend, tick := y("chart-empty"), y("chart-legend-text"), y("chart-tick")
	if note-legend < 24 || tick-note < 24 {
		t.Errorf("empty note at y=%.0f, legend at %.0f, ticks at %.0f: want 24 units apart at least", note, legend, tick)
	}
}
