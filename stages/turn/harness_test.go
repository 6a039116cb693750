package turn_test

import (
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
)

// Scripted VAD detection delays: the fake VAD reports an onset this long
// after it happened (start_secs 0.2 s + uplink) and an offset this long after
// it (stop_secs 0.12 s + uplink). The turn stage must time from the
// estimates in At, not from when the frames arrive. The stop delay is below
// 0.2 s so that a 300 ms backchannel is reported over before a 0.5 s
// min_interruption runs out, the case the barge-in rule is about; with a
// slower VAD the same sound interrupts (see TestBackchannelEndToEnd).
const (
	vadStartDelay = 230 * time.Millisecond
	vadStopDelay  = 150 * time.Millisecond
)

// seg is one stretch of user speech as the VAD estimates it.
type seg struct{ on, off time.Duration }

// truthFrame is a user audio frame carrying truth flags (the rest of the
// audio does not matter to a turn stage).
type truthFrame struct {
	at    time.Duration
	flags pipeline.Flags
}

// player is a fake downstream client: after a TurnEnded it starts playing
// the response startAfter later and plays it for length, reporting
// PlaybackStarted/PlaybackStopped upstream; an Interruption stops it at
// once. It records every frame that reaches it.
type player struct {
	startAfter, length time.Duration
	ctx                *pipeline.Context
	got                []arrival
	playing            map[pipeline.ResponseID]bool
	upFn               func(pipeline.Frame)
}

type arrival struct {
	at time.Duration
	f  pipeline.Frame
}

func (p *player) Start(ctx *pipeline.Context) {
	p.ctx = ctx
	p.upFn = p.report
	p.playing = map[pipeline.ResponseID]bool{}
}

func (p *player) Handle(ctx *pipeline.Context, f pipeline.Frame, dir pipeline.Direction) {
	if dir != pipeline.Downstream {
		return
	}
	p.got = append(p.got, arrival{ctx.Now(), f})
	switch f.Kind {
	case pipeline.TurnEnded:
		// Scheduled in the response's scope: an interruption cancels it.
		ctx.AfterFrame(p.startAfter, pipeline.Frame{Kind: pipeline.PlaybackStarted, Response: f.Response}, p.upFn)
	case pipeline.Interruption:
		for r := range p.playing {
			if r <= f.Response {
				p.report(pipeline.Frame{Kind: pipeline.PlaybackStopped, Response: r})
			}
		}
	}
}

func (p *player) report(f pipeline.Frame) {
	f.At = p.ctx.Now()
	switch f.Kind {
	case pipeline.PlaybackStarted:
		p.playing[f.Response] = true
		p.ctx.AfterFrame(p.length, pipeline.Frame{Kind: pipeline.PlaybackStopped, Response: f.Response}, p.upFn)
	case pipeline.PlaybackStopped:
		if !p.playing[f.Response] {
			return // already stopped by an interruption
		}
		delete(p.playing, f.Response)
	}
	p.ctx.PushUp(f)
}

// of returns the arrivals of kind k.
func (p *player) of(k pipeline.Kind) []arrival {
	var out []arrival
	for _, a := range p.got {
		if a.f.Kind == k {
			out = append(out, a)
		}
	}
	return out
}

type script struct {
	segs   []seg
	truth  []truthFrame
	player player
	seed   uint64
}

type outcome struct {
	s      *pipeline.Session
	player *player
	up     []pipeline.Frame // frames leaving the chain upstream
}

// run drives stage with the script on a virtual clock: the VAD's frames at
// their detection times, truth frames 20 ms after their capture.
func run(t testing.TB, stage pipeline.Stage, sc script) outcome {
	t.Helper()
	out := outcome{player: &sc.player}
	if out.player.startAfter == 0 && out.player.length == 0 {
		out.player.startAfter, out.player.length = 300*time.Millisecond, time.Second
	}
	s := pipeline.NewSession(pipeline.Options{Seed: sc.seed, Output: func(f pipeline.Frame, dir pipeline.Direction) {
		if dir == pipeline.Upstream {
			out.up = append(out.up, f)
		}
	}}, pipeline.Named{Name: "turn", Stage: stage}, pipeline.Named{Name: "player", Stage: out.player})
	s.Start()
	feed := func(f pipeline.Frame) { s.Input(f) }
	for _, g := range sc.segs {
		s.AfterFrame(g.on+vadStartDelay, pipeline.Frame{Kind: pipeline.SpeechStarted, At: g.on}, feed)
		if g.off > g.on {
			s.AfterFrame(g.off+vadStopDelay, pipeline.Frame{Kind: pipeline.SpeechStopped, At: g.off}, feed)
		}
	}
	buf := make([]int16, pipeline.FrameSamples)
	for _, tf := range sc.truth {
		f := pipeline.Frame{Kind: pipeline.UserAudio, At: tf.at, Flags: tf.flags, Audio: buf}
		s.AfterFrame(tf.at+pipeline.FrameDuration, f, feed)
	}
	s.Clock().(*pipeline.VirtualClock).Run()
	out.s = s
	return out
}

// turnEnds returns the arrival times of TurnEnded frames and checks that
// each carries a fresh response ID and a matching turn.end mark.
func (o outcome) turnEnds(t testing.TB) []time.Duration {
	t.Helper()
	var out []time.Duration
	for i, a := range o.player.of(pipeline.TurnEnded) {
		if want := pipeline.ResponseID(i + 1); a.f.Response != want {
			t.Errorf("turn end %d: got response %d; want %d", i, a.f.Response, want)
		}
		if a.f.At != a.at {
			t.Errorf("turn end %d: got At %v; want the detection time %v", i, a.f.At, a.at)
		}
		m, ok := o.s.Timeline().First(pipeline.MarkTurnEnd, a.f.Response)
		if !ok || m.At != a.at {
			t.Errorf("turn end %d: got mark %+v (found %v); want turn.end at %v", i, m, ok, a.at)
		}
		out = append(out, a.at)
	}
	return out
}

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }
