package scenarios

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
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

// Gate is a CI check over a comparison, e.g.
//
//	p95(voice_to_voice) > 800ms || delta_p95(voice_to_voice) > 50ms
//
// Conditions are joined by "||" or ","; the gate fails when any is true.
type Gate struct {
	Expr  string
	Conds []Condition
}

// Condition is one test: f(metric[@scenario]) op value. f is a statistic
// (p50, p90, p95, p99, mean, min, max, count), optionally prefixed delta_
// (B − A, in the metric's unit) or rel_ (B − A as a percentage of A).
// Latencies take ms or s, rel_ takes %, count takes a plain number.
type Condition struct {
	Text     string
	Mode     string // "", "delta" or "rel"
	Stat     string
	Metric   string
	Scenario string // "" reads the totals section
	Op       string
	Value    float64 // ms for latencies, percent for rel_, a number for counts
}

// latencyNames are the metrics a latency statistic may name.
func latencyNames() []string {
	return append([]string{pipeline.MetricVoiceToVoice}, append(pipeline.CriticalPath(),
		pipeline.MetricBargeInStop, pipeline.MetricOvertalk)...)
}

// ParseGate parses a gate expression; errors quote the offending part.
func ParseGate(expr string) (Gate, error) {
	g := Gate{Expr: expr}
	if strings.TrimSpace(expr) == "" {
		return g, fmt.Errorf("gate: empty expression")
	}
	for _, or := range strings.Split(expr, "||") {
		for _, part := range strings.Split(or, ",") {
			p := strings.TrimSpace(part)
			if p == "" {
				return g, fmt.Errorf("gate %q: empty condition (a stray \"||\" or \",\"?)", expr)
			}
			c, err := parseCondition(p)
			if err != nil {
				return g, fmt.Errorf("gate %q: %w", expr, err)
			}
			g.Conds = append(g.Conds, c)
		}
	}
	return g, nil
}

func parseCondition(p string) (Condition, error) {
	c := Condition{Text: p}
	open, end := strings.IndexByte(p, '('), strings.IndexByte(p, ')')
	if open < 0 {
		return c, fmt.Errorf("condition %q: expected a statistic of a metric, like p95(voice_to_voice)", p)
	}
	if end < open {
		return c, fmt.Errorf("condition %q: missing \")\" after %q", p, p[open:])
	}
	fn := strings.TrimSpace(p[:open])
	c.Stat = fn
	if s, ok := strings.CutPrefix(fn, "delta_"); ok {
		c.Mode, c.Stat = "delta", s
	} else if s, ok := strings.CutPrefix(fn, "rel_"); ok {
		c.Mode, c.Stat = "rel", s
	}
	if _, ok := Stat(pipeline.Summary{}, c.Stat); !ok {
		return c, fmt.Errorf("condition %q: unknown statistic %q (want p50, p90, p95, p99, mean, min, max or count, optionally prefixed delta_ or rel_)", p, fn)
	}
	metric, scen, _ := strings.Cut(p[open+1:end], "@")
	c.Metric, c.Scenario = strings.TrimSpace(metric), strings.TrimSpace(scen)
	if c.Metric == "" || strings.ContainsAny(c.Metric, " \t(") {
		return c, fmt.Errorf("condition %q: bad metric name %q", p, c.Metric)
	}
	if c.Stat != "count" && !slices.Contains(latencyNames(), c.Metric) {
		return c, fmt.Errorf("condition %q: unknown metric %q (known: %s)", p, c.Metric, strings.Join(latencyNames(), ", "))
	}
	rest := strings.TrimSpace(p[end+1:])
	for _, op := range []string{">=", "<=", "==", "!=", ">", "<"} {
		if strings.HasPrefix(rest, op) {
			c.Op = op
			break
		}
	}
	val := strings.TrimSpace(strings.TrimPrefix(rest, c.Op))
	if c.Op == "" || strings.ContainsAny(val[:min(1, len(val))], "<>=!") {
		bad, _, _ := strings.Cut(rest, " ")
		return c, fmt.Errorf("condition %q: bad comparison %q after %q (want >, >=, <, <=, == or !=)", p, bad, p[:end+1])
	}
	numEnd := strings.IndexFunc(val, func(r rune) bool { return !strings.ContainsRune("+-.0123456789", r) })
	if numEnd < 0 {
		numEnd = len(val)
	}
	n, err := strconv.ParseFloat(val[:numEnd], 64)
	if err != nil {
		return c, fmt.Errorf("condition %q: bad number %q", p, val)
	}
	unit := strings.TrimSpace(val[numEnd:])
	switch {
	case c.Mode == "rel":
		if unit != "%" {
			return c, fmt.Errorf("condition %q: %s compares percentages: write %q, not %q", p, fn, val[:numEnd]+"%", val)
		}
	case c.Stat == "count":
		if unit != "" {
			return c, fmt.Errorf("condition %q: count compares a plain number, not %q", p, val)
		}
	case unit == "ms":
	case unit == "s":
		n *= 1000
	case unit == "":
		return c, fmt.Errorf("condition %q: value %q needs a unit (ms or s)", p, val)
	default:
		return c, fmt.Errorf("condition %q: unknown unit %q in %q (want ms or s)", p, unit, val)
	}
	c.Value = n
	return c, nil
}

