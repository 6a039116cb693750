package catalog_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
)

const longReply = "A jet engine pulls air in at the front with a fan. The compressor squeezes that air to high pressure. " +
	"Fuel is sprayed in and burned, which heats the air and makes it expand. The hot gas rushes out of the back, " +
	"spinning a turbine that drives the compressor, and the exhaust pushes the plane forward."

// bargeIn: a long answer, interrupted 1.5 s into its audio.
func bargeIn(t testing.TB) *pipeline.Mic {
	u1 := clip(t, "explain").Utterance("Can you explain how a jet engine works?", longReply)
	u1.Offset = 500 * time.Millisecond
	u2 := clip(t, "stop").Utterance("Wait, stop. Tell me about Rome instead.", "Rome is best explored on foot.")
	u2.Trigger, u2.Offset, u2.BargeIn = pipeline.IntoAssistant, 1500*time.Millisecond, true
	return &pipeline.Mic{Utterances: []pipeline.Utterance{u1, u2}}
}

type heardFrame struct {
	at time.Duration
	f  pipeline.Frame
}

// simulateHeard runs a session and records every assistant frame the
// listener heard (playout sends them out of the chain as they reach the ear).
func simulateHeard(t testing.TB, name string, over map[string]string, mic *pipeline.Mic, seed uint64) (*pipeline.Session, []heardFrame) {
	t.Helper()
	a := arch(t, name, over)
	var heard []heardFrame
	var s *pipeline.Session
	s = a.NewSession(pipeline.Options{Seed: seed, Replies: mic.Replies, Output: func(f pipeline.Frame, dir pipeline.Direction) {
		mic.Output(f, dir)
		if f.Kind == pipeline.AssistantAudio && dir == pipeline.Downstream {
			heard = append(heard, heardFrame{s.Now(), f})
		}
	}})
	s.Start()
	if err := mic.Start(s); err != nil {
		t.Fatal(err)
	}
	s.Clock().(*pipeline.VirtualClock).Run()
	return s, heard
}

// TestBargeInStopsExactly: the user talks over the answer at a known time.
// The assistant's audio stops exactly when the interruption, decided by the
// turn stage, has crossed the downlink to the client and flushed its buffer
// (daily-tuned signalling: 10 ms network + 2 ms packet handling); nothing of
// the answer is heard after that; and the history keeps only what was
// heard.
func TestBargeInStopsExactly(t *testing.T) {
	for _, name := range []string{"cascaded-streaming", "native-gpt4o"} {
		t.Run(name, func(t *testing.T) {
			// Constant networks make the interruption's trip exact.
			over := map[string]string{"network.uplink": "profile: daily-tuned", "network.downlink": "profile: daily-tuned"}
			s, heard := simulateHeard(t, name, over, bargeIn(t), 3)
			tl := s.Timeline()
			turns := tl.Turns()
			if len(turns) < 2 {
				t.Fatalf("got %d turns; want 2", len(turns))
			}
			r := turns[0].Response
			cut, ok := tl.First(pipeline.MarkInterrupted, r)
			if !ok {
				t.Fatalf("response %d was not interrupted: %+v", r, turns[1])
			}
			end, ok := tl.First(pipeline.MarkClientPlayedEnd, r)
			if !ok {
				t.Fatal("no client.played_end for the interrupted answer")
			}
			const signal = 12 * time.Millisecond
			if got, want := end.At, cut.At+signal; got != want {
				t.Errorf("playback stopped at %v; want interruption %v + downlink signalling %v = %v", got, cut.At, signal, want)
			}
			onset := turns[1].SpeechEnd // placeholder, replaced below
			for _, m := range tl.Marks {
				if m.Name == pipeline.MarkUserSpeechStart && m.Turn == 1 {
					onset = m.At
				}
			}
			tm := turns[1]
			if !tm.BargeIn || tm.MissedInterruption {
				t.Fatalf("turn 1 barge-in %v missed %v; want a barge-in that worked", tm.BargeIn, tm.MissedInterruption)
			}
			if got, want := tm.Values[pipeline.MetricBargeInStop], (cut.At-onset)+signal; got != want {
				t.Errorf("barge_in_stop = %v; want detection %v + signalling %v = %v", got, cut.At-onset, signal, want)
			}
			for _, h := range heard {
				if h.f.Response == r && h.at > end.At {
					t.Fatalf("answer audio heard at %v, after playback stopped at %v", h.at, end.At)
				}
			}
			a := turns[0]
			if !a.Truncated || a.Heard == "" || a.Heard == a.Text || !strings.HasPrefix(a.Text, a.Heard) {
				t.Fatalf("history: truncated %v, heard %q of %q; want a strict prefix", a.Truncated, a.Heard, a.Text)
			}
			// The heard text is in proportion to the audio played: 1.5 s
			// in, of an answer of ~20 s of speech.
			frac := float64(len(a.Heard)) / float64(len(a.Text))
			t.Logf("%s: played %.0f ms, heard %q (%.0f%% of the text), barge_in_stop %v", name, a.PlayedMs, a.Heard, 100*frac, tm.Values[pipeline.MetricBargeInStop])
			if frac <= 0 || frac > 0.4 {
				t.Errorf("heard %.0f%% of the text after %.0f ms of audio; want a small prefix", 100*frac, a.PlayedMs)
			}
			if !tm.Answered {
				t.Error("the barge-in turn itself was not answered")
			}
			if name == "native-gpt4o" {
				// The Realtime API's truncation point is the audio the
				// client actually played, in whole milliseconds.
				m, ok := tl.First("native.audio_end_ms", r)
				if !ok || m.Value != math.Floor(a.PlayedMs) {
					t.Errorf("audio_end_ms %v (found %v); want the %v ms played", m.Value, ok, a.PlayedMs)
				}
			}
		})
	}
}

