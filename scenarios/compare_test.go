package scenarios

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
)

const (
	cascaded = "cascaded-streaming"
	native   = "native-gpt4o"
	v2v      = pipeline.MetricVoiceToVoice
)

func metricOf(t *testing.T, s Section, name string) MetricDelta {
	t.Helper()
	for _, m := range s.Metrics {
		if m.Name == name {
			return m
		}
	}
	t.Fatalf("section %s has no metric %s", s.Name, name)
	return MetricDelta{}
}

func TestCompareArchitecturesInOneReport(t *testing.T) {
	r := buildReport(60)
	c, err := Compare(r, r, cascaded, native)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Sections) != 3 || !c.Sections[2].Totals || len(c.Skipped) != 0 {
		t.Fatalf("want basic-qa, barge-in, totals and nothing skipped; got %d sections, skipped %v", len(c.Sections), c.Skipped)
	}
	for i, s := range c.Sections {
		m := metricOf(t, s, v2v)
		for _, st := range []string{"p50", "p95", "p99"} {
			if d := m.Delta(st); d >= 0 {
				t.Errorf("%s: native is faster, yet Δ%s(voice_to_voice) = %+.1f", s.Name, st, d)
			}
		}
		if !s.Totals {
			a, b := r.Scenarios[i].Arch(cascaded).Metrics[v2v], r.Scenarios[i].Arch(native).Metrics[v2v]
			if m.Delta("p95") != b.P95-a.P95 {
				t.Errorf("%s: Δp95 %v, JSON says %v", s.Name, m.Delta("p95"), b.P95-a.P95)
			}
		}
		// The stage that moved most is the largest |Δ| of the means, and by
		// construction the cascade's LLM wait, which native has no part of.
		for _, st := range s.Stages {
			if math.Abs(st.Delta) > math.Abs(s.MovedMost.Delta) {
				t.Errorf("%s: %s moved %+.1f, more than the reported %s", s.Name, st.Name, st.Delta, s.MovedMost.Name)
			}
		}
		if s.MovedMost.Name != pipeline.MetricLLMTTFT || s.MovedMost.Delta >= 0 || s.MovedMost.InB {
			t.Errorf("%s: moved most %+v, want llm_ttft gone on B", s.Name, *s.MovedMost)
		}
	}
	// Totals come from merged histograms: over all scenarios they equal the
	// report's own totals, which the runner merges independently.
	tot := c.Sections[2]
	for side, ar := range map[string]*ArchReport{"A": tot.A, "B": tot.B} {
		want := r.Totals[0]
		if side == "B" {
			want = r.Totals[1]
		}
		got := ar.Metrics[v2v]
		if got.Count != want.Metrics[v2v].Count || got.P95 != want.Metrics[v2v].P95 || got.Mean != want.Metrics[v2v].Mean {
			t.Errorf("totals %s: merged %+v, report totals %+v", side, got, want.Metrics[v2v])
		}
		if ar.Counts["barge_ins"] != want.Counts["barge_ins"] || len(ar.Breakdown) == 0 {
			t.Errorf("totals %s: counts or breakdown not merged", side)
		}
	}
	if tot.A.Cost.Known != true || tot.B.Cost.Known {
		t.Errorf("totals cost: A priced, B unknown; got %+v %+v", tot.A.Cost, tot.B.Cost)
	}

	var buf bytes.Buffer
	if err := c.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	t.Log("\n" + out)
	want := "stage that moved most: llm_ttft " + strconv.FormatFloat(c.Sections[0].MovedMost.Delta, 'f', 1, 64)
	if !strings.Contains(out, want) || !strings.Contains(out, "== totals ==") {
		t.Errorf("text lacks %q or the totals", want)
	}
	m := metricOf(t, c.Sections[0], v2v)
	row := "voice_to_voice  " // the metric column is padded
	line := out[strings.Index(out, row):]
	line = line[:strings.Index(line, "\n")]
	for _, f := range []string{fmtMS(m.A.P50), fmtMS(m.B.P50), fmtDelta(m, "p50"), fmtMS(m.B.P99)} {
		if !strings.Contains(line, f) {
			t.Errorf("text row %q lacks %q", line, f)
		}
	}
	buf.Reset()
	if err := c.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	saveArtifact(t, "compare.html", buf.Bytes())
	for _, want := range []string{`<svg class="chart stage-delta"`, `<svg class="chart cdf"`, `data-side="delta">` + fmtDelta(m, "p50") + `<`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("compare.html lacks %q", want)
		}
	}
}

