package scenarios

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/voicesim/voicesim/pipeline"
)

// Comparison puts architecture ArchA of report A next to architecture
// ArchB of report B: per scenario the two report have in common, then the
// totals over those scenarios. Deltas are always B − A, so with A the
// baseline a negative delta means B is faster.
type Comparison struct {
	ArchA, ArchB string
	// LabelA and LabelB name the sides in the views; Compare sets them to
	// the architecture names and a caller may replace them (file names).
	LabelA, LabelB string
	// Sections are the matched scenarios in report A's order, then the
	// totals (Totals true, Name "totals").
	Sections []Section
	// Skipped says which scenarios could not be compared and why.
	Skipped []string
}

// Section compares one scenario (or the totals).
type Section struct {
	Name   string // scenario name, or "totals"
	Totals bool
	// A and B are the two sides; for the totals, merged from the matched
	// scenarios' histograms.
	A, B      *ArchReport
	Metrics   []MetricDelta
	Stages    []StageDelta
	MovedMost *StageDelta // the stage whose mean moved most; nil if none
	Counts    []CountDelta
}

// MetricDelta is one metric on both sides. InA/InB say whether the side
// measured it at all (a native architecture has no stt_final).
type MetricDelta struct {
	Name     string
	A, B     pipeline.Summary
	InA, InB bool
}

// Stat returns a statistic ("p50", "p90", "p95", "p99", "mean", "min",
// "max", "count") of a summary, false for an unknown name.
func Stat(s pipeline.Summary, stat string) (float64, bool) {
	switch stat {
	case "p50":
		return s.P50, true
	case "p90":
		return s.P90, true
	case "p95":
		return s.P95, true
	case "p99":
		return s.P99, true
	case "mean":
		return s.Mean, true
	case "min":
		return s.Min, true
	case "max":
		return s.Max, true
	case "count":
		return float64(s.Count), true
	}
	return 0, false
}

// Delta returns B − A of a statistic.
func (m MetricDelta) Delta(stat string) float64 {
	a, _ := Stat(m.A, stat)
	b, _ := Stat(m.B, stat)
	return b - a
}

// Rel returns the delta as a percentage of A; false when A is zero.
func (m MetricDelta) Rel(stat string) (float64, bool) {
	a, _ := Stat(m.A, stat)
	if a == 0 {
		return 0, false
	}
	return m.Delta(stat) / a * 100, true
}

// StageDelta is a critical-path segment's mean on both sides (0 where a
// side has no such segment) and B − A.
type StageDelta struct {
	Name         string
	A, B, Delta  float64
	InA, InB     bool
	MovedTheMost bool
}

// CountDelta is a count (barge-ins, false interruptions…) on both sides.
type CountDelta struct {
	Name string
	A, B int64
}

// Compare compares architecture archA of report a with archB of report b.
// a and b may be the same report (two architectures side by side) and
// archA may equal archB (one architecture before and after a change).
// Scenarios are matched by name; two single-scenario reports are compared
// whatever their names. A scenario that only one side has, or that lacks
// one of the architectures, is listed in Skipped; it is an error when an
// architecture appears nowhere or nothing can be compared.
func Compare(a, b *Report, archA, archB string) (*Comparison, error) {
	if a == nil || b == nil {
		return nil, fmt.Errorf("compare: missing report")
	}
	if err := hasArch(a, "A", archA); err != nil {
		return nil, err
	}
	if err := hasArch(b, "B", archB); err != nil {
		return nil, err
	}
	c := &Comparison{ArchA: archA, ArchB: archB, LabelA: archA, LabelB: archB}
	if archA == archB {
		c.LabelA, c.LabelB = "A: "+archA, "B: "+archB
	}
	var as, bs []*ArchReport
	for i := range a.Scenarios {
		sa := &a.Scenarios[i]
		sb := findScenario(b, sa.Name)
		name := sa.Name
		if sb == nil && len(a.Scenarios) == 1 && len(b.Scenarios) == 1 {
			sb = &b.Scenarios[0]
			name = sa.Name + " vs " + sb.Name
		}
		if sb == nil {
			c.Skipped = append(c.Skipped, fmt.Sprintf("scenario %q: not in report B (B has: %s)", sa.Name, scenarioNames(b)))
			continue
		}
		xa, xb := sa.Arch(archA), sb.Arch(archB)
		if xa == nil || xb == nil {
			side, s, arch := "A", sa, archA
			if xa != nil {
				side, s, arch = "B", sb, archB
			}
			c.Skipped = append(c.Skipped, fmt.Sprintf("scenario %q: report %s has no architecture %q there (has: %s)", s.Name, side, arch, archNames(s.Architectures)))
			continue
		}
		c.Sections = append(c.Sections, newSection(name, xa, xb))
		as, bs = append(as, xa), append(bs, xb)
	}
	for i := range b.Scenarios {
		if findScenario(a, b.Scenarios[i].Name) == nil && !(len(a.Scenarios) == 1 && len(b.Scenarios) == 1) {
			c.Skipped = append(c.Skipped, fmt.Sprintf("scenario %q: not in report A (A has: %s)", b.Scenarios[i].Name, scenarioNames(a)))
		}
	}
	if len(c.Sections) == 0 {
		return nil, fmt.Errorf("compare %s vs %s: no scenario to compare: %s", archA, archB, strings.Join(c.Skipped, "; "))
	}
	ta, err := mergeArchs(archA, as, c.Sections)
	if err != nil {
		return nil, fmt.Errorf("compare: report A: %w", err)
	}
	tb, err := mergeArchs(archB, bs, c.Sections)
	if err != nil {
		return nil, fmt.Errorf("compare: report B: %w", err)
	}
	tot := newSection("totals", ta, tb)
	tot.Totals = true
	c.Sections = append(c.Sections, tot)
	return c, nil
}

