package scenarios

import (
	"bytes"
	"encoding/json"
	"github.com/voicesim/voicesim/pipeline/atomicfile"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
)

// The report fixtures are built here, in Go, the way the runner builds a
// report: turn metrics from seeded, known distributions go through
// pipeline.Aggregate (whose histograms record every value), so the views
// under test see the real Summary encoding, not hand-typed numbers.

type stageModel struct {
	name   string
	base   time.Duration
	spread float64 // log-normal sigma
}

type archModel struct {
	name, kind string
	stages     []stageModel
	figure     *FigureReport
	cost       *Cost
}

func cascadedModel() archModel {
	return archModel{name: "cascaded-streaming", kind: "cascaded", stages: []stageModel{
		{pipeline.MetricNetworkUp, 12 * time.Millisecond, 0.2},
		{pipeline.MetricEndpointing, 420 * time.Millisecond, 0.25},
		{pipeline.MetricSTTFinal, 120 * time.Millisecond, 0.3},
		{pipeline.MetricLLMQueue, 2 * time.Millisecond, 0.1},
		{pipeline.MetricLLMTTFT, 300 * time.Millisecond, 0.35},
		{pipeline.MetricSentenceAggregation, 110 * time.Millisecond, 0.3},
		{pipeline.MetricTTSTTFB, 85 * time.Millisecond, 0.2},
		{pipeline.MetricNetworkDown, 20 * time.Millisecond, 0.2},
		{pipeline.MetricPlayout, 40 * time.Millisecond, 0.1},
	},
		figure: &FigureReport{Metric: pipeline.MetricVoiceToVoice, Mean: 759, Source: "Daily, world's fastest voice bot (2024)"},
		cost:   &Cost{Known: true, PerConversation: 0.012345, Per1KConversations: 12.345, Source: "vendor list prices"},
	}
}

func nativeModel() archModel {
	return archModel{name: "native-gpt4o", kind: "native", stages: []stageModel{
		{pipeline.MetricNetworkUp, 12 * time.Millisecond, 0.2},
		{pipeline.MetricEndpointing, 180 * time.Millisecond, 0.2},
		{pipeline.MetricNativeTTFA, 90 * time.Millisecond, 0.3},
		{pipeline.MetricNetworkDown, 20 * time.Millisecond, 0.2},
		{pipeline.MetricPlayout, 40 * time.Millisecond, 0.1},
	},
		figure: &FigureReport{Metric: pipeline.MetricVoiceToVoice, Mean: 320, Min: 232, Source: "GPT-4o announcement"},
		cost:   &Cost{Known: false},
	}
}

type scenarioModel struct {
	name, desc string
	turns      int
	bargeIns   bool
}

// simulate plays runs × turns of one architecture in one scenario.
func simulate(rng *rand.Rand, am archModel, sm scenarioModel, runs int) [][]pipeline.TurnMetrics {
	dur := func(s stageModel) time.Duration {
		d := float64(s.base) * math.Exp(s.spread*rng.NormFloat64())
		return time.Duration(d).Round(time.Microsecond)
	}
	out := make([][]pipeline.TurnMetrics, runs)
	for r := range runs {
		for k := range sm.turns {
			end := time.Duration(k)*6*time.Second + 2*time.Second
			tm := pipeline.TurnMetrics{Turn: k, Response: pipeline.ResponseID(k + 1), SpeechEnd: end,
				Answered: true, Values: map[string]time.Duration{}}
			at := end
			for _, s := range am.stages {
				d := dur(s)
				tm.Breakdown = append(tm.Breakdown, pipeline.Segment{Name: s.name, Start: at, End: at + d})
				at += d
				if s.name != pipeline.MetricLLMQueue { // not a glossary value of its own
					tm.Values[s.name] = d
				}
			}
			tm.Values[pipeline.MetricVoiceToVoice] = at - end
			if sm.bargeIns && k > 0 && rng.Float64() < 0.6 {
				tm.BargeIn = true
				if rng.Float64() < 0.08 {
					tm.MissedInterruption = true
				} else {
					stop := time.Duration(float64(250*time.Millisecond) * math.Exp(0.3*rng.NormFloat64())).Round(time.Microsecond)
					tm.Values[pipeline.MetricBargeInStop] = stop
					tm.Values[pipeline.MetricOvertalk] = stop - 5*time.Millisecond
				}
				tm.Truncated = true
			}
			if sm.bargeIns && rng.Float64() < 0.3 {
				tm.Backchannels = 1
				if rng.Float64() < 0.2 {
					tm.FalseInterruptions = 1
				}
			}
			if rng.Float64() < 0.04 {
				tm.PrematureEndpoints = 1
			}
			out[r] = append(out[r], tm)
		}
	}
	return out
}

