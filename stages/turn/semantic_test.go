package turn_test

import (
	"slices"
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/stages/turn"
)

func semantic(mod func(*turn.SemanticConfig)) pipeline.Stage {
	c := turn.SemanticDefaults()
	if mod != nil {
		mod(c)
	}
	if err := c.Validate(); err != nil {
		panic(err)
	}
	return turn.NewSemantic(c)
}

// utterance returns the truth frames of an utterance from start to end: the
// frame holding its first sample and the one holding its last.
func utterance(start, end time.Duration) []truthFrame {
	return []truthFrame{
		{start, pipeline.FlagSpeechStart},
		{end - pipeline.FrameDuration, pipeline.FlagSpeechEnd},
	}
}

func TestSemanticEndpointing(t *testing.T) {
	// A 0.9 s mid-utterance pause: speech 1–2 s and 2.9–3.5 s, true end 3.5 s.
	paused := []seg{{ms(1000), ms(2000)}, {ms(2900), ms(3500)}}
	// The response to a premature end is audible only from 3.5 s.
	slowPlayer := player{startAfter: ms(1000), length: time.Second}
	cases := []struct {
		name      string
		mod       func(*turn.SemanticConfig)
		segs      []seg
		truth     []truthFrame
		player    player
		want      []time.Duration
		counter   string // expected at 1, if any
		interrupt []time.Duration
	}{
		{"true end ends after delay", func(c *turn.SemanticConfig) { c.PrematureProbability = 1 },
			[]seg{{ms(1000), ms(2000)}}, utterance(ms(1000), ms(2000)), player{},
			[]time.Duration{ms(2500)}, "", nil},
		{"delay is measured from the estimated offset", func(c *turn.SemanticConfig) { c.Delay = pipeline.Const(ms(250)) },
			[]seg{{ms(1000), ms(2000)}}, utterance(ms(1000), ms(2000)), player{},
			[]time.Duration{ms(2250)}, "", nil},
		// Premature: the turn ends at 2.5 s; the user resumes at 2.9 s
		// (reported 3.13 s), which after min_interruption interrupts the
		// unheard response at 3.4 s; the true end then ends the turn.
		{"premature_probability 1 ends the turn in the pause", func(c *turn.SemanticConfig) { c.PrematureProbability = 1 },
			paused, utterance(ms(1000), ms(3500)), slowPlayer,
			[]time.Duration{ms(2500), ms(4000)}, turn.CounterPrematureEnds, []time.Duration{ms(3400)}},
		{"premature_probability 0 waits through the pause", func(c *turn.SemanticConfig) { c.PrematureProbability = 0 },
			paused, utterance(ms(1000), ms(3500)), slowPlayer,
			[]time.Duration{ms(4000)}, "", nil},
		{"a pause never resumed ends at max_delay", func(c *turn.SemanticConfig) { c.PrematureProbability = 0 },
			[]seg{{ms(1000), ms(2000)}}, utterance(ms(1000), ms(9000))[:1], player{},
			[]time.Duration{ms(5000)}, turn.CounterFallbackEnds, nil},
		{"max_delay 1s", func(c *turn.SemanticConfig) { c.PrematureProbability, c.MaxDelay = 0, pipeline.Duration(time.Second) },
			[]seg{{ms(1000), ms(2000)}}, utterance(ms(1000), ms(9000))[:1], player{},
			[]time.Duration{ms(3000)}, turn.CounterFallbackEnds, nil},
		{"late_probability 1 waits max_delay at a true end", func(c *turn.SemanticConfig) { c.LateProbability = 1 },
			[]seg{{ms(1000), ms(2000)}}, utterance(ms(1000), ms(2000)), player{},
			[]time.Duration{ms(5000)}, turn.CounterLateEnds, nil},
		{"delay above max_delay is capped", func(c *turn.SemanticConfig) { c.Delay = pipeline.Const(5 * time.Second) },
			[]seg{{ms(1000), ms(2000)}}, utterance(ms(1000), ms(2000)), player{},
			[]time.Duration{ms(5000)}, "", nil},
		// The VAD missed the last short word (2.8–3.0 s): its silence from
		// 2 s is waited out as a pause until the frame with the true end
		// (arriving at 3.0 s) shows the utterance is over.
		{"a true end the VAD did not see", func(c *turn.SemanticConfig) { c.PrematureProbability = 0 },
			[]seg{{ms(1000), ms(2000)}}, utterance(ms(1000), ms(3000)), player{},
			[]time.Duration{ms(3500)}, "", nil},
	}
	counters := []string{turn.CounterPrematureEnds, turn.CounterLateEnds, turn.CounterFallbackEnds}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := run(t, semantic(tc.mod), script{segs: tc.segs, truth: tc.truth, player: tc.player})
			if got := o.turnEnds(t); !slices.Equal(got, tc.want) {
				t.Errorf("got turn ends %v; want %v", got, tc.want)
			}
			for _, name := range counters {
				want := int64(0)
				if name == tc.counter {
					want = 1
				}
				if got := o.s.Counters()[name]; got != want {
					t.Errorf("got %s = %d; want %d", name, got, want)
				}
			}
			var got []time.Duration
			for _, a := range o.player.of(pipeline.Interruption) {
				got = append(got, a.at)
			}
			if !slices.Equal(got, tc.interrupt) {
				t.Errorf("got interruptions at %v; want %v", got, tc.interrupt)
			}
		})
	}
}

