package scenarios

import (
	"fmt"
	"io"
	"strings"

	"github.com/voicesim/voicesim/pipeline"
)

// The tables below are the one tabular model of a report: Markdown renders
// them here and the HTML templates render the same rows, so both views
// print the same formatted Summary values.

// statCell is one architecture's distribution of one metric, formatted.
type statCell struct {
	Arch, Metric       string
	Has                bool
	P50, P95, P99, Max string
	Mean               string
	N                  int64
}

type metricRow struct {
	Metric string
	Cells  []statCell
}

func statOf(a *ArchReport, metric string) statCell {
	s, ok := a.Metrics[metric]
	if !ok || s.Count == 0 {
		return statCell{Arch: a.Name, Metric: metric}
	}
	return statCell{Arch: a.Name, Metric: metric, Has: true, P50: fmtMS(s.P50), P95: fmtMS(s.P95),
		P99: fmtMS(s.P99), Max: fmtMS(s.Max), Mean: fmtMS(s.Mean), N: s.Count}
}

// latencyRows is a metrics × architectures table.
func latencyRows(archs []ArchReport, names []string) []metricRow {
	var rows []metricRow
	for _, n := range names {
		row := metricRow{Metric: n}
		for i := range archs {
			row.Cells = append(row.Cells, statOf(&archs[i], n))
		}
		rows = append(rows, row)
	}
	return rows
}

// interRow is one interruption metric across architectures.
type interRow struct {
	Metric  string
	Latency bool
	Cells   []interCell
}

type interCell struct {
	Arch    string
	Count   int64
	Context string
	Stat    statCell // Latency rows
}

func interruptionRows(archs []ArchReport) []interRow {
	var rows []interRow
	for k, n := range interruptionNames() {
		row := interRow{Metric: n, Latency: n == pipeline.MetricBargeInStop || n == pipeline.MetricOvertalk}
		for i := range archs {
			it := interruptions(&archs[i])[k]
			row.Cells = append(row.Cells, interCell{Arch: archs[i].Name, Count: it.Count, Context: it.Context,
				Stat: statOf(&archs[i], n)})
		}
		rows = append(rows, row)
	}
	return rows
}

// mdCell escapes what would break a Markdown table cell.
func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "\r", "").Replace(s)
}

// WriteMarkdown writes report.md: per scenario and architecture the
// latency table (voice_to_voice and the critical path, p50/p95/p99/mean in
// ms), the mean breakdown, the interruption metrics, the cost and the
// published figure next to the measured one; then the totals.
func WriteMarkdown(w io.Writer, r *Report) error {
	if r == nil {
		return fmt.Errorf("report.md: no report")
	}
	ew := &errWriter{w: w}
	fmt.Fprintf(ew, "# voicesim report\n\n")
	fmt.Fprintf(ew, "%d scenario(s) · %d runs · seed %d · %s clock · generated %s\n",
		len(r.Scenarios), r.Runs, r.Seed, r.Mode, r.GeneratedAt)
	if r.Command != "" {
		fmt.Fprintf(ew, "\nCommand: `%s`\n", strings.ReplaceAll(r.Command, "`", "'"))
	}
	fmt.Fprintf(ew, "\nLatencies in ms, measured from the true end of user speech (ground truth, not the VAD).\n")
	for _, sc := range r.Scenarios {
		fmt.Fprintf(ew, "\n## Scenario: %s\n\n", mdCell(sc.Name))
		if sc.Description != "" {
			fmt.Fprintf(ew, "%s\n\n", strings.TrimSpace(sc.Description))
		}
		if sc.File != "" {
			fmt.Fprintf(ew, "File: `%s`\n\n", sc.File)
		}
		for i := range sc.Architectures {
			writeArchMarkdown(ew, &sc.Architectures[i])
		}
	}
	if len(r.Totals) > 0 {
		fmt.Fprintf(ew, "\n## Totals (all scenarios merged)\n")
		for i := range r.Totals {
			a := &r.Totals[i]
			fmt.Fprintf(ew, "\n### %s — %d runs\n\n", mdCell(a.Name), a.Runs)
			writeLatencyMarkdown(ew, a)
			fmt.Fprintln(ew)
			writeInterruptionsMarkdown(ew, a)
		}
	}
	return ew.err
}