// Eval evaluates the gate against report B, the second report of the
// comparison (the candidate; A is the baseline): plain statistics read B's
// value, delta_ and rel_ read B − A. A condition without @scenario reads
// the totals section. It returns whether any condition is true (the gate
// fails) and an explanation: the tripped conditions with their values, or
// every value checked when none tripped. A condition that cannot be
// evaluated (metric or scenario missing) is an error, never a pass.
func (g Gate) Eval(c *Comparison) (bool, string, error) {
	var tripped, checked []string
	for _, cd := range g.Conds {
		got, detail, err := cd.eval(c)
		if err != nil {
			return false, "", fmt.Errorf("gate %q: %w", cd.Text, err)
		}
		if cd.holds(got) {
			tripped = append(tripped, cd.Text+" tripped: "+detail)
		}
		checked = append(checked, cd.Text+": "+detail)
	}
	if len(tripped) > 0 {
		return true, "gate failed: " + strings.Join(tripped, "; "), nil
	}
	return false, "gate passed: " + strings.Join(checked, "; "), nil
}

func (cd Condition) holds(v float64) bool {
	switch cd.Op {
	case ">":
		return v > cd.Value
	case ">=":
		return v >= cd.Value
	case "<":
		return v < cd.Value
	case "<=":
		return v <= cd.Value
	case "==":
		return v == cd.Value
	}
	return v != cd.Value
}

func (cd Condition) eval(c *Comparison) (float64, string, error) {
	var sec *Section
	var names []string
	for i := range c.Sections {
		s := &c.Sections[i]
		names = append(names, s.Name)
		if (cd.Scenario == "" && s.Totals) || (cd.Scenario != "" && !s.Totals && s.Name == cd.Scenario) {
			sec = s
		}
	}
	if sec == nil {
		return 0, "", fmt.Errorf("no scenario %q in the comparison (has: %s)", cd.Scenario, strings.Join(names, ", "))
	}
	var a, b float64
	unit := " ms"
	if cd.Stat == "count" {
		unit = ""
		var err error
		if a, err = countOf(sec.A, "A", sec.Name, cd.Metric); err != nil && cd.Mode != "" {
			return 0, "", err
		}
		if b, err = countOf(sec.B, "B", sec.Name, cd.Metric); err != nil {
			return 0, "", err
		}
	} else {
		i := slices.IndexFunc(sec.Metrics, func(m MetricDelta) bool { return m.Name == cd.Metric })
		if i < 0 || !sec.Metrics[i].InB || (cd.Mode != "" && !sec.Metrics[i].InA) {
			side, ar := "B", sec.B
			if i >= 0 && sec.Metrics[i].InB {
				side, ar = "A", sec.A
			}
			return 0, "", fmt.Errorf("report %s (%s) has no %s in %s (has: %s)", side, ar.Name, cd.Metric, sec.Name, strings.Join(MetricOrder(ar.Metrics), ", "))
		}
		a, _ = Stat(sec.Metrics[i].A, cd.Stat)
		b, _ = Stat(sec.Metrics[i].B, cd.Stat)
	}
	where := fmt.Sprintf("%s, %s", sec.B.Name, sec.Name)
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) + unit }
	switch cd.Mode {
	case "delta":
		return b - a, fmt.Sprintf("%+g%s (A %s → B %s, %s)", math.Round((b-a)*1000)/1000, unit, num(a), num(b), where), nil
	case "rel":
		rel := math.Inf(1)
		switch {
		case a != 0:
			rel = (b - a) / a * 100
		case b == 0:
			rel = 0
		}
		return rel, fmt.Sprintf("%+.1f%% (A %s → B %s, %s)", rel, num(a), num(b), where), nil
	}
	return b, fmt.Sprintf("%s (report B: %s)", num(b), where), nil
}

// countOf reads a count: a counter, else the number of values of a
// metric. Interruption counters a run never incremented are zero.
func countOf(ar *ArchReport, side, sec, name string) (float64, error) {
	if v, ok := ar.Counts[name]; ok {
		return float64(v), nil
	}
	if s, ok := ar.Metrics[name]; ok {
		return float64(s.Count), nil
	}
	if slices.Contains(append(interruptionNames(), "turns", "answered", "premature_audible"), name) {
		return 0, nil
	}
	var have []string
	for k := range ar.Counts {
		have = append(have, k)
	}
	slices.Sort(have)
	return 0, fmt.Errorf("report %s (%s) has no count %q in %s (has: %s)", side, ar.Name, name, sec, listOrNone(have))
}