func hasArch(r *Report, side, arch string) error {
	for _, s := range r.Scenarios {
		if s.Arch(arch) != nil {
			return nil
		}
	}
	var all []ArchReport
	for _, s := range r.Scenarios {
		all = append(all, s.Architectures...)
	}
	return fmt.Errorf("compare: report %s has no architecture %q (has: %s)", side, arch, archNames(all))
}

func findScenario(r *Report, name string) *ScenarioReport {
	for i := range r.Scenarios {
		if r.Scenarios[i].Name == name {
			return &r.Scenarios[i]
		}
	}
	return nil
}

func scenarioNames(r *Report) string {
	var n []string
	for _, s := range r.Scenarios {
		n = append(n, s.Name)
	}
	return listOrNone(n)
}

func archNames(as []ArchReport) string {
	var n []string
	for _, a := range as {
		if !slices.Contains(n, a.Name) {
			n = append(n, a.Name)
		}
	}
	return listOrNone(n)
}

func listOrNone(n []string) string {
	if len(n) == 0 {
		return "none"
	}
	return strings.Join(n, ", ")
}

func newSection(name string, a, b *ArchReport) Section {
	s := Section{Name: name, A: a, B: b}
	u := unionMetrics([]ArchReport{*a, *b})
	for _, n := range MetricOrder(u) {
		ma, okA := a.Metrics[n]
		mb, okB := b.Metrics[n]
		s.Metrics = append(s.Metrics, MetricDelta{Name: n, A: ma, B: mb, InA: okA, InB: okB})
	}
	for _, n := range pipeline.CriticalPath() {
		inA, inB := hasSegment(a.Breakdown, n), hasSegment(b.Breakdown, n)
		if !inA && !inB {
			continue
		}
		ma, mb := segmentMean(a.Breakdown, n), segmentMean(b.Breakdown, n)
		s.Stages = append(s.Stages, StageDelta{Name: n, A: ma, B: mb, Delta: mb - ma, InA: inA, InB: inB})
	}
	for i := range s.Stages {
		if s.MovedMost == nil || math.Abs(s.Stages[i].Delta) > math.Abs(s.MovedMost.Delta) {
			s.MovedMost = &s.Stages[i]
		}
	}
	if s.MovedMost != nil {
		s.MovedMost.MovedTheMost = true
	}
	for _, n := range []string{"turns", "answered", "barge_ins", "false_interruption", "missed_interruption",
		"premature_endpoint", "premature_audible", "backchannels", "truncated"} {
		s.Counts = append(s.Counts, CountDelta{Name: n, A: a.Counts[n], B: b.Counts[n]})
	}
	return s
}

// mergeArchs merges one side's matched scenarios into its totals: metrics
// by merging the encoded histograms (exact percentiles of the union, not
// an average of percentiles), counts and runs by summing, the breakdown as
// answered-turn-weighted means. Report.Totals is not used because it spans
// every scenario of its report, which need not be the compared ones.
func mergeArchs(name string, parts []*ArchReport, secs []Section) (*ArchReport, error) {
	out := &ArchReport{Name: name, Metrics: map[string]pipeline.Summary{}, Counts: map[string]int64{}}
	hists := map[string]*pipeline.Histogram{}
	wsum, msum := map[string]float64{}, map[string]float64{}
	known, costSum := true, 0.0
	for i, p := range parts {
		out.Runs += p.Runs
		out.Preset, out.Kind, out.Figure = p.Preset, p.Kind, p.Figure
		for m, s := range p.Metrics {
			h, err := pipeline.HistogramFromSummary(s)
			if err != nil {
				return nil, fmt.Errorf("scenario %s, %s, metric %s: %w", secs[i].Name, name, m, err)
			}
			if hists[m] == nil {
				hists[m] = pipeline.NewHistogram()
			}
			hists[m].Merge(h)
		}
		for k, v := range p.Counts {
			out.Counts[k] += v
		}
		w := float64(max(p.Counts["answered"], 1))
		for _, seg := range p.Breakdown {
			wsum[seg.Name] += w
			msum[seg.Name] += seg.Mean * w
		}
		if p.Cost == nil || !p.Cost.Known {
			known = false
		} else {
			costSum += p.Cost.PerConversation * float64(p.Runs)
		}
	}
	for m, h := range hists {
		out.Metrics[m] = h.Summary()
	}
	for _, n := range pipeline.CriticalPath() {
		if wsum[n] > 0 {
			out.Breakdown = append(out.Breakdown, SegmentMean{Name: n, Mean: math.Round(msum[n]/wsum[n]*1000) / 1000})
		}
	}
	out.Cost = &Cost{Known: known && out.Runs > 0}
	if out.Cost.Known {
		out.Cost.PerConversation = round6(costSum / float64(out.Runs))
		out.Cost.Per1KConversations = round6(costSum / float64(out.Runs) * 1000)
	}
	return out, nil
}

// WriteHTML writes the comparison as one self-contained page, like
// report.html: per section the voice_to_voice CDFs of both sides, a
// diverging per-stage delta chart and the metric and count tables.
func (c *Comparison) WriteHTML(w io.Writer) error {
	page, err := compareView(c)
	if err != nil {
		return fmt.Errorf("compare.html: %w", err)
	}
	if err := pages.ExecuteTemplate(w, "compare", page); err != nil {
		return fmt.Errorf("compare.html: %w", err)
	}
	return nil
}