func writeArchMarkdown(w io.Writer, a *ArchReport) {
	fmt.Fprintf(w, "### %s\n\n", mdCell(a.Name))
	var facts []string
	if a.Preset != "" {
		facts = append(facts, "preset `"+a.Preset+"`")
	}
	if a.Kind != "" {
		facts = append(facts, a.Kind)
	}
	facts = append(facts, fmt.Sprintf("%d runs", a.Runs))
	fmt.Fprintf(w, "%s\n\n", strings.Join(facts, " · "))
	writeLatencyMarkdown(w, a)

	if len(a.Breakdown) > 0 {
		fmt.Fprintf(w, "\n**Mean breakdown** (critical path, answered turns)\n\n| stage | mean ms | share |\n|---|---:|---:|\n")
		total := 0.0
		for _, s := range a.Breakdown {
			total += s.Mean
		}
		for _, s := range a.Breakdown {
			share := "—"
			if total > 0 {
				share = fmt.Sprintf("%.1f%%", s.Mean/total*100)
			}
			fmt.Fprintf(w, "| %s | %s | %s |\n", s.Name, fmtMS(s.Mean), share)
		}
		fmt.Fprintf(w, "| **sum** | **%s** | |\n", fmtMS(total))
	}
	fmt.Fprintln(w)
	writeInterruptionsMarkdown(w, a)

	conv, per1K := costCells(a.Cost)
	if a.Cost != nil && a.Cost.Known {
		src := ""
		if a.Cost.Source != "" {
			src = " (prices: " + a.Cost.Source + ")"
		}
		fmt.Fprintf(w, "\n**Cost:** %s per conversation · %s per 1,000 conversations%s\n", conv, per1K, src)
	} else {
		fmt.Fprintf(w, "\n**Cost:** unknown (the preset carries no prices)\n")
	}
	if f := figureNote(a); f != "" {
		fmt.Fprintf(w, "\n**Published figure vs measured:** %s\n", mdCell(f))
	}
	fmt.Fprintln(w)
}

func writeLatencyMarkdown(w io.Writer, a *ArchReport) {
	names := latencyMetrics(a.Metrics)
	if len(names) == 0 {
		fmt.Fprintf(w, "No latency values (no turn was answered).\n")
		return
	}
	fmt.Fprintf(w, "| metric | p50 | p95 | p99 | mean | n |\n|---|---:|---:|---:|---:|---:|\n")
	for _, row := range latencyRows([]ArchReport{*a}, names) {
		c := row.Cells[0]
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %d |\n", mdCell(row.Metric), c.P50, c.P95, c.P99, c.Mean, c.N)
	}
}

func writeInterruptionsMarkdown(w io.Writer, a *ArchReport) {
	fmt.Fprintf(w, "**Interruptions**\n\n| metric | value | context |\n|---|---:|---|\n")
	for _, row := range interruptionRows([]ArchReport{*a}) {
		c := row.Cells[0]
		switch {
		case row.Latency && c.Stat.Has:
			fmt.Fprintf(w, "| %s | p50 %s · p95 %s · p99 %s ms | n=%d, mean %s ms |\n",
				row.Metric, c.Stat.P50, c.Stat.P95, c.Stat.P99, c.Stat.N, c.Stat.Mean)
		case row.Latency:
			fmt.Fprintf(w, "| %s | — | none measured |\n", row.Metric)
		default:
			fmt.Fprintf(w, "| %s | %d | %s |\n", row.Metric, c.Count, c.Context)
		}
	}
}
