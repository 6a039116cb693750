package scenarios

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strconv"

	"github.com/voicesim/voicesim/pipeline"
)

// The HTML views are one self-contained file each: the charts are SVG drawn
// here in Go (readable with JavaScript off, nothing fetched), the CSS and a
// small optional hover script are inline in the templates.

//go:embed templates/*.tmpl
var templateFS embed.FS

// pages is parsed once and only executed afterwards: read-only state.
var pages = template.Must(template.New("pages").Funcs(template.FuncMap{
	"f1":     func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) },
	"ms":     fmtMS,
	"add":    func(a, b float64) float64 { return a + b },
	"sub":    func(a, b int64) int64 { return a - b },
	"slice3": func() []int { return []int{0, 1, 2} },
	// tbl hands a table template its column names and rows.
	"tbl": func(archs []string, rows any) tableArgs { return tableArgs{archs, rows} },
}).ParseFS(templateFS, "templates/*.tmpl"))

type tableArgs struct {
	Archs []string
	Rows  any
}

// medianTurn picks the turn the waterfall shows: the first answered turn
// (normally turn 0) of the run labelled "median".
func medianTurn(a *ArchReport) (pipeline.TurnMetrics, bool) {
	for _, rt := range a.Representative {
		if rt.Label != "median" {
			continue
		}
		for _, t := range rt.Turns {
			if len(t.Breakdown) > 0 {
				return t, true
			}
		}
	}
	return pipeline.TurnMetrics{}, false
}

// waterfalls draws, per architecture, its median turn's critical path as
// spans on one time axis shared by the scenario's architectures, measured
// from the true end of user speech.
func waterfalls(sid string, archs []ArchReport) []chart {
	rel := func(t pipeline.TurnMetrics, d int64) float64 { return float64(d-int64(t.SpeechEnd)) / 1e6 }
	lo, hi := 0.0, 0.0
	for i := range archs {
		if t, ok := medianTurn(&archs[i]); ok {
			for _, s := range t.Breakdown {
				lo = min(lo, rel(t, int64(s.Start)), rel(t, int64(s.End)))
				hi = max(hi, rel(t, int64(s.Start)), rel(t, int64(s.End)))
			}
		}
	}
	ticks := niceTicks(lo, hi, 6)
	var out []chart
	for i := range archs {
		a := &archs[i]
		id := fmt.Sprintf("%s-waterfall-%d", sid, i)
		t, ok := medianTurn(a)
		if !ok {
			out = append(out, chart{Kind: "waterfall", ID: id, Arch: a.Name, Note: a.Name + ": no answered turn in the median run"})
			continue
		}
		rows := len(t.Breakdown) + 1
		c := chart{Kind: "waterfall", ID: id, Arch: a.Name, Points: len(t.Breakdown), W: chartW,
			H:     8 + float64(rows)*rowH + axisPad,
			Title: fmt.Sprintf("%s: median run, turn %d, ms after the user stopped speaking", a.Name, t.Turn),
			Plot:  svgBox{labelW, 4, chartW - labelW - rightW, float64(rows)*rowH + 4}}
		s := scale{ticks[0], ticks[len(ticks)-1], c.Plot.X, c.Plot.X + c.Plot.W}
		c.xAxis(s, ticks)
		for j, seg := range append(t.Breakdown, pipeline.Segment{Name: pipeline.MetricVoiceToVoice, Start: t.SpeechEnd, End: t.Breakdown[len(t.Breakdown)-1].End}) {
			y := 8 + float64(j)*rowH
			x0, x1 := s.at(rel(t, int64(seg.Start))), s.at(rel(t, int64(seg.End)))
			d := fmtMS(float64(seg.Duration().Microseconds()) / 1000)
			fill, class := stageColor(seg.Name), "span"
			if j == len(t.Breakdown) {
				fill, class = "#334155", "span total"
			}
			c.Rects = append(c.Rects, svgRect{X: min(x0, x1), Y: y, W: max(math.Abs(x1-x0), 1.5), H: barH, Fill: fill,
				Class: class, Arch: a.Name, Stage: seg.Name, MS: d, Tip: seg.Name + ": " + d + " ms"})
			c.Texts = append(c.Texts, svgText{labelW - 8, y + barH - 3, seg.Name, "end", "label"},
				svgText{max(x0, x1) + 5, y + barH - 3, d + " ms", "start", "value"})
		}
		out = append(out, c)
	}
	return out
}

