package scenarios

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/voicesim/voicesim/pipeline"
)

// This file holds the terminal summary and the helpers every report view
// (text, Markdown, HTML, compare) shares, so that all of them format the
// same Summary values the same way and therefore agree with report.json.

// fmtMS formats a millisecond value as every view prints it: one decimal,
// which is below the histograms' resolution at these magnitudes, so the
// printed number is the JSON number rounded, never a recomputation.
func fmtMS(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// fmtUSD formats money; per-conversation costs are fractions of a cent, so
// they keep four decimals.
func fmtUSD(v float64, decimals int) string { return "$" + strconv.FormatFloat(v, 'f', decimals, 64) }

// costCells returns the per-conversation and per-1,000 cost. A preset
// without prices has an unknown cost, which must never read as $0.
func costCells(c *Cost) (perConv, per1K string) {
	if c == nil || !c.Known {
		return "unknown", "unknown"
	}
	return fmtUSD(c.PerConversation, 4), fmtUSD(c.Per1KConversations, 2)
}

// criticalMetrics lists voice_to_voice and the critical-path metrics
// present in m, in MetricOrder.
func criticalMetrics(m map[string]pipeline.Summary) []string {
	keep := append([]string{pipeline.MetricVoiceToVoice}, pipeline.CriticalPath()...)
	var out []string
	for _, n := range MetricOrder(m) {
		if slices.Contains(keep, n) {
			out = append(out, n)
		}
	}
	return out
}

// latencyMetrics lists every metric of m except the interruption ones,
// which get their own table: voice_to_voice, the critical path, then any
// other metric sorted.
func latencyMetrics(m map[string]pipeline.Summary) []string {
	var out []string
	for _, n := range MetricOrder(m) {
		if n != pipeline.MetricBargeInStop && n != pipeline.MetricOvertalk {
			out = append(out, n)
		}
	}
	return out
}

// unionMetrics merges the metric maps of several architectures so one
// table can hold them all (the values are irrelevant, only the names).
func unionMetrics(archs []ArchReport) map[string]pipeline.Summary {
	u := map[string]pipeline.Summary{}
	for _, a := range archs {
		for n, s := range a.Metrics {
			u[n] = s
		}
	}
	return u
}

// interruption is one row of the interruption table: either a count from
// ArchReport.Counts or a latency distribution from ArchReport.Metrics.
type interruption struct {
	Name    string
	Latency bool
	Summary pipeline.Summary // Latency rows; Count 0 when nothing happened
	Count   int64            // count rows
	Context string           // e.g. "of 40 barge-ins": what the count is out of
}

// interruptionNames is the order the glossary tells the story in: how often
// the user barged in, how fast the assistant stopped, how much it talked
// over them, then the failure modes.
func interruptionNames() []string {
	return []string{"barge_ins", pipeline.MetricBargeInStop, pipeline.MetricOvertalk,
		"false_interruption", "missed_interruption", "premature_endpoint", "backchannels", "truncated"}
}

func interruptions(a *ArchReport) []interruption {
	c := a.Counts
	ctx := map[string]string{
		"barge_ins":           fmt.Sprintf("of %d turns", c["turns"]),
		"false_interruption":  fmt.Sprintf("of %d backchannels", c["backchannels"]),
		"missed_interruption": fmt.Sprintf("of %d barge-ins", c["barge_ins"]),
		"premature_endpoint":  fmt.Sprintf("(%d audible)", c["premature_audible"]),
		"truncated":           fmt.Sprintf("of %d answered", c["answered"]),
	}
	var out []interruption
	for _, n := range interruptionNames() {
		if n == pipeline.MetricBargeInStop || n == pipeline.MetricOvertalk {
			out = append(out, interruption{Name: n, Latency: true, Summary: a.Metrics[n]})
			continue
		}
		out = append(out, interruption{Name: n, Count: c[n], Context: ctx[n]})
	}
	return out
}

// figureNote states a preset's published figure next to what the run
// measured for the same metric, or "" when the preset cites none.
func figureNote(a *ArchReport) string {
	f := a.Figure
	if f == nil {
		return ""
	}
	pub := fmt.Sprintf("published %s mean %s ms", f.Metric, fmtMS(f.Mean))
	if f.Min > 0 {
		pub += fmt.Sprintf(" (as little as %s ms)", fmtMS(f.Min))
	}
	if f.Source != "" {
		pub += " [" + f.Source + "]"
	}
	var mean float64
	var meas string
	if strings.Contains(f.Metric, "+") {
		// A sum of critical-path segments (e.g. "endpointing+native_ttfa"):
		// only the mean breakdown can measure it; it has no minimum.
		for _, seg := range strings.Split(f.Metric, "+") {
			seg = strings.TrimSpace(seg)
			if !hasSegment(a.Breakdown, seg) {
				return pub + "; measured: segment " + seg + " not in this run's breakdown"
			}
			mean += segmentMean(a.Breakdown, seg)
		}
		meas = fmt.Sprintf("; measured mean %s ms (sum of mean segments)", fmtMS(mean))
	} else {
		s, ok := a.Metrics[f.Metric]
		if !ok || s.Count == 0 {
			return pub + "; measured: not measured in this run"
		}
		mean = s.Mean
		meas = fmt.Sprintf("; measured mean %s ms, min %s ms", fmtMS(s.Mean), fmtMS(s.Min))
	}
	if f.Mean > 0 {
		meas += fmt.Sprintf(" (%+.1f%% vs published)", (mean-f.Mean)/f.Mean*100)
	}
	return pub + meas
}

// triple formats p50/p95/p99 with each column padded to widths w, so the
// numbers line up down a tabwriter column.
func triple(s pipeline.Summary, w [3]int) string {
	return fmt.Sprintf("%*s %*s %*s", w[0], fmtMS(s.P50), w[1], fmtMS(s.P95), w[2], fmtMS(s.P99))
}

// WriteSummary prints the compact table shown after a run: per scenario,
// one column per architecture, with p50 / p95 / p99 in ms of voice_to_voice
// and each critical-path stage, then the interruption metrics (premature
// endpoints included) and the cost.
func WriteSummary(w io.Writer, r *Report) error {
	if r == nil {
		return fmt.Errorf("summary: no report")
	}
	ew := &errWriter{w: w}
	fmt.Fprintf(ew, "voicesim %s run: %d scenario(s), %d runs, seed %d\n", r.Mode, len(r.Scenarios), r.Runs, r.Seed)
	for _, sc := range r.Scenarios {
		fmt.Fprintf(ew, "\n== %s ==\n", sc.Name)
		if len(sc.Architectures) == 0 {
			fmt.Fprintln(ew, "  (no architectures)")
			continue
		}
		writeSummaryTable(ew, sc.Architectures)
	}
	return ew.err
}

func writeSummaryTable(w io.Writer, archs []ArchReport) {
	names := criticalMetrics(unionMetrics(archs))
	lat := append(slices.Clone(names), pipeline.MetricBargeInStop, pipeline.MetricOvertalk)
	// Per architecture, the widest p50, p95 and p99 so the triples align.
	widths := make([][3]int, len(archs))
	for i := range archs {
		widths[i] = [3]int{3, 3, 3}
		for _, n := range lat {
			if s, ok := archs[i].Metrics[n]; ok {
				for j, v := range []float64{s.P50, s.P95, s.P99} {
					widths[i][j] = max(widths[i][j], len(fmtMS(v)))
				}
			}
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	row := func(label string, cell func(i int, a *ArchReport) string) {
		cells := []string{label}
		for i := range archs {
			cells = append(cells, cell(i, &archs[i]))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	row("", func(_ int, a *ArchReport) string { return a.Name })
	row("ms: p50 p95 p99", func(i int, _ *ArchReport) string {
		return fmt.Sprintf("%*s %*s %*s", widths[i][0], "p50", widths[i][1], "p95", widths[i][2], "p99")
	})
	latRow := func(n string) {
		row(n, func(i int, a *ArchReport) string {
			if s, ok := a.Metrics[n]; ok && s.Count > 0 {
				return triple(s, widths[i])
			}
			return "—"
		})
	}
	for _, n := range names {
		latRow(n)
	}
	row("interruptions", func(int, *ArchReport) string { return "" })
	for k, n := range interruptionNames() {
		if n == pipeline.MetricBargeInStop || n == pipeline.MetricOvertalk {
			latRow(n)
			continue
		}
		row(n, func(_ int, a *ArchReport) string {
			it := interruptions(a)[k]
			return strings.TrimSpace(fmt.Sprintf("%d %s", it.Count, it.Context))
		})
	}
	row("cost / conversation", func(_ int, a *ArchReport) string { c, _ := costCells(a.Cost); return c })
	row("cost / 1,000", func(_ int, a *ArchReport) string { _, c := costCells(a.Cost); return c })
	_ = tw.Flush()
}

// fmtDelta formats B − A in ms with its relative change.
func fmtDelta(m MetricDelta, stat string) string {
	if !m.InA || !m.InB {
		return "—"
	}
	d := fmt.Sprintf("%+.1f", m.Delta(stat))
	if r, ok := m.Rel(stat); ok {
		d += fmt.Sprintf(" (%+.1f%%)", r)
	}
	return d
}

func sideStat(s pipeline.Summary, in bool, stat string) string {
	if !in {
		return "—"
	}
	v, _ := Stat(s, stat)
	return fmtMS(v)
}

// WriteText writes the comparison as aligned tables: per section the
// p50/p95/p99 of every metric on both sides with B − A, the stage that
// moved most, the per-stage means and the interruption counts.
func (c *Comparison) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	fmt.Fprintf(ew, "A = %s   B = %s   (Δ = B − A in ms; negative: B is faster)\n", c.LabelA, c.LabelB)
	for _, s := range c.Skipped {
		fmt.Fprintf(ew, "skipped: %s\n", s)
	}
	for _, s := range c.Sections {
		fmt.Fprintf(ew, "\n== %s ==\n", s.Name)
		tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight)
		width := len("metric")
		for _, m := range s.Metrics {
			width = max(width, len(m.Name))
		}
		pad := func(n string) string { return fmt.Sprintf("%-*s", width, n) }
		fmt.Fprintf(tw, "%s\tp50 A\tp50 B\tΔ p50\tp95 A\tp95 B\tΔ p95\tp99 A\tp99 B\tΔ p99\t\n", pad("metric"))
		for _, m := range s.Metrics {
			fmt.Fprintf(tw, "%s\t", pad(m.Name))
			for _, st := range []string{"p50", "p95", "p99"} {
				fmt.Fprintf(tw, "%s\t%s\t%s\t", sideStat(m.A, m.InA, st), sideStat(m.B, m.InB, st), fmtDelta(m, st))
			}
			fmt.Fprintln(tw)
		}
		_ = tw.Flush()
		if mm := s.MovedMost; mm != nil {
			fmt.Fprintf(ew, "\nstage that moved most: %s %+.1f ms (A %s → B %s)\n", mm.Name, mm.Delta, fmtMS(mm.A), fmtMS(mm.B))
			tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintf(tw, "%-22s\tmean A\tmean B\tΔ\t\n", "stage")
			for _, st := range s.Stages {
				a, b := "—", "—"
				if st.InA {
					a = fmtMS(st.A)
				}
				if st.InB {
					b = fmtMS(st.B)
				}
				fmt.Fprintf(tw, "%-22s\t%s\t%s\t%+.1f\t\n", st.Name, a, b, st.Delta)
			}
			_ = tw.Flush()
		}
		fmt.Fprintln(ew)
		tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "%-22s\tA\tB\tΔ\t\n", "count")
		for _, n := range s.Counts {
			fmt.Fprintf(tw, "%-22s\t%d\t%d\t%+d\t\n", n.Name, n.A, n.B, n.B-n.A)
		}
		_ = tw.Flush()
	}
	return ew.err
}

// errWriter keeps the first write error so the formatting code can stay a
// straight list of Fprintf calls.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
