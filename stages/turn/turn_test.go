package turn_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/stages/turn"
	"go.yaml.in/yaml/v3"
)

func silence(mod func(*turn.SilenceConfig)) pipeline.Stage {
	c := turn.SilenceDefaults()
	if mod != nil {
		mod(c)
	}
	return turn.NewSilence(c)
}

func TestSilenceEndpointing(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*turn.SilenceConfig)
		segs []seg
		want []time.Duration // turn ends
	}{
		{"ends silence after the estimated offset", nil,
			[]seg{{ms(1000), ms(2000)}}, []time.Duration{ms(2500)}},
		{"silence 800ms", func(c *turn.SilenceConfig) { c.Silence = pipeline.Duration(ms(800)) },
			[]seg{{ms(1000), ms(2000)}}, []time.Duration{ms(2800)}},
		// The VAD reports the stop 150 ms after the offset: a shorter
		// silence has already passed, so the turn ends at once, never
		// before the report.
		{"silence shorter than the VAD's delay ends at the report", func(c *turn.SilenceConfig) { c.Silence = pipeline.Duration(ms(100)) },
			[]seg{{ms(1000), ms(2000)}}, []time.Duration{ms(2000) + vadStopDelay}},
		{"silence 0", func(c *turn.SilenceConfig) { c.Silence = 0 },
			[]seg{{ms(1000), ms(2000)}}, []time.Duration{ms(2000) + vadStopDelay}},
		{"a pause shorter than silence does not end the turn", nil,
			[]seg{{ms(1000), ms(2000)}, {ms(2200), ms(3000)}}, []time.Duration{ms(3500)}},
		// The VAD reports the resumption 230 ms after its onset: by then
		// the turn has ended. Endpointing cannot take it back; the turn
		// stage sees speech over a new response (a barge-in candidate).
		{"a resumption the VAD reports after the timeout is too late", nil,
			[]seg{{ms(1000), ms(2000)}, {ms(2300), ms(3000)}}, []time.Duration{ms(2500), ms(3500)}},
		// The resumption is reported 1 ns before the turn would have ended.
		{"speech resumed just before the timeout", nil,
			[]seg{{ms(1000), ms(2000)}, {ms(2500) - vadStartDelay - 1, ms(3000)}}, []time.Duration{ms(3500)}},
		{"two turns", nil,
			[]seg{{ms(1000), ms(2000)}, {ms(5000), ms(6000)}}, []time.Duration{ms(2500), ms(6500)}},
		{"no speech, no turn", nil, nil, nil},
		{"speech that never stops never ends a turn", nil, []seg{{ms(1000), 0}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := run(t, silence(tc.mod), script{segs: tc.segs})
			if got := o.turnEnds(t); !slices.Equal(got, tc.want) {
				t.Errorf("got turn ends %v; want %v", got, tc.want)
			}
			if got := o.s.Counters()[turn.CounterTurnEnds]; got != int64(len(tc.want)) {
				t.Errorf("got %s = %d; want %d", turn.CounterTurnEnds, got, len(tc.want))
			}
		})
	}
}

// TestStrayStopEndsNoTurn: a SpeechStopped with no SpeechStarted before it
// (e.g. the stage joined mid-speech) does not end a turn.
func TestStrayStopEndsNoTurn(t *testing.T) {
	s := pipeline.NewSession(pipeline.Options{}, pipeline.Named{Name: "turn", Stage: silence(nil)})
	s.Start()
	s.Input(pipeline.Frame{Kind: pipeline.SpeechStopped, At: 0})
	s.Clock().(*pipeline.VirtualClock).Run()
	if got := s.Timeline().Count(pipeline.MarkTurnEnd); got != 0 {
		t.Errorf("got %d turn ends; want 0", got)
	}
}

