package web_test

import (
	"encoding/binary"
	"errors"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/web"
)

func lastTurn(evs []event, turn int) (pipeline.TurnMetrics, bool) {
	var tm pipeline.TurnMetrics
	ok := false
	for _, e := range evs {
		if e.Type == web.TypeTurnMetrics && e.Turn.Turn == turn {
			tm, ok = e.Turn, true
		}
	}
	return tm, ok
}

// askWeather starts a cascaded-streaming session that answers anything
// with a sunny forecast, and a mic that asks about the weather 0.5 s in;
// done is closed once the answer has begun playing (or after 20 s).
func askWeather(t *testing.T, hs *httptest.Server) (c *client, started event, s *streamer, done chan struct{}) {
	t.Helper()
	c, _, err := dial(t, wsURL(hs), nil)
	if err != nil {
		t.Fatal(err)
	}
	started = c.start(web.StartMessage{Preset: "cascaded-streaming", Client: "test",
		Replies: []web.Reply{{Text: "*", Reply: "Tomorrow will be sunny."}}})
	s = &streamer{}
	s.sayAt(500*time.Millisecond, loadClip(t, "weather"), 0, "What's the weather like in Paris tomorrow?", false)
	done = make(chan struct{})
	go func() {
		c.waitFor(20*time.Second, func(evs []event, _ []audioMsg) bool {
			tm, ok := lastTurn(evs, 0)
			return ok && tm.PlayedMs > 0
		})
		close(done)
	}()
	return c, started, s, done
}

// TestSessionAnswersRealSpeech streams a recorded question in real time as
// 20 ms frames and checks the session hears it, answers with audio, and
// reports the turn's metrics, then ends with a summary and a normal close.
func TestSessionAnswersRealSpeech(t *testing.T) {
	t.Parallel()
	_, hs := newServer(t, web.Config{})
	c, started, s, done := askWeather(t, hs)
	for _, st := range started.Stages {
		if st == "playout.jitter" || st == "network.uplink" {
			t.Errorf("server runs %s; want it left to the client (no network asked for)", st)
		}
	}
	c.stream(s, 12*time.Second, done)
	<-done

	evs := c.events()
	seen := map[string]int{}
	for _, e := range evs {
		seen[e.Type]++
	}
	for _, typ := range []string{web.TypeSpeechStarted, web.TypeSpeechStopped, web.TypeMark, web.TypeResponseDone, web.TypeTurnMetrics} {
		if seen[typ] == 0 {
			t.Errorf("no %s event; got %v", typ, seen)
		}
	}
	c.mu.Lock()
	nAudio := len(c.audio)
	c.mu.Unlock()
	if nAudio == 0 {
		t.Fatal("no assistant audio")
	}
	tm, ok := lastTurn(evs, 0)
	if !ok || !tm.Answered {
		t.Fatalf("turn 0 metrics %+v; want an answered turn", tm)
	}
	v2v := tm.Values[pipeline.MetricVoiceToVoice]
	if v2v <= 0 || tm.BreakdownSum() != v2v {
		t.Errorf("voice_to_voice %v, breakdown sums to %v; want equal and positive", v2v, tm.BreakdownSum())
	}
	if tm.Text != "Tomorrow will be sunny." {
		t.Errorf("answer text %q; want the scripted reply", tm.Text)
	}
	t.Logf("voice_to_voice %v over the wire; breakdown %v; %d audio frames", v2v, tm.Breakdown, nAudio)

	c.send(map[string]string{"type": web.TypeStop})
	<-c.done
	if sum, ok := c.firstOf(web.TypeSessionSummary); !ok || len(sum.Turns) != 1 {
		t.Errorf("summary %+v; want one turn", sum.Turns)
	}
	var ce *websocket.CloseError
	if !errors.As(c.closeErr, &ce) || ce.Code != websocket.CloseNormalClosure {
		t.Errorf("close %v; want 1000", c.closeErr)
	}
}