// archReport aggregates simulated runs the way plan.report does.
func archReport(am archModel, runs [][]pipeline.TurnMetrics, seed uint64) (ArchReport, *pipeline.Aggregate) {
	agg := pipeline.NewAggregate()
	seg, segN := map[string]time.Duration{}, map[string]int{}
	for _, turns := range runs {
		agg.AddRun(turns, map[string]int64{"llm.tokens_in": 400})
		for _, t := range turns {
			for _, s := range t.Breakdown {
				seg[s.Name] += s.Duration()
				segN[s.Name]++
			}
		}
	}
	ar := ArchReport{Name: am.name, Preset: am.name, Kind: am.kind, Figure: am.figure, Runs: len(runs),
		Metrics: agg.Summaries(), Counts: agg.Counts, Cost: am.cost}
	for _, n := range pipeline.CriticalPath() {
		if segN[n] > 0 {
			ar.Breakdown = append(ar.Breakdown, SegmentMean{Name: n, Mean: msOf(seg[n] / time.Duration(segN[n]))})
		}
	}
	// Representative runs: median and p95 by mean voice_to_voice.
	idx := make([]int, len(runs))
	mean := func(i int) time.Duration {
		var s time.Duration
		for _, t := range runs[i] {
			s += t.Values[pipeline.MetricVoiceToVoice]
		}
		return s / time.Duration(len(runs[i]))
	}
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return mean(idx[a]) < mean(idx[b]) })
	for _, pk := range []struct {
		label string
		q     float64
	}{{"median", 0.5}, {"p95", 0.95}} {
		i := idx[min(len(idx)-1, int(pk.q*float64(len(idx))))]
		t0 := runs[i][0]
		ar.Representative = append(ar.Representative, RunTimeline{Label: pk.label, Run: i, Seed: RunSeed(seed, i), Turns: runs[i],
			Marks: []pipeline.Mark{{Name: pipeline.MarkUserSpeechEnd, At: t0.SpeechEnd, Turn: 0},
				{Name: pipeline.MarkClientFirstPlayed, At: t0.Breakdown[len(t0.Breakdown)-1].End, Response: t0.Response, Turn: -1}}})
	}
	return ar, agg
}

// buildReport is the realistic fixture: two scenarios × cascaded and
// native, native faster by construction.
func buildReport(runs int, archs ...archModel) *Report {
	if len(archs) == 0 {
		archs = []archModel{cascadedModel(), nativeModel()}
	}
	scs := []scenarioModel{
		{"basic-qa", "Four questions, clean audio, good network.", 4, false},
		{"barge-in", "The user talks over the answer; backchannels <uh-huh> & noise.", 4, true},
	}
	rep := &Report{Schema: SchemaVersion, GeneratedAt: "2026-01-02T03:04:05Z", Command: "voicesim run scenarios/*.yaml",
		Seed: 7, Runs: runs, Mode: "virtual"}
	totals := map[string]*pipeline.Aggregate{}
	for si, sm := range scs {
		sr := ScenarioReport{Name: sm.name, File: "scenarios/" + sm.name + ".yaml", Description: sm.desc}
		for ai, am := range archs {
			rng := rand.New(rand.NewPCG(uint64(si)+1, uint64(ai)+1))
			ar, agg := archReport(am, simulate(rng, am, sm, runs), rep.Seed)
			sr.Architectures = append(sr.Architectures, ar)
			if totals[am.name] == nil {
				totals[am.name] = pipeline.NewAggregate()
			}
			totals[am.name].Merge(agg)
		}
		rep.Scenarios = append(rep.Scenarios, sr)
	}
	for _, am := range archs {
		agg := totals[am.name]
		rep.Totals = append(rep.Totals, ArchReport{Name: am.name, Runs: agg.Runs, Metrics: agg.Summaries(), Counts: agg.Counts})
	}
	return rep
}