// cdfSeries is one architecture's voice_to_voice distribution.
type cdfSeries struct {
	Arch, Color   string
	Points        [][2]float64
	P50, P95, P99 float64
}

// cdfChart overlays cumulative distributions on one ms axis. The axis ends
// a little past the largest p99 so the body of every curve stays readable;
// the rare tail beyond is clipped (the tables give max).
func cdfChart(id, title string, series []cdfSeries) chart {
	c := chart{Kind: "cdf", ID: id, Title: title, W: chartW, H: 300, Plot: svgBox{56, 12, chartW - 56 - 24, 300 - 12 - 40}}
	hi := 0.0
	for _, s := range series {
		hi = max(hi, s.P99*1.15)
		c.Points += len(s.Points)
	}
	if c.Points == 0 {
		c.Note = "no voice_to_voice values"
		return c
	}
	ticks := niceTicks(0, hi, 7)
	p := c.Plot
	xs := scale{0, ticks[len(ticks)-1], p.X, p.X + p.W}
	ys := scale{0, 1, p.Y + p.H, p.Y}
	c.Axis = &axisMap{xs.R0, xs.R1, xs.D0, xs.D1}
	c.xAxis(xs, ticks)
	for _, f := range []float64{0, 0.25, 0.5, 0.75, 1} {
		c.Lines = append(c.Lines, svgLine{p.X, ys.at(f), p.X + p.W, ys.at(f), "grid"})
		c.Texts = append(c.Texts, svgText{p.X - 6, ys.at(f) + 4, strconv.FormatFloat(f*100, 'f', -1, 64) + "%", "end", "tick"})
	}
	// The p95 line, labelled at the right where no curve's body is.
	c.Lines = append(c.Lines, svgLine{p.X, ys.at(0.95), p.X + p.W, ys.at(0.95), "grid strong"})
	c.Texts = append(c.Texts, svgText{p.X + p.W - 2, ys.at(0.95) + 11, "p95", "end", "tick"})
	// Reference gaps from the turn-taking literature (DESIGN: Stivers et
	// al.; Daily): what the user's ear compares the curves against.
	for _, ref := range []struct {
		ms    float64
		label string
	}{{200, "200 ms human gap"}, {800, "800 ms feels slow"}} {
		if ref.ms < xs.D1 {
			x := xs.at(ref.ms)
			c.Lines = append(c.Lines, svgLine{x, p.Y, x, p.Y + p.H, "ref"})
			c.Texts = append(c.Texts, svgText{x + 4, p.Y + 12, ref.label, "start", "ref-label"})
		}
	}
	for _, s := range series {
		if len(s.Points) == 0 {
			continue
		}
		d := fmt.Sprintf("M%.1f,%.1f", xs.at(s.Points[0][0]), ys.at(0))
		for _, pt := range s.Points {
			d += fmt.Sprintf("H%.1fV%.1f", xs.at(pt[0]), ys.at(pt[1]))
		}
		d += fmt.Sprintf("H%.1f", p.X+p.W)
		c.Paths = append(c.Paths, svgPath{D: d, Stroke: s.Color, Class: "curve", Arch: s.Arch, Points: len(s.Points)})
	}
	return c
}

// seriesOf restores an architecture's voice_to_voice histogram for its
// CDF; where names the data in the error.
func seriesOf(where string, i int, a *ArchReport) (cdfSeries, error) {
	s := cdfSeries{Arch: a.Name, Color: archColor(i)}
	sum, ok := a.Metrics[pipeline.MetricVoiceToVoice]
	if !ok || sum.Count == 0 {
		return s, nil
	}
	h, err := pipeline.HistogramFromSummary(sum)
	if err != nil {
		return s, fmt.Errorf("%s, %s, %s: %w", where, a.Name, pipeline.MetricVoiceToVoice, err)
	}
	s.Points, s.P50, s.P95, s.P99 = h.CDF(), sum.P50, sum.P95, sum.P99
	return s, nil
}

