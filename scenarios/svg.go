package scenarios

// SVG primitives for the report and comparison pages: charts are drawn in
// Go as plain shapes, so the pages read with JavaScript off.

import (
	"math"
	"strconv"

	"github.com/voicesim/voicesim/pipeline"
)

// chart is an SVG chart as plain shapes, so one template draws every kind.
// Kind becomes the class ("chart waterfall"), Points the data-points count.
type chart struct {
	Kind, ID, Arch, Title string
	Points                int
	W, H                  float64
	// Plot is the plotting area; paths are clipped to it. Axis maps it to
	// the data domain for the hover script (CDF only).
	Plot  svgBox
	Axis  *axisMap
	Lines []svgLine
	Rects []svgRect
	Paths []svgPath
	Texts []svgText
	// Note replaces the chart when there is nothing to draw.
	Note string
}

type svgBox struct{ X, Y, W, H float64 }
type axisMap struct{ X0, X1, D0, D1 float64 }
type svgLine struct {
	X1, Y1, X2, Y2 float64
	Class          string
}
type svgRect struct {
	X, Y, W, H                   float64
	Fill, Class, Arch, Stage, MS string
	Tip                          string
}
type svgPath struct {
	D, Stroke, Class, Arch string
	Points                 int
}
type svgText struct {
	X, Y             float64
	S, Anchor, Class string
}

// scale maps a data domain [D0, D1] onto pixels [R0, R1].
type scale struct{ D0, D1, R0, R1 float64 }

func (s scale) at(v float64) float64 {
	if s.D1 == s.D0 {
		return s.R0
	}
	return s.R0 + (v-s.D0)/(s.D1-s.D0)*(s.R1-s.R0)
}

// niceTicks returns about n round ticks (1, 2 or 5 × 10^k apart) that
// cover [lo, hi], so axes read "0 200 400 ms" rather than odd values.
func niceTicks(lo, hi float64, n int) []float64 {
	if hi <= lo {
		hi = lo + 1
	}
	raw := (hi - lo) / float64(max(n, 1))
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * mag
	for _, m := range []struct{ below, step float64 }{{1.5, 1}, {3, 2}, {7, 5}} {
		if raw/mag < m.below {
			step = m.step * mag
			break
		}
	}
	var out []float64
	for i := math.Floor(lo / step); ; i++ {
		// Through a decimal string so 3 × 0.2 prints as 0.6.
		v, _ := strconv.ParseFloat(strconv.FormatFloat(i*step, 'g', 10, 64), 64)
		out = append(out, v)
		if v >= hi {
			return out
		}
	}
}

// xAxis draws vertical grid lines and "N ms" labels under the plot.
func (c *chart) xAxis(s scale, ticks []float64) {
	p := c.Plot
	for _, t := range ticks {
		x := s.at(t)
		c.Lines = append(c.Lines, svgLine{x, p.Y, x, p.Y + p.H, "grid"})
		c.Texts = append(c.Texts, svgText{x, p.Y + p.H + 14, strconv.FormatFloat(t, 'f', -1, 64) + " ms", "middle", "tick"})
	}
	c.Lines = append(c.Lines, svgLine{p.X, p.Y + p.H, p.X + p.W, p.Y + p.H, "axis"})
}

// stageColor gives each critical-path stage one colour in every chart.
func stageColor(name string) string {
	c, ok := map[string]string{
		pipeline.MetricNetworkUp: "#8da0cb", pipeline.MetricEndpointing: "#f28e2b", pipeline.MetricSTTFinal: "#edc948",
		pipeline.MetricLLMQueue: "#bab0ac", pipeline.MetricLLMTTFT: "#4e79a7", pipeline.MetricSentenceAggregation: "#76b7b2",
		pipeline.MetricTTSTTFB: "#59a14f", pipeline.MetricNativeTTFA: "#b07aa1", pipeline.MetricNetworkDown: "#9c755f",
		pipeline.MetricPlayout: "#ff9da7",
	}[name]
	if !ok {
		return "#9aa1a9"
	}
	return c
}

func archColor(i int) string {
	palette := []string{"#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2", "#db2777"}
	return palette[i%len(palette)]
}

const (
	chartW  = 920.0
	labelW  = 170.0
	rightW  = 90.0
	rowH    = 22.0
	barH    = 14.0
	axisPad = 26.0
)