// TestSemanticPrematureRate: over many seeds, a pause ends the turn
// prematurely never at p=0, always at p=1, and at about p otherwise.
func TestSemanticPrematureRate(t *testing.T) {
	const seeds = 1000
	paused := []seg{{ms(1000), ms(2000)}, {ms(2900), ms(3500)}}
	cases := []struct {
		p      float64
		lo, hi int // accepted count of premature ends
	}{
		{0, 0, 0}, {1, seeds, seeds}, {0.3, 250, 350},
	}
	for _, tc := range cases {
		premature := 0
		for seed := uint64(1); seed <= seeds; seed++ {
			o := run(t, semantic(func(c *turn.SemanticConfig) { c.PrematureProbability = tc.p }),
				script{segs: paused, truth: utterance(ms(1000), ms(3500)), seed: seed})
			ends := o.s.Timeline().Count(pipeline.MarkTurnEnd)
			if p := o.s.Counters()[turn.CounterPrematureEnds]; p == 1 {
				premature++
				if ends != 2 {
					t.Fatalf("p=%v seed %d: premature end but %d turn ends; want 2", tc.p, seed, ends)
				}
			} else if ends != 1 {
				t.Fatalf("p=%v seed %d: no premature end but %d turn ends; want 1", tc.p, seed, ends)
			}
		}
		if premature < tc.lo || premature > tc.hi {
			t.Errorf("p=%v: got %d premature ends in %d runs; want %d..%d", tc.p, premature, seeds, tc.lo, tc.hi)
		}
	}
}

// TestSemanticDelayDistribution: a distributed delay is drawn from the
// session's source: within its bounds, varying across seeds, identical for
// one seed.
func TestSemanticDelayDistribution(t *testing.T) {
	mod := func(c *turn.SemanticConfig) { c.Delay = pipeline.Uniform(ms(200), ms(400)) }
	sc := script{segs: []seg{{ms(1000), ms(2000)}}, truth: utterance(ms(1000), ms(2000))}
	seen := map[time.Duration]bool{}
	for seed := uint64(1); seed <= 50; seed++ {
		sc.seed = seed
		a := run(t, semantic(mod), sc).turnEnds(t)
		b := run(t, semantic(mod), sc).turnEnds(t)
		if len(a) != 1 || !slices.Equal(a, b) {
			t.Fatalf("seed %d: got turn ends %v and %v; want one, the same twice", seed, a, b)
		}
		if a[0] < ms(2200) || a[0] > ms(2400) {
			t.Errorf("seed %d: got turn end %v; want within [2.2s, 2.4s]", seed, a[0])
		}
		seen[a[0]] = true
	}
	if len(seen) < 40 {
		t.Errorf("got %d distinct turn-end times over 50 seeds; want ≥ 40 (delay not sampled per session)", len(seen))
	}
}