// breakdownChart stacks each architecture's mean critical-path segments
// into one bar, all bars on one axis so their lengths compare.
func breakdownChart(id string, archs []ArchReport) chart {
	c := chart{Kind: "breakdown", ID: id, Title: "mean critical-path breakdown per architecture, ms", W: chartW}
	hi := 0.0
	for _, a := range archs {
		sum := 0.0
		for _, s := range a.Breakdown {
			sum += max(s.Mean, 0)
		}
		hi = max(hi, sum)
	}
	if hi == 0 {
		c.Note = "no answered turns: nothing to break down"
		return c
	}
	c.H = 8 + float64(len(archs))*34 + axisPad
	c.Plot = svgBox{labelW, 4, chartW - labelW - rightW, float64(len(archs))*34 + 4}
	ticks := niceTicks(0, hi, 6)
	s := scale{0, ticks[len(ticks)-1], c.Plot.X, c.Plot.X + c.Plot.W}
	c.xAxis(s, ticks)
	for i, a := range archs {
		y, acc := 10+float64(i)*34, 0.0
		c.Texts = append(c.Texts, svgText{labelW - 8, y + 15, a.Name, "end", "label"})
		for _, seg := range a.Breakdown {
			// A negative mean (a full-duplex model answering before the
			// user finished) has no length to stack; the table shows it.
			if seg.Mean <= 0 {
				continue
			}
			x0, x1 := s.at(acc), s.at(acc+seg.Mean)
			acc += seg.Mean
			c.Points++
			c.Rects = append(c.Rects, svgRect{X: x0, Y: y, W: x1 - x0, H: 20, Fill: stageColor(seg.Name), Class: "seg",
				Arch: a.Name, Stage: seg.Name, MS: fmtMS(seg.Mean), Tip: a.Name + " · " + seg.Name + ": " + fmtMS(seg.Mean) + " ms"})
			if x1-x0 > 44 {
				c.Texts = append(c.Texts, svgText{(x0 + x1) / 2, y + 14, fmtMS(seg.Mean), "middle", "in-bar"})
			}
		}
		c.Texts = append(c.Texts, svgText{s.at(acc) + 6, y + 15, fmtMS(acc) + " ms", "start", "value"})
	}
	return c
}

type legendItem struct{ Name, Color, Note string }

// stageLegend lists the stages the scenario's breakdowns use, in
// critical-path order.
func stageLegend(archs []ArchReport) []legendItem {
	var out []legendItem
	for _, n := range pipeline.CriticalPath() {
		for _, a := range archs {
			if hasSegment(a.Breakdown, n) {
				out = append(out, legendItem{Name: n, Color: stageColor(n)})
				break
			}
		}
	}
	return out
}

func hasSegment(b []SegmentMean, name string) bool {
	return slices.ContainsFunc(b, func(s SegmentMean) bool { return s.Name == name })
}

func segmentMean(b []SegmentMean, name string) float64 {
	for _, s := range b {
		if s.Name == name {
			return s.Mean
		}
	}
	return 0
}

// WriteHTML writes report.html: one self-contained page with, per scenario,
// a waterfall of each architecture's median turn, the voice_to_voice CDFs,
// the stacked mean breakdown, and the latency, interruption and cost tables.
func WriteHTML(w io.Writer, r *Report) error {
	if r == nil {
		return fmt.Errorf("report.html: no report")
	}
	page, err := reportView(r)
	if err != nil {
		return fmt.Errorf("report.html: %w", err)
	}
	if err := pages.ExecuteTemplate(w, "report", page); err != nil {
		return fmt.Errorf("report.html: %w", err)
	}
	return nil
}