// TestBargeIn: the first turn (speech 1–2 s) ends at 2.5 s; its response
// plays from 2.8 s for 5 s. Then the user speaks over it.
func TestBargeIn(t *testing.T) {
	first := seg{ms(1000), ms(2000)}
	long := player{startAfter: ms(300), length: 5 * time.Second}
	cases := []struct {
		name          string
		mod           func(*turn.BargeIn)
		player        player
		over          seg
		interruptAt   []time.Duration // Interruption arrivals downstream
		turnEnds      []time.Duration
		backchannels  int64
		counter       string // counter expected at 1, if any
		playbackStops time.Duration
	}{
		{"speech of 1.5s interrupts at onset + 0.5s", nil, long, seg{ms(3500), ms(5000)},
			[]time.Duration{ms(4000)}, []time.Duration{ms(2500), ms(5500)}, 0, turn.CounterInterruptions, ms(4000)},
		{"a 300ms backchannel does not interrupt", nil, long, seg{ms(3500), ms(3800)},
			nil, []time.Duration{ms(2500)}, 1, "", ms(7800)},
		{"with min_interruption 0.25s the 300ms sound interrupts", func(b *turn.BargeIn) { b.MinInterruption = pipeline.Duration(ms(250)) },
			long, seg{ms(3500), ms(3800)},
			[]time.Duration{ms(3750)}, []time.Duration{ms(2500), ms(4300)}, 0, turn.CounterInterruptions, ms(3750)},
		// 0.2 s after the onset has passed when the VAD reports it (0.23 s):
		// the interruption is immediate.
		{"with min_interruption 0.2s the 300ms sound interrupts at the report", func(b *turn.BargeIn) { b.MinInterruption = pipeline.Duration(ms(200)) },
			long, seg{ms(3500), ms(3800)},
			[]time.Duration{ms(3500) + vadStartDelay}, []time.Duration{ms(2500), ms(4300)}, 0, turn.CounterInterruptions, ms(3500) + vadStartDelay},
		{"min_interruption 0 interrupts when the VAD reports the onset", func(b *turn.BargeIn) { b.MinInterruption = 0 },
			long, seg{ms(3500), ms(3800)},
			[]time.Duration{ms(3500) + vadStartDelay}, []time.Duration{ms(2500), ms(4300)}, 0, turn.CounterInterruptions, ms(3500) + vadStartDelay},
		// The VAD reports the onset 230 ms late; min_interruption 0.1s
		// has already passed, so the interruption is immediate.
		{"min_interruption shorter than the VAD's delay", func(b *turn.BargeIn) { b.MinInterruption = pipeline.Duration(ms(100)) },
			long, seg{ms(3500), ms(5000)},
			[]time.Duration{ms(3500) + vadStartDelay}, []time.Duration{ms(2500), ms(5500)}, 0, turn.CounterInterruptions, ms(3500) + vadStartDelay},
		{"interrupt false never interrupts; the speech is the next turn", func(b *turn.BargeIn) { b.Interrupt = false },
			long, seg{ms(3500), ms(5000)},
			nil, []time.Duration{ms(2500), ms(5500)}, 0, turn.CounterSpeechOverUninterruptible, ms(7800)},
		{"interrupt false still ignores a backchannel", func(b *turn.BargeIn) { b.Interrupt = false },
			long, seg{ms(3500), ms(3800)},
			nil, []time.Duration{ms(2500)}, 1, "", ms(7800)},
		// Playback starts only at 3.5 s: speech at 2.6 s cancels a
		// response the user has not heard yet.
		{"speech before the response is audible", nil, player{startAfter: ms(1000), length: 5 * time.Second}, seg{ms(2600), ms(4000)},
			[]time.Duration{ms(3100)}, []time.Duration{ms(2500), ms(4500)}, 0, turn.CounterInterruptionsBeforeAudio, 0},
		// Playback is over at 3.3 s: later speech is simply the next turn.
		{"speech after playback ended", nil, player{startAfter: ms(300), length: ms(500)}, seg{ms(3500), ms(3800)},
			nil, []time.Duration{ms(2500), ms(4300)}, 0, "", ms(3300)},
		// The response ends (3.9 s) while the speech is still a candidate:
		// nothing to interrupt, and the speech is a turn.
		{"response ends during the candidate speech", nil, player{startAfter: ms(300), length: ms(1100)}, seg{ms(3500), ms(5000)},
			nil, []time.Duration{ms(2500), ms(5500)}, 0, "", ms(3900)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stage := silence(func(c *turn.SilenceConfig) {
				if tc.mod != nil {
					tc.mod(&c.BargeIn)
				}
			})
			o := run(t, stage, script{segs: []seg{first, tc.over}, player: tc.player})
			var got []time.Duration
			for _, a := range o.player.of(pipeline.Interruption) {
				got = append(got, a.at)
				if a.f.Response != 1 {
					t.Errorf("got interruption of response %d; want 1", a.f.Response)
				}
			}
			if !slices.Equal(got, tc.interruptAt) {
				t.Errorf("got interruptions at %v; want %v", got, tc.interruptAt)
			}
			if got := o.turnEnds(t); !slices.Equal(got, tc.turnEnds) {
				t.Errorf("got turn ends %v; want %v", got, tc.turnEnds)
			}
			c := o.s.Counters()
			if got := c[turn.CounterBackchannelsIgnored]; got != tc.backchannels {
				t.Errorf("got %s = %d; want %d", turn.CounterBackchannelsIgnored, got, tc.backchannels)
			}
			for _, name := range []string{turn.CounterInterruptions, turn.CounterInterruptionsBeforeAudio, turn.CounterSpeechOverUninterruptible} {
				want := int64(0)
				if name == tc.counter {
					want = 1
				}
				if c[name] != want {
					t.Errorf("got %s = %d; want %d", name, c[name], want)
				}
			}
			bc := o.player.of(pipeline.Backchannel)
			if int64(len(bc)) != tc.backchannels {
				t.Errorf("got %d Backchannel frames; want %d", len(bc), tc.backchannels)
			}
			if tc.backchannels > 0 {
				m, ok := o.s.Timeline().First(pipeline.MarkBackchannelIgnored, 1)
				if !ok || m.At != tc.over.off+vadStopDelay {
					t.Errorf("got mark %+v (found %v); want %s for response 1 at %v", m, ok, pipeline.MarkBackchannelIgnored, tc.over.off+vadStopDelay)
				}
				if want := (tc.over.off - tc.over.on).Seconds(); len(bc) > 0 && (bc[0].f.At != tc.over.on || bc[0].f.Value != want) {
					t.Errorf("got Backchannel %v; want At %v, Value %v", bc[0].f, tc.over.on, want)
				}
			}
			if tc.playbackStops > 0 {
				var stops []time.Duration
				for _, f := range o.up {
					if f.Kind == pipeline.PlaybackStopped && f.Response == 1 {
						stops = append(stops, f.At)
					}
				}
				if len(stops) != 1 || stops[0] != tc.playbackStops {
					t.Errorf("got response 1 playback stopped at %v; want [%v]", stops, tc.playbackStops)
				}
			}
		})
	}
}

