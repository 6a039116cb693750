package playout_test

import (
	"strings"
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/stages/network"
	"github.com/voicesim/voicesim/stages/playout"
	"github.com/voicesim/voicesim/stages/tts"
)

// TestChainDailyReturnPath runs the return path of Daily's budget with the
// real stages — TTS, the daily-tuned downlink, the client's buffer and
// speaker — then a barge-in, and checks each leg's share and the heard text
// that travels back to the server.
func TestChainDailyReturnPath(t *testing.T) {
	reg := pipeline.NewRegistry()
	tts.Register(reg)
	network.Register(reg)
	playout.Register(reg)
	var stages []pipeline.Named
	for _, name := range []string{"tts.streaming", "network.downlink", "playout.jitter"} {
		p, err := reg.Prepare(name)
		if err != nil {
			t.Fatal(err)
		}
		stages = append(stages, pipeline.Named{Name: name, Stage: p.New()})
	}
	var s *pipeline.Session
	var up []pipeline.Frame
	var upAt []time.Duration
	s = pipeline.NewSession(pipeline.Options{Seed: 1, Output: func(f pipeline.Frame, dir pipeline.Direction) {
		if dir == pipeline.Upstream {
			up, upAt = append(up, f), append(upAt, s.Now())
		}
	}}, append([]pipeline.Named{{Name: "server", Stage: pipeline.PassThrough{}}}, stages...)...)
	s.Start()
	answer := "Sure, the museum opens at nine tomorrow. Tickets are twelve dollars for adults."
	req := time.Second
	for _, sentence := range strings.SplitAfter(answer, ". ") {
		s.AfterFrame(req, pipeline.Frame{Kind: pipeline.AssistantText, Response: 1, Text: sentence}, s.Input)
	}
	cut := req + 1500*time.Millisecond
	s.AfterFunc(cut, func() { s.Stage("server").Interrupt(1) })
	s.Clock().(*pipeline.VirtualClock).Run()

	tl := s.Timeline()
	at := func(name string) time.Duration {
		m, ok := tl.First(name, 1)
		if !ok {
			t.Fatalf("no %s mark", name)
		}
		return m.At
	}
	legs := []struct {
		from, to string
		want     time.Duration
	}{
		{pipeline.MarkTTSRequest, pipeline.MarkTTSFirstAudio, 80 * ms},           // TTS TTFB
		{pipeline.MarkTTSFirstAudio, pipeline.MarkClientFirstAudio, 72 * ms},     // return leg less the client buffer
		{pipeline.MarkClientFirstAudio, pipeline.MarkClientFirstPlayed, 55 * ms}, // jitter buffer 40 + speaker 15
	}
	for _, l := range legs {
		if got := at(l.to) - at(l.from); got != l.want {
			t.Errorf("%s → %s = %v; want %v", l.from, l.to, got, l.want)
		}
	}
	// The interruption reaches the client 12 ms later (signalling) and the
	// sound stops then; the report takes 12 ms back to the TTS.
	stop := cut + 12*ms
	end, _ := tl.First(pipeline.MarkClientPlayedEnd, 1)
	wantMs := float64(stop-at(pipeline.MarkClientFirstPlayed)) / float64(time.Millisecond)
	if end.At != stop || end.Value != wantMs {
		t.Errorf("played_end %v value %v; want %v value %v", end.At, end.Value, stop, wantMs)
	}
	var report *pipeline.Frame
	for i, f := range up {
		if f.Kind == pipeline.PlaybackStopped {
			report = &up[i]
			if upAt[i] != stop+12*ms {
				t.Errorf("report reached the server at %v; want %v", upAt[i], stop+12*ms)
			}
		}
	}
	if report == nil {
		t.Fatal("no playback report reached the server")
	}
	heard, _ := tl.First(pipeline.MarkHeard, 1)
	t.Logf("heard after %.0f ms: %q (%.0f%% of the text)", end.Value, heard.Text, 100*heard.Value)
	if report.Text == "" || report.Text == answer || !strings.HasPrefix(answer, report.Text) || heard.Text != report.Text {
		t.Errorf("heard %q (mark %q); want a proper prefix of %q", report.Text, heard.Text, answer)
	}
}
