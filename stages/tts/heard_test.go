package tts_test

import (
	"testing"
	"time"
	"unicode/utf8"

	"github.com/voicesim/voicesim/pipeline"
)

// TestHeardText: a playback report's ms played becomes the text the user
// heard: whole sentences whose speech played, then the words of the current
// sentence whose end was reached.
func TestHeardText(t *testing.T) {
	sy := defaultSynth(t)
	s0, s1 := answer[0], answer[1]
	full := s0 + " " + s1
	audio0 := time.Duration(frames(sy, s0)) * 20 * ms // s0's share of the audio, padded to frames
	between := func(a, b string) time.Duration {
		lo, hi := sy.SpeakDuration(a), sy.SpeakDuration(b)
		if lo >= hi {
			t.Fatalf("synth durations not increasing: %q %v, %q %v", a, lo, b, hi)
		}
		return (lo + hi) / 2
	}
	cases := []struct {
		name      string
		played    time.Duration
		interrupt bool
		want      string
	}{
		{"nothing", 0, false, ""},
		{"mid first sentence", between("Sure, the museum", "Sure, the museum opens"), false, "Sure, the museum"},
		{"just short of first", sy.SpeakDuration(s0) - ms, false, "Sure, the museum opens at nine"},
		{"first sentence", sy.SpeakDuration(s0), false, s0},
		{"into second", audio0 + between("Tickets are", "Tickets are twelve"), false, s0 + " Tickets are"},
		{"cut off into second", audio0 + between("Tickets are", "Tickets are twelve"), true, s0 + " Tickets are"},
		{"all", audio0 + time.Duration(frames(sy, s1))*20*ms, false, full},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := newRig(t, "")
			g.text(0, 3, s0)
			g.text(0, 3, s1)
			if tc.interrupt {
				g.Interrupt(time.Second, 3)
			} else {
				g.done(0, 3)
			}
			g.playbackStopped(10*time.Second, 3, msOf(tc.played))
			g.Run()
			var rep *rec
			for i, o := range g.Out {
				if o.F.Kind == pipeline.PlaybackStopped && o.Dir == pipeline.Upstream {
					rep = &g.Out[i]
				}
			}
			if rep == nil {
				t.Fatal("playback report not forwarded upstream")
			}
			if rep.F.Text != tc.want {
				t.Errorf("heard %q; want %q", rep.F.Text, tc.want)
			}
			m, ok := g.Mark(pipeline.MarkHeard, 3)
			wantFrac := float64(utf8.RuneCountInString(tc.want)) / float64(utf8.RuneCountInString(full))
			if !ok || m.Text != tc.want || m.Value != wantFrac || m.At != 10*time.Second {
				t.Errorf("response.heard = %q %.3f at %v (found %v); want %q %.3f at 10s", m.Text, m.Value, m.At, ok, tc.want, wantFrac)
			}
		})
	}
}

func TestPlaybackReportForOtherResponsePassesThrough(t *testing.T) {
	g := newRig(t, "")
	g.playbackStopped(time.Second, 9, 500)
	g.Run()
	if len(g.Out) != 1 || g.Out[0].F.Text != "" || g.Out[0].Dir != pipeline.Upstream {
		t.Errorf("out = %v; want the report unchanged, upstream", g.Out)
	}
	if _, ok := g.Mark(pipeline.MarkHeard, 9); ok {
		t.Error("response.heard stamped for a response the TTS never saw")
	}
}