func TestCompareReportsBeforeAfter(t *testing.T) {
	before := buildReport(60, cascadedModel())
	faster := cascadedModel()
	for i := range faster.stages {
		if faster.stages[i].name == pipeline.MetricLLMTTFT {
			faster.stages[i].base = 120 * time.Millisecond
		}
	}
	after := buildReport(60, faster)
	c, err := Compare(before, after, cascaded, cascaded)
	if err != nil {
		t.Fatal(err)
	}
	if c.LabelA == c.LabelB {
		t.Errorf("same architecture on both sides needs distinct labels, got %q", c.LabelA)
	}
	for _, s := range c.Sections {
		if d := metricOf(t, s, v2v).Delta("p50"); d >= 0 {
			t.Errorf("%s: faster LLM, Δp50 %+.1f", s.Name, d)
		}
		if s.MovedMost.Name != pipeline.MetricLLMTTFT || !s.MovedMost.InA || !s.MovedMost.InB {
			t.Errorf("%s: moved most %s, want llm_ttft", s.Name, s.MovedMost.Name)
		}
	}
}

func TestCompareMissing(t *testing.T) {
	r := buildReport(10)
	for _, c := range []struct {
		a, b  string
		wants []string
	}{
		{"nope", native, []string{`report A has no architecture "nope"`, "has: cascaded-streaming, native-gpt4o"}},
		{cascaded, "gone", []string{`report B has no architecture "gone"`, "has: cascaded-streaming, native-gpt4o"}},
	} {
		_, err := Compare(r, r, c.a, c.b)
		for _, w := range c.wants {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("Compare(%s, %s): error %v, want it to say %q", c.a, c.b, err, w)
			}
		}
	}
	// No scenario in common: an error listing what each side has.
	other := buildReport(10)
	for i := range other.Scenarios {
		other.Scenarios[i].Name += "-v2"
	}
	_, err := Compare(r, other, cascaded, native)
	for _, w := range []string{"no scenario to compare", `"basic-qa": not in report B (B has: basic-qa-v2, barge-in-v2)`} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("no common scenario: error %v, want %q", err, w)
		}
	}
	// Partly in common: the rest is compared, the gap reported.
	other.Scenarios[0].Name = "basic-qa"
	other.Scenarios[0].Architectures = other.Scenarios[0].Architectures[:1] // cascaded only there
	other.Scenarios[1].Name = "barge-in"
	c, err := Compare(r, other, cascaded, native)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Sections) != 2 || c.Sections[0].Name != "barge-in" {
		t.Fatalf("want barge-in then totals, got %d sections", len(c.Sections))
	}
	if len(c.Skipped) != 1 || !strings.Contains(c.Skipped[0], `scenario "basic-qa": report B has no architecture "native-gpt4o" there (has: cascaded-streaming)`) {
		t.Errorf("skipped: %q", c.Skipped)
	}
	// Two single-scenario reports compare whatever their names.
	one, two := buildReport(10), buildReport(10)
	one.Scenarios, two.Scenarios = one.Scenarios[:1], two.Scenarios[1:]
	c, err = Compare(one, two, native, native)
	if err != nil || c.Sections[0].Name != "basic-qa vs barge-in" {
		t.Errorf("single scenarios: %v, %+v", err, c)
	}
}

