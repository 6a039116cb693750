package native

import (
	"slices"
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
)

// TestScriptedReplies: both models answer the user's true transcript with
// the input script's reply, and fall back to the answer bank without one.
func TestScriptedReplies(t *testing.T) {
	u := newUser(t)
	q := questions()[1]
	for _, tc := range []struct {
		name    string
		stages  func() []pipeline.Named
		scripts bool
	}{
		{"realtime scripted", realtimeChain, true},
		{"realtime bank", realtimeChain, false},
		{"duplex scripted", duplexChain, true},
		{"duplex bank", duplexChain, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var asked []string
			opts := pipeline.Options{Seed: 4}
			if tc.scripts {
				opts.Replies = func(tr string) (string, bool) {
					asked = append(asked, tr)
					return "Your table is booked.", tr == q
				}
			}
			s := pipeline.NewSession(opts, tc.stages()...)
			s.Start()
			newMic(t, s, 5*time.Second, utterance{at: 300 * time.Millisecond, clip: u.say(q), text: q})
			runVirtual(s)
			m, ok := s.Timeline().First(pipeline.MarkResponseText, 1)
			if !ok {
				t.Fatal("no response.text")
			}
			if tc.scripts {
				if m.Text != "Your table is booked." || len(asked) != 1 || asked[0] != q {
					t.Errorf("answered %q after asking %q; want the scripted reply to %q", m.Text, asked, q)
				}
				return
			}
			if !slices.Contains(defaultAnswers(), m.Text) {
				t.Errorf("answered %q; want one of the bank's answers", m.Text)
			}
		})
	}
}

func realtimeChain() []pipeline.Named {
	return []pipeline.Named{
		{Name: "uplink", Stage: &wire{delay: 30 * time.Millisecond}},
		{Name: "turn", Stage: &silenceTurn{silence: 500 * time.Millisecond}},
		{Name: RealtimeName, Stage: NewRealtime(RealtimeDefaults())},
		{Name: "player", Stage: &player{}},
	}
}

func duplexChain() []pipeline.Named {
	return []pipeline.Named{
		{Name: "uplink", Stage: &wire{delay: 30 * time.Millisecond}},
		{Name: DuplexName, Stage: NewDuplex(DuplexDefaults())},
		{Name: "player", Stage: &player{}},
	}
}
