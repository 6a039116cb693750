package scenarios

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/voicesim/voicesim/pipeline"
)

// agree reports whether a printed number is the JSON value rounded to the
// one decimal the views print.
func agree(t *testing.T, what, printed string, json float64) {
	t.Helper()
	v, err := strconv.ParseFloat(strings.TrimPrefix(printed, "$"), 64)
	if err != nil {
		t.Errorf("%s: printed %q is not a number", what, printed)
		return
	}
	if math.Abs(v-json) > 0.05+1e-9 {
		t.Errorf("%s: printed %s, JSON says %v", what, printed, json)
	}
}

// mdBlock returns the lines of a report.md between a heading and the next
// heading of the same or a higher level.
func mdBlock(t *testing.T, md, heading string) []string {
	t.Helper()
	lines := strings.Split(md, "\n")
	level := strings.Index(heading, " ")
	for i, l := range lines {
		if l != heading {
			continue
		}
		var out []string
		for _, m := range lines[i+1:] {
			if h := strings.Index(m, " "); strings.HasPrefix(m, "#") && h > 0 && h <= level && strings.Trim(m[:h], "#") == "" {
				break
			}
			out = append(out, m)
		}
		return out
	}
	t.Fatalf("report.md has no heading %q", heading)
	return nil
}

// mdRows maps a table's first column to its cells, for every table row in
// lines whose first cell is one of names.
func mdRows(lines []string) map[string][]string {
	rows := map[string][]string{}
	for _, l := range lines {
		if !strings.HasPrefix(l, "| ") {
			continue
		}
		cells := strings.Split(strings.Trim(l, "|"), " | ")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if _, dup := rows[cells[0]]; !dup {
			rows[cells[0]] = cells[1:]
		}
	}
	return rows
}

func TestMarkdownAgreesWithJSON(t *testing.T) {
	r := buildReport(80)
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, r); err != nil {
		t.Fatal(err)
	}
	md := buf.String()
	saveArtifact(t, "report.md", buf.Bytes())
	for _, sc := range r.Scenarios {
		scBlock := strings.Join(mdBlock(t, md, "## Scenario: "+sc.Name), "\n")
		for i := range sc.Architectures {
			a := &sc.Architectures[i]
			block := mdBlock(t, scBlock, "### "+a.Name)
			text := strings.Join(block, "\n")
			// The latency, breakdown and interruption tables, apart.
			lat, rest, _ := strings.Cut(text, "**Mean breakdown**")
			brk, inter, _ := strings.Cut(rest, "**Interruptions**")
			rows, brkRows, intRows := mdRows(strings.Split(lat, "\n")), mdRows(strings.Split(brk, "\n")), mdRows(strings.Split(inter, "\n"))
			for _, m := range criticalMetrics(a.Metrics) {
				cells, ok := rows[m]
				if !ok {
					t.Errorf("%s/%s: no row for %s", sc.Name, a.Name, m)
					continue
				}
				s := a.Metrics[m]
				for j, v := range []float64{s.P50, s.P95, s.P99, s.Mean} {
					agree(t, sc.Name+"/"+a.Name+"/"+m, cells[j], v)
				}
				if cells[4] != strconv.FormatInt(s.Count, 10) {
					t.Errorf("%s/%s/%s: n %s, JSON %d", sc.Name, a.Name, m, cells[4], s.Count)
				}
			}
			for _, seg := range a.Breakdown {
				agree(t, sc.Name+"/"+a.Name+" breakdown "+seg.Name, brkRows[seg.Name][0], seg.Mean)
			}
			for _, n := range []string{"barge_ins", "false_interruption", "missed_interruption", "premature_endpoint", "backchannels", "truncated"} {
				if got := intRows[n][0]; got != strconv.FormatInt(a.Counts[n], 10) {
					t.Errorf("%s/%s: %s printed %s, counts say %d", sc.Name, a.Name, n, got, a.Counts[n])
				}
			}
			if s, ok := a.Metrics[pipeline.MetricBargeInStop]; ok {
				want := "p50 " + fmtMS(s.P50) + " · p95 " + fmtMS(s.P95)
				if !strings.HasPrefix(intRows[pipeline.MetricBargeInStop][0], want) {
					t.Errorf("%s/%s: barge_in_stop %q, want prefix %q", sc.Name, a.Name, intRows[pipeline.MetricBargeInStop][0], want)
				}
			}
			if a.Cost.Known {
				if !strings.Contains(text, "**Cost:** $0.0123 per conversation · $12.35 per 1,000 conversations") {
					t.Errorf("%s/%s: cost line wrong:\n%s", sc.Name, a.Name, text)
				}
			} else if !strings.Contains(text, "**Cost:** unknown") || strings.Contains(text, "$0") {
				t.Errorf("%s/%s: a preset without prices must read unknown, never $0", sc.Name, a.Name)
			}
			want := "published voice_to_voice mean " + fmtMS(a.Figure.Mean) + " ms"
			meas := "measured mean " + fmtMS(a.Metrics[pipeline.MetricVoiceToVoice].Mean) + " ms"
			if !strings.Contains(text, want) || !strings.Contains(text, meas) {
				t.Errorf("%s/%s: figure line lacks %q or %q", sc.Name, a.Name, want, meas)
			}
		}
	}
	// Totals use the report's merged totals.
	tot := mdRows(mdBlock(t, md, "### native-gpt4o — 160 runs"))
	agree(t, "totals native p95", tot[pipeline.MetricVoiceToVoice][1], r.Totals[1].Metrics[pipeline.MetricVoiceToVoice].P95)
}

func TestMarkdownEscapesTableCells(t *testing.T) {
	r := &Report{Schema: SchemaVersion, Runs: 1, Mode: "virtual", Scenarios: []ScenarioReport{{Name: "a|b",
		Architectures: []ArchReport{{Name: "x|y", Runs: 1, Metrics: map[string]pipeline.Summary{pipeline.MetricVoiceToVoice: summaryOf(500)},
			Figure: &FigureReport{Metric: "endpointing+native_ttfa", Mean: 200, Source: "src|x"}}}}}}
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, r); err != nil {
		t.Fatal(err)
	}
	md := buf.String()
	for _, want := range []string{"## Scenario: a\\|b", "### x\\|y", "src\\|x", "segment endpointing not in this run's breakdown", "**Cost:** unknown"} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
}

func TestFigureSumOfSegments(t *testing.T) {
	a := &ArchReport{Name: "moshi", Figure: &FigureReport{Metric: "endpointing+native_ttfa", Mean: 200, Min: 160, Source: "moshi README"},
		Breakdown: []SegmentMean{{"endpointing", 80}, {"native_ttfa", 140}}}
	got := figureNote(a)
	for _, want := range []string{"published endpointing+native_ttfa mean 200.0 ms", "as little as 160.0 ms", "measured mean 220.0 ms", "+10.0% vs published"} {
		if !strings.Contains(got, want) {
			t.Errorf("figure note %q lacks %q", got, want)
		}
	}
	if figureNote(&ArchReport{}) != "" {
		t.Error("no figure: want no note")
	}
}

// saveArtifact writes a rendered view to $VOICESIM_ARTIFACTS, when set, so
// a person can look at it; tests never depend on it.
func saveArtifact(t *testing.T, name string, data []byte) {
	t.Helper()
	dir := os.Getenv("VOICESIM_ARTIFACTS")
	if dir == "" {
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Errorf("artifact %s: %v", name, err)
	}
	t.Logf("wrote %s", filepath.Join(dir, name))
}