func TestParseGate(t *testing.T) {
	good := []struct {
		expr string
		want []Condition
	}{
		{"p95(voice_to_voice) > 800ms", []Condition{{Stat: "p95", Metric: v2v, Op: ">", Value: 800}}},
		{"p50(endpointing) >= 0.5s", []Condition{{Stat: "p50", Metric: "endpointing", Op: ">=", Value: 500}}},
		{"mean(llm_ttft) < 300ms", []Condition{{Stat: "mean", Metric: "llm_ttft", Op: "<", Value: 300}}},
		{"delta_p95(voice_to_voice) > 50ms", []Condition{{Mode: "delta", Stat: "p95", Metric: v2v, Op: ">", Value: 50}}},
		{"delta_p50(voice_to_voice) < -50 ms", []Condition{{Mode: "delta", Stat: "p50", Metric: v2v, Op: "<", Value: -50}}},
		{"rel_p95(voice_to_voice) > 10%", []Condition{{Mode: "rel", Stat: "p95", Metric: v2v, Op: ">", Value: 10}}},
		{"count(false_interruption) > 0", []Condition{{Stat: "count", Metric: "false_interruption", Op: ">", Value: 0}}},
		{"p99( voice_to_voice @ barge-in )>1.2s", []Condition{{Stat: "p99", Metric: v2v, Scenario: "barge-in", Op: ">", Value: 1200}}},
		{"p95(voice_to_voice) > 800ms || count(false_interruption) != 0, rel_p99(overtalk)>=5%", []Condition{
			{Stat: "p95", Metric: v2v, Op: ">", Value: 800}, {Stat: "count", Metric: "false_interruption", Op: "!=", Value: 0},
			{Mode: "rel", Stat: "p99", Metric: "overtalk", Op: ">=", Value: 5}}},
	}
	for _, g := range good {
		got, err := ParseGate(g.expr)
		if err != nil {
			t.Errorf("ParseGate(%q): %v", g.expr, err)
			continue
		}
		if len(got.Conds) != len(g.want) {
			t.Errorf("ParseGate(%q): %d conditions, want %d", g.expr, len(got.Conds), len(g.want))
			continue
		}
		for i, w := range g.want {
			c := got.Conds[i]
			c.Text = ""
			if c != w {
				t.Errorf("ParseGate(%q)[%d] = %+v, want %+v", g.expr, i, c, w)
			}
		}
	}
	bad := []struct{ expr, wants string }{
		{"  ", "empty expression"},
		{"p96(voice_to_voice) > 800ms", `unknown statistic "p96"`},
		{"delta_p97(voice_to_voice) > 1ms", `unknown statistic "delta_p97"`},
		{"p95(voice_to_voce) > 800ms", `unknown metric "voice_to_voce"`},
		{"p95() > 1ms", `bad metric name ""`},
		{"p95(voice_to_voice) >> 800ms", `bad comparison ">>"`},
		{"p95(voice_to_voice) => 800ms", `bad comparison "=>"`},
		{"p95(voice_to_voice) 800ms", `bad comparison "800ms"`},
		{"p95(voice_to_voice) > 800", `value "800" needs a unit`},
		{"p95(voice_to_voice) > 800kb", `unknown unit "kb"`},
		{"p95(voice_to_voice) > fast", `bad number "fast"`},
		{"rel_p95(voice_to_voice) > 10ms", `write "10%", not "10ms"`},
		{"count(false_interruption) > 1ms", `plain number, not "1ms"`},
		{"p95 voice_to_voice > 800ms", "expected a statistic of a metric"},
		{"p95(voice_to_voice > 800ms", `missing ")"`},
		{"p95(voice_to_voice) > 800ms ||", "empty condition"},
		{"p95(voice_to_voice) > 1ms, p99(bogus) > 1ms", `condition "p99(bogus) > 1ms": unknown metric "bogus"`},
	}
	for _, b := range bad {
		_, err := ParseGate(b.expr)
		if err == nil || !strings.Contains(err.Error(), b.wants) {
			t.Errorf("ParseGate(%q): error %v, want it to name %q", b.expr, err, b.wants)
		}
	}
}