// TestBackchannelDoesNotInterrupt: a 300 ms "uh-huh" during the answer
// does not stop it under the 0.5 s minimum interruption (cascade) nor the
// full-duplex model; with the native server-VAD preset it does, and the
// report shows that as a false interruption.
func TestBackchannelDoesNotInterrupt(t *testing.T) {
	mic := func() *pipeline.Mic {
		u1 := clip(t, "restaurant").Utterance("Can you recommend a good restaurant near the Eiffel Tower?",
			"Try Les Ombres, on the roof of the Quai Branly museum. It has a view of the tower and a seasonal menu, and you should book a few days ahead.")
		u1.Offset = 500 * time.Millisecond
		u2 := clip(t, "uhhuh").Utterance("uh-huh", "")
		u2.Trigger, u2.Offset, u2.Backchannel = pipeline.IntoAssistant, 1200*time.Millisecond, true
		return &pipeline.Mic{Utterances: []pipeline.Utterance{u1, u2}}
	}
	cases := []struct {
		preset    string
		interrupt bool
	}{{"cascaded-streaming", false}, {"full-duplex-moshi", false}, {"native-gpt4o", true}}
	for _, tc := range cases {
		t.Run(tc.preset, func(t *testing.T) {
			for seed := uint64(1); seed <= 5; seed++ {
				s, _ := simulateHeard(t, tc.preset, nil, mic(), seed)
				tm := s.Timeline().Turns()[0]
				if tm.Backchannels != 1 {
					t.Fatalf("seed %d: %d backchannels during the answer; want 1", seed, tm.Backchannels)
				}
				got := tm.FalseInterruptions == 1
				if got != tc.interrupt || tm.Truncated != tc.interrupt {
					t.Errorf("seed %d: false interruption %v, truncated %v; want %v", seed, got, tm.Truncated, tc.interrupt)
				}
			}
		})
	}
}

// TestLossyNetworkCompletes: over a bursty, jittery mobile network frames
// are lost and late; they are counted, concealed, and every turn is still
// answered with a breakdown that sums.
func TestLossyNetworkCompletes(t *testing.T) {
	over := map[string]string{"network.uplink": "profile: poor-mobile", "network.downlink": "profile: poor-mobile"}
	var lost, concealed int64
	for seed := uint64(1); seed <= 10; seed++ {
		s, _ := simulateHeard(t, "cascaded-streaming", over, qa(t), seed)
		c := s.Counters()
		lost += c["network.up.lost"] + c["network.down.lost"]
		concealed += c["playout.concealed"] + c["playout.late"] + c["playout.underruns"]
		for _, tm := range s.Timeline().Turns() {
			if !tm.Answered {
				t.Fatalf("seed %d turn %d not answered over the lossy network", seed, tm.Turn)
			}
			if tm.BreakdownSum() != tm.Values[pipeline.MetricVoiceToVoice] {
				t.Fatalf("seed %d turn %d: breakdown does not sum", seed, tm.Turn)
			}
		}
	}
	t.Logf("lost %d frames, %d concealed/late/underrun at the client", lost, concealed)
	if lost == 0 || concealed == 0 {
		t.Errorf("lost %d, concealed %d; want both counted under poor-mobile", lost, concealed)
	}
}