// TestBargeInStopsTheAudio talks over a long answer: the server interrupts
// the response, sends no more of its audio after the interruption, and the
// next turn's metrics show the barge-in and how long the assistant went on.
func TestBargeInStopsTheAudio(t *testing.T) {
	t.Parallel()
	_, hs := newServer(t, web.Config{})
	c, _, err := dial(t, wsURL(hs), nil)
	if err != nil {
		t.Fatal(err)
	}
	long := "A jet engine pulls air in at the front with a fan. The compressor squeezes that air to high pressure. " +
		"Fuel is sprayed in and burned, which heats the air and makes it expand. The hot gas rushes out of the back."
	c.start(web.StartMessage{Preset: "cascaded-streaming", Replies: []web.Reply{
		{Text: "Can you explain how a jet engine works?", Reply: long},
		{Text: "Wait, stop. Tell me about Rome instead.", Reply: "Rome is best explored on foot."}}})
	var s streamer
	s.sayAt(500*time.Millisecond, loadClip(t, "explain"), 0, "Can you explain how a jet engine works?", false)
	stop := make(chan struct{})
	go c.stream(&s, 20*time.Second, stop)
	defer close(stop)

	if !c.waitFor(15*time.Second, func(_ []event, audio []audioMsg) bool { return len(audio) > 0 }) {
		t.Fatal("no answer audio")
	}
	// Talk over the answer a second into it.
	s.sayAt(s.now()+time.Second, loadClip(t, "stop"), 1, "Wait, stop. Tell me about Rome instead.", true)
	var cut event
	if !c.waitFor(10*time.Second, func(evs []event, _ []audioMsg) bool {
		for _, e := range evs {
			if e.Type == web.TypeResponseInterrupted {
				cut = e
				return true
			}
		}
		return false
	}) {
		t.Fatal("the answer was never interrupted")
	}
	if !c.waitFor(10*time.Second, func(evs []event, _ []audioMsg) bool {
		tm, ok := lastTurn(evs, 1)
		_, stopped := tm.Values[pipeline.MetricBargeInStop]
		return ok && tm.BargeIn && stopped
	}) {
		t.Fatalf("no barge-in metrics for turn 1")
	}
	c.mu.Lock()
	var before, after int
	for _, a := range c.audio {
		if a.response != cut.Response {
			continue
		}
		if a.n < cut.n {
			before++
		} else {
			after++
		}
	}
	c.mu.Unlock()
	if before == 0 || after != 0 {
		t.Errorf("response %d: %d frames before the interruption, %d after; want some, then none", cut.Response, before, after)
	}
	tm, _ := lastTurn(c.events(), 1)
	t.Logf("barge_in_stop %v, overtalk %v; %d frames (%v) of the answer sent before the cut",
		tm.Values[pipeline.MetricBargeInStop], tm.Values[pipeline.MetricOvertalk], before, time.Duration(before)*pipeline.FrameDuration)
	if first, _ := lastTurn(c.events(), 0); !first.Truncated || first.PlayedMs <= 0 || first.Heard == "" || first.Heard == long {
		t.Errorf("turn 0: truncated %v, played %.0f ms, heard %q; want a truncated answer, partly heard", first.Truncated, first.PlayedMs, first.Heard)
	}
	noRepeatedTurns(t, c.events())
}

// noRepeatedTurns checks a turn's metrics are sent again only when they
// have changed: reports about turn 1 must not resend turn 0 as it was.
func noRepeatedTurns(t *testing.T, evs []event) {
	t.Helper()
	last := map[int]pipeline.TurnMetrics{}
	n := map[int]int{}
	for _, e := range evs {
		if e.Type != web.TypeTurnMetrics {
			continue
		}
		n[e.Turn.Turn]++
		if prev, ok := last[e.Turn.Turn]; ok && reflect.DeepEqual(prev, e.Turn) {
			t.Errorf("turn %d's metrics sent again unchanged (message %d for it)", e.Turn.Turn, n[e.Turn.Turn])
		}
		last[e.Turn.Turn] = e.Turn
	}
	if len(n) < 2 {
		t.Errorf("turn metrics for %d turns; want both", len(n))
	}
}