// exactReport has known values: a's voice_to_voice is 100…1000 ms, b's
// the same plus 50 ms, and b has two false interruptions.
func exactReport() *Report {
	var va, vb []float64
	for i := 1; i <= 10; i++ {
		va, vb = append(va, float64(i*100)), append(vb, float64(i*100+50))
	}
	arch := func(name string, v []float64, fi int64) ArchReport {
		return ArchReport{Name: name, Runs: 10, Metrics: map[string]pipeline.Summary{v2v: summaryOf(v...)},
			Counts:    map[string]int64{"turns": 10, "false_interruption": fi},
			Breakdown: []SegmentMean{{pipeline.MetricEndpointing, 200}, {pipeline.MetricPlayout, v[4] - 200}}}
	}
	return &Report{Schema: SchemaVersion, Runs: 10, Scenarios: []ScenarioReport{{Name: "s",
		Architectures: []ArchReport{arch("a", va, 0), arch("b", vb, 2)}}}}
}

func TestGateEval(t *testing.T) {
	r := exactReport()
	c, err := Compare(r, r, "a", "b")
	if err != nil {
		t.Fatal(err)
	}
	sa, sb := r.Scenarios[0].Architectures[0].Metrics[v2v], r.Scenarios[0].Architectures[1].Metrics[v2v]
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) + " ms" }
	pair := "(A " + num(sa.P50) + " → B " + num(sb.P50)
	for _, tc := range []struct {
		expr    string
		tripped bool
		explain string
	}{
		{"p95(voice_to_voice) > 800ms", true, "p95(voice_to_voice) > 800ms tripped: " + num(sb.P95) + " (report B: b, totals)"},
		{"p95(voice_to_voice) > 2s", false, "gate passed: p95(voice_to_voice) > 2s: " + num(sb.P95)},
		{"p50(voice_to_voice@s) >= 500ms", true, "tripped"},
		{"delta_p50(voice_to_voice) > 40ms", true, pair + ", b, totals)"},
		{"delta_p50(voice_to_voice) > 60ms", false, "gate passed"},
		{"rel_p50(voice_to_voice) > 5%", true, strconv.FormatFloat((sb.P50-sa.P50)/sa.P50*100, 'f', 1, 64) + "% " + pair},
		{"rel_p50(voice_to_voice) > 15%", false, "gate passed"},
		{"count(false_interruption) > 0", true, "count(false_interruption) > 0 tripped: 2 (report B: b, totals)"},
		{"count(missed_interruption) > 0", false, "count(missed_interruption) > 0: 0"},
		{"delta_count(false_interruption) == 2", true, "+2 (A 0 → B 2"},
		{"mean(voice_to_voice) > 2s || count(false_interruption) > 1", true, "gate failed: count(false_interruption) > 1 tripped"},
		{"mean(voice_to_voice) > 2s, count(false_interruption) > 5", false, "gate passed: mean(voice_to_voice) > 2s: 600 ms (report B: b, totals); count(false_interruption) > 5: 2"},
	} {
		g, err := ParseGate(tc.expr)
		if err != nil {
			t.Fatal(err)
		}
		tripped, why, err := g.Eval(c)
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		if tripped != tc.tripped || !strings.Contains(why, tc.explain) {
			t.Errorf("%s: tripped %v %q, want %v and %q", tc.expr, tripped, why, tc.tripped, tc.explain)
		}
		if strings.Contains(why, "tripped") != tripped {
			t.Errorf("%s: explanation %q disagrees with the verdict", tc.expr, why)
		}
	}
	// Swapping the sides swaps the sign: gates read B − A.
	rev, _ := Compare(r, r, "b", "a")
	g, _ := ParseGate("delta_p50(voice_to_voice) < 0ms")
	if tripped, why, err := g.Eval(rev); err != nil || !tripped {
		t.Errorf("reversed comparison: %v %q %v", tripped, why, err)
	}

	for _, tc := range []struct{ expr, wants string }{
		{"p95(stt_final) > 1ms", `report B (b) has no stt_final in totals (has: voice_to_voice)`},
		{"p95(voice_to_voice@nope) > 1ms", `no scenario "nope" in the comparison (has: s, totals)`},
		{"count(lost_frames) > 0", `report B (b) has no count "lost_frames" in totals (has: false_interruption, turns)`},
	} {
		g, err := ParseGate(tc.expr)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := g.Eval(c); err == nil || !strings.Contains(err.Error(), tc.wants) {
			t.Errorf("%s: error %v, want %q", tc.expr, err, tc.wants)
		}
	}
}
