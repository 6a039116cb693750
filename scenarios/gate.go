package scenarios

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/voicesim/voicesim/pipeline"
)

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