// TestEveryPresetAnswersLive: each architecture the page offers answers a
// question over the wire, with and without a simulated network on top.
func TestEveryPresetAnswersLive(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	t.Parallel()
	_, hs := newServer(t, web.Config{})
	for _, tc := range []struct{ preset, network string }{
		{"cascaded-streaming", "preset"},
		{"cascaded-voice-mode-2023", "none"},
		{"native-gpt4o", "broadband"},
		{"full-duplex-moshi", "none"},
	} {
		t.Run(tc.preset, func(t *testing.T) {
			t.Parallel()
			c, _, err := dial(t, wsURL(hs), nil)
			if err != nil {
				t.Fatal(err)
			}
			started := c.start(web.StartMessage{Preset: tc.preset, Network: tc.network})
			var s streamer
			s.sayAt(300*time.Millisecond, loadClip(t, "weather"), 0, "What's the weather like in Paris tomorrow?", false)
			done := make(chan struct{})
			go func() {
				c.waitFor(25*time.Second, func(evs []event, _ []audioMsg) bool {
					tm, ok := lastTurn(evs, 0)
					return ok && tm.Answered
				})
				close(done)
			}()
			c.stream(&s, 25*time.Second, done)
			<-done
			tm, ok := lastTurn(c.events(), 0)
			if !ok || !tm.Answered || tm.BreakdownSum() != tm.Values[pipeline.MetricVoiceToVoice] {
				t.Fatalf("%s (stages %v): turn 0 %+v; want an answer whose breakdown sums to voice_to_voice", tc.preset, started.Stages, tm)
			}
			t.Logf("%s, network %s: voice_to_voice %v", tc.preset, tc.network, tm.Values[pipeline.MetricVoiceToVoice])
		})
	}
}

// TestLateReadKeepsWhenSpeechEnded: the session's lane is busy when the
// frame ending the user's speech arrives, and reads it 200 ms late; the
// frame still enters the session when it came (the socket's receive
// stamp), so network_up — from the end of speech to the server having
// heard it, over loopback — stays near zero rather than taking in the
// server's own delay.
func TestLateReadKeepsWhenSpeechEnded(t *testing.T) {
	t.Parallel()
	srv, hs := newServer(t, web.Config{})
	c, _, s, done := askWeather(t, hs)

	const hold = 200 * time.Millisecond
	c.zero = time.Now()
	frame := make([]byte, 2*pipeline.FrameSamples)
	base, held := c.zero, false
	for k := 1; k <= 600; k++ {
		time.Sleep(time.Until(base.Add(pipeline.FrameDuration * time.Duration(k))))
		select {
		case <-done:
			k = 600
			continue
		default:
		}
		samples, truths := s.next()
		ends := false
		for _, tr := range truths {
			ends = ends || tr.Name == pipeline.MarkUserSpeechEnd
		}
		if ends {
			if n := srv.ReadByLanes(); n != 1 {
				t.Skipf("%d sessions read by their lanes: no socket to stamp here", n)
			}
			<-srv.Hold(hold)
			held = true
		}
		for _, tr := range truths {
			c.send(tr)
		}
		for i, v := range samples {
			binary.LittleEndian.PutUint16(frame[2*i:], uint16(v))
		}
		c.writeRaw(websocket.BinaryMessage, frame)
		if ends {
			// Nothing more until the lane has read that frame, so it is
			// read alone and its stamp is its own: the mic resumes after
			// the hold, as after a stall on the way.
			time.Sleep(hold + 50*time.Millisecond)
			base = base.Add(hold + 50*time.Millisecond)
		}
	}
	<-done
	if !held {
		t.Fatal("the speech's end was never sent")
	}
	tm, ok := lastTurn(c.events(), 0)
	if !ok || !tm.Answered {
		t.Fatalf("turn 0 metrics %+v; want an answered turn", tm)
	}
	up, ok := tm.Values[pipeline.MetricNetworkUp]
	if !ok {
		t.Fatalf("no %s in %v", pipeline.MetricNetworkUp, tm.Values)
	}
	// Loopback takes microseconds; 50 ms is for a busy machine. Read
	// without its stamp, the frame would be heard after the 200 ms hold.
	if up < 0 || up > 50*time.Millisecond {
		t.Errorf("%s %v with the frame read %v late; want when it came, within 50 ms", pipeline.MetricNetworkUp, up, hold)
	}
}