// reportPage is what the report template renders.
type reportPage struct {
	Title     string
	Meta      []string
	Scenarios []scenarioView
	Totals    []metricRow
	TotalsInt []interRow
	TotArchs  []string
}

type scenarioView struct {
	ID, Name, Description, File string
	Archs                       []archView
	ArchNames                   []string
	Waterfalls                  []chart
	CDF, Breakdown              chart
	CDFData                     map[string][][2]float64
	Stages                      []legendItem
	Latency                     []metricRow
	Interruptions               []interRow
}

type archView struct {
	Name, Preset, Kind, Color string
	Runs                      int
	V2V                       statCell
	CostConv, Cost1K, Source  string
	CostKnown                 bool
	Figure                    string
}

func reportView(r *Report) (*reportPage, error) {
	p := &reportPage{Title: "voicesim report", Meta: []string{
		fmt.Sprintf("%d scenario(s)", len(r.Scenarios)), fmt.Sprintf("%d runs", r.Runs),
		fmt.Sprintf("seed %d", r.Seed), r.Mode + " clock", r.GeneratedAt}}
	if r.Command != "" {
		p.Meta = append(p.Meta, r.Command)
	}
	for si := range r.Scenarios {
		sc := &r.Scenarios[si]
		sv := scenarioView{ID: fmt.Sprintf("s%d", si), Name: sc.Name, Description: sc.Description, File: sc.File,
			CDFData: map[string][][2]float64{}}
		var series []cdfSeries
		for i := range sc.Architectures {
			a := &sc.Architectures[i]
			s, err := seriesOf("scenario "+sc.Name, i, a)
			if err != nil {
				return nil, err
			}
			series = append(series, s)
			sv.CDFData[a.Name] = s.Points
			conv, k := costCells(a.Cost)
			av := archView{Name: a.Name, Preset: a.Preset, Kind: a.Kind, Color: archColor(i), Runs: a.Runs,
				V2V: statOf(a, pipeline.MetricVoiceToVoice), CostConv: conv, Cost1K: k,
				CostKnown: a.Cost != nil && a.Cost.Known, Figure: figureNote(a)}
			if a.Cost != nil {
				av.Source = a.Cost.Source
			}
			sv.Archs = append(sv.Archs, av)
			sv.ArchNames = append(sv.ArchNames, a.Name)
		}
		sv.Waterfalls = waterfalls(sv.ID, sc.Architectures)
		sv.CDF = cdfChart(sv.ID+"-cdf", sc.Name+": voice_to_voice CDF per architecture", series)
		sv.Breakdown = breakdownChart(sv.ID+"-breakdown", sc.Architectures)
		sv.Stages = stageLegend(sc.Architectures)
		sv.Latency = latencyRows(sc.Architectures, latencyMetrics(unionMetrics(sc.Architectures)))
		sv.Interruptions = interruptionRows(sc.Architectures)
		p.Scenarios = append(p.Scenarios, sv)
	}
	if len(r.Totals) > 0 {
		for _, a := range r.Totals {
			p.TotArchs = append(p.TotArchs, a.Name)
		}
		p.Totals = latencyRows(r.Totals, latencyMetrics(unionMetrics(r.Totals)))
		p.TotalsInt = interruptionRows(r.Totals)
	}
	return p, nil
}