// TestInterruptionFromElsewhere: an Interruption that reaches the stage
// from upstream (a client cancel, a transport) clears the active response,
// so later speech is a plain turn, not a barge-in candidate.
func TestInterruptionFromElsewhere(t *testing.T) {
	p := &player{startAfter: ms(300), length: 5 * time.Second}
	s := pipeline.NewSession(pipeline.Options{},
		pipeline.Named{Name: "turn", Stage: silence(nil)}, pipeline.Named{Name: "player", Stage: p})
	s.Start()
	feed := func(f pipeline.Frame) { s.Input(f) }
	s.AfterFrame(ms(1230), pipeline.Frame{Kind: pipeline.SpeechStarted, At: ms(1000)}, feed)
	s.AfterFrame(ms(2240), pipeline.Frame{Kind: pipeline.SpeechStopped, At: ms(2000)}, feed)
	s.AfterFrame(ms(3000), pipeline.Frame{Kind: pipeline.Cancel, Response: 1}, feed)
	s.AfterFrame(ms(3730), pipeline.Frame{Kind: pipeline.SpeechStarted, At: ms(3500)}, feed)
	s.AfterFrame(ms(4040), pipeline.Frame{Kind: pipeline.SpeechStopped, At: ms(3800)}, feed)
	s.Clock().(*pipeline.VirtualClock).Run()
	if got := s.Counters()[turn.CounterBackchannelsIgnored]; got != 0 {
		t.Errorf("got %d backchannels; want 0 (no response was active)", got)
	}
	if got, want := s.Timeline().Count(pipeline.MarkTurnEnd), 2; got != want {
		t.Errorf("got %d turn ends; want %d", got, want)
	}
}

func TestInvalidConfig(t *testing.T) {
	cases := []struct {
		stage, yaml, field, value string
	}{
		{"turn.silence", "silence: -500ms", "silence", "-500ms"},
		{"turn.silence", "min_interruption: -1ms", "min_interruption", "-1ms"},
		{"turn.semantic", "min_interruption: -2s", "min_interruption", "-2s"},
		{"turn.semantic", "max_delay: 0", "max_delay", "0s"},
		{"turn.semantic", "max_delay: -3s", "max_delay", "-3s"},
		{"turn.semantic", "premature_probability: 1.5", "premature_probability", "1.5"},
		{"turn.semantic", "premature_probability: -0.1", "premature_probability", "-0.1"},
		{"turn.semantic", "late_probability: 2", "late_probability", "2"},
		{"turn.semantic", "delay: -5ms", "delay", "-5ms"},
		{"turn.semantic", "delay: {p50: 300ms, p95: 100ms}", "delay.p95", "100ms"},
	}
	r := pipeline.NewRegistry()
	turn.Register(r)
	for _, tc := range cases {
		t.Run(tc.stage+" "+tc.yaml, func(t *testing.T) {
			var n yaml.Node
			if err := yaml.Unmarshal([]byte(tc.yaml), &n); err != nil {
				t.Fatal(err)
			}
			_, err := r.Prepare(tc.stage, &n)
			var fe *pipeline.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("got error %v; want a *pipeline.FieldError", err)
			}
			if fe.Field != tc.field || fe.Value != tc.value || fe.Stage != tc.stage {
				t.Errorf("got stage %q field %q value %q; want %q, %q, %q (%v)", fe.Stage, fe.Field, fe.Value, tc.stage, tc.field, tc.value, err)
			}
		})
	}
	for _, name := range []string{"turn.silence", "turn.semantic"} {
		if _, err := r.Prepare(name); err != nil {
			t.Errorf("%s defaults: got %v; want valid", name, err)
		}
	}
	var n yaml.Node
	if err := yaml.Unmarshal([]byte("interrupt: false\nmin_interruption: 200ms\nsilence: 700ms"), &n); err != nil {
		t.Fatal(err)
	}
	p, err := r.Prepare("turn.silence", &n)
	if err != nil {
		t.Fatal(err)
	}
	got := p.Config.(*turn.SilenceConfig)
	want := turn.SilenceConfig{Silence: pipeline.Duration(ms(700)), BargeIn: turn.BargeIn{Interrupt: false, MinInterruption: pipeline.Duration(ms(200))}}
	if *got != want {
		t.Errorf("got config %+v; want %+v", *got, want)
	}
}