// summaryOf records exact values into a histogram, for reports whose
// numbers a test states outright.
func summaryOf(ms ...float64) pipeline.Summary {
	h := pipeline.NewHistogram()
	for _, v := range ms {
		h.Record(time.Duration(v * float64(time.Millisecond)))
	}
	return h.Summary()
}

const fixtureFile = "testdata/reports/two-arch.json"

// TestFixtureFile keeps testdata/reports/two-arch.json (a report other
// packages' tests can load) in step with buildReport and readable by
// ReadReport. VOICESIM_UPDATE_FIXTURES=1 rewrites it.
func TestFixtureFile(t *testing.T) {
	want := buildReport(60)
	data, err := json.MarshalIndent(want, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("VOICESIM_UPDATE_FIXTURES") == "1" {
		if err := os.MkdirAll(filepath.Dir(fixtureFile), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := atomicfile.WriteBytes(fixtureFile, append(data, '\n')); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ReadReport(fixtureFile)
	if err != nil {
		t.Fatalf("%v (run with VOICESIM_UPDATE_FIXTURES=1 to create it)", err)
	}
	var norm Report
	if err := json.Unmarshal(data, &norm); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*got, norm) {
		t.Fatalf("%s is stale: rerun with VOICESIM_UPDATE_FIXTURES=1", fixtureFile)
	}
}

func TestWriteSummary(t *testing.T) {
	r := buildReport(50)
	var buf bytes.Buffer
	if err := WriteSummary(&buf, r); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	t.Log("\n" + out)
	for _, want := range []string{"== basic-qa ==", "== barge-in ==", "premature_endpoint", "barge_in_stop",
		"false_interruption", "missed_interruption", "cost / 1,000"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
	if strings.Contains(out, "$0.0000") || !strings.Contains(out, "unknown") {
		t.Error("native-gpt4o has no prices: its cost must read unknown, never $0")
	}
	// Alignment and agreement: in each scenario block, the native column
	// starts where its header starts, on every latency row, and holds the
	// JSON's p50 p95 p99.
	lines := strings.Split(out, "\n")
	for si, sc := range r.Scenarios {
		start := slices.Index(lines, "== "+sc.Name+" ==")
		header := lines[start+1]
		col := strings.Index(header, "native-gpt4o")
		if col < 0 {
			t.Fatalf("scenario %s: header %q lacks native-gpt4o", sc.Name, header)
		}
		nat := &r.Scenarios[si].Architectures[1]
		for _, l := range lines[start+3:] {
			if l == "" {
				break
			}
			name := strings.Fields(l)[0]
			s, ok := nat.Metrics[name]
			if !ok || !slices.Contains(criticalMetrics(nat.Metrics), name) {
				continue
			}
			if len(l) <= col || l[col-1] != ' ' {
				t.Fatalf("row %q: native column not at offset %d", l, col)
			}
			got := strings.Fields(l[col:])
			want := []string{fmtMS(s.P50), fmtMS(s.P95), fmtMS(s.P99)}
			if !slices.Equal(got[:3], want) {
				t.Errorf("scenario %s %s: native p50/p95/p99 %v, JSON says %v", sc.Name, name, got[:3], want)
			}
		}
	}
}