// stageDeltaChart draws B − A of each stage's mean as bars diverging from
// zero: left (green) is time saved, right (red) time added.
func stageDeltaChart(id string, stages []StageDelta) chart {
	c := chart{Kind: "stage-delta", ID: id, Title: "change of each stage's mean, B − A, ms", W: chartW, Points: len(stages)}
	m := 0.0
	for _, s := range stages {
		m = max(m, math.Abs(s.Delta))
	}
	if len(stages) == 0 {
		c.Note = "no critical-path breakdown on either side"
		return c
	}
	ticks := niceTicks(-max(m, 1), max(m, 1), 6)
	c.H = 8 + float64(len(stages))*rowH + axisPad
	c.Plot = svgBox{labelW, 4, chartW - labelW - rightW, float64(len(stages))*rowH + 4}
	s := scale{ticks[0], ticks[len(ticks)-1], c.Plot.X, c.Plot.X + c.Plot.W}
	c.xAxis(s, ticks)
	c.Lines = append(c.Lines, svgLine{s.at(0), c.Plot.Y, s.at(0), c.Plot.Y + c.Plot.H, "axis"})
	for i, st := range stages {
		y := 8 + float64(i)*rowH
		x0, x1 := s.at(0), s.at(st.Delta)
		fill := "#059669"
		if st.Delta > 0 {
			fill = "#dc2626"
		}
		label := "label"
		if st.MovedTheMost {
			label = "label strong"
		}
		d := fmt.Sprintf("%+.1f", st.Delta)
		c.Rects = append(c.Rects, svgRect{X: min(x0, x1), Y: y, W: max(math.Abs(x1-x0), 1), H: barH, Fill: fill, Class: "delta",
			Stage: st.Name, MS: d, Tip: fmt.Sprintf("%s: %s → %s ms (%s)", st.Name, fmtMS(st.A), fmtMS(st.B), d)})
		c.Texts = append(c.Texts, svgText{labelW - 8, y + barH - 3, st.Name, "end", label})
		anchor, tx := "start", max(x0, x1)+5
		if st.Delta < 0 {
			anchor, tx = "end", min(x0, x1)-5
		}
		c.Texts = append(c.Texts, svgText{tx, y + barH - 3, d + " ms", anchor, "value"})
	}
	return c
}

type comparePage struct {
	Title, LabelA, LabelB, ColorA, ColorB string
	Skipped                               []string
	Sections                              []compareSectionView
}

type compareSectionView struct {
	ID, Name    string
	CDF, Stages chart
	CDFData     map[string][][2]float64
	Rows        []compareRow
	MovedMost   *StageDelta
	StageRows   []StageDelta
	Counts      []CountDelta
	V2VA, V2VB  statCell
}

type compareRow struct {
	Metric string
	Cells  []compareCell
}

type compareCell struct{ Stat, A, B, Delta, Class string }

func compareView(c *Comparison) (*comparePage, error) {
	p := &comparePage{Title: "voicesim comparison", LabelA: c.LabelA, LabelB: c.LabelB,
		ColorA: archColor(0), ColorB: archColor(1), Skipped: c.Skipped}
	for i, s := range c.Sections {
		v := compareSectionView{ID: fmt.Sprintf("c%d", i), Name: s.Name, MovedMost: s.MovedMost,
			StageRows: s.Stages, Counts: s.Counts, CDFData: map[string][][2]float64{}}
		var series []cdfSeries
		for j, side := range []struct {
			label string
			a     *ArchReport
		}{{c.LabelA, s.A}, {c.LabelB, s.B}} {
			sr, err := seriesOf(s.Name, j, side.a)
			if err != nil {
				return nil, err
			}
			sr.Arch = side.label
			series = append(series, sr)
			v.CDFData[side.label] = sr.Points
		}
		v.V2VA, v.V2VB = statOf(s.A, pipeline.MetricVoiceToVoice), statOf(s.B, pipeline.MetricVoiceToVoice)
		v.CDF = cdfChart(v.ID+"-cdf", s.Name+": voice_to_voice CDF, A and B", series)
		v.Stages = stageDeltaChart(v.ID+"-stages", s.Stages)
		for _, m := range s.Metrics {
			row := compareRow{Metric: m.Name}
			for _, st := range []string{"p50", "p95", "p99"} {
				cell := compareCell{Stat: st, A: sideStat(m.A, m.InA, st), B: sideStat(m.B, m.InB, st), Delta: fmtDelta(m, st)}
				if m.InA && m.InB && m.Delta(st) < 0 {
					cell.Class = "neg"
				} else if m.InA && m.InB && m.Delta(st) > 0 {
					cell.Class = "pos"
				}
				row.Cells = append(row.Cells, cell)
			}
			v.Rows = append(v.Rows, row)
		}
		p.Sections = append(p.Sections, v)
	}
	return p, nil
}
