package network_test

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
)

func TestConstantDelayExact(t *testing.T) {
	cases := []struct {
		name, stage, src string
		kind             pipeline.Kind
		want             time.Duration
	}{
		// Daily: mic 40 + enc 30 + net 10 + packet 2 + dec 30, + 40 ms jitter buffer.
		{"daily uplink audio", "network.uplink", "", pipeline.UserAudio, 152 * time.Millisecond},
		// Daily's 112 ms return leg less the client's 40 ms jitter buffer (playout).
		{"daily downlink audio", "network.downlink", "", pipeline.AssistantAudio, 72 * time.Millisecond},
		// Signalling skips the codec and jitter buffer: net 10 + packet 2.
		{"daily downlink text", "network.downlink", "", pipeline.AssistantText, 12 * time.Millisecond},
		{"daily uplink signal", "network.uplink", "", pipeline.TurnEnded, 12 * time.Millisecond},
		{"delay + daily codec", "network.downlink", "{delay: 37ms}", pipeline.AssistantAudio, 99 * time.Millisecond},
		{"delay alone", "network.downlink", "{profile: lan, delay: 37ms, audio_overhead: 0s, jitter: 0}", pipeline.AssistantAudio, 37 * time.Millisecond},
		{"delay alone tcp", "network.uplink", "{delay: 41ms, audio_overhead: 0s, jitter_buffer: 0s, transport: tcp}", pipeline.UserAudio, 41 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := newRig(t, tc.stage, tc.src, 1)
			start := 100 * time.Millisecond
			g.audio(tc.kind, 0, start, 10)
			g.run()
			if len(g.rec.got) != 10 {
				t.Fatalf("got %d frames; want 10", len(g.rec.got))
			}
			for i, a := range g.rec.got {
				if got := a.at - a.f.At; got != tc.want {
					t.Errorf("frame %d took %v; want %v", i, got, tc.want)
				}
				if a.f.Seq != uint64(i) {
					t.Errorf("frame %d arrived as #%d; want in order", a.f.Seq, i)
				}
			}
		})
	}
}

func TestReverseDelay(t *testing.T) {
	cases := []struct {
		src  string
		want time.Duration
	}{
		{"", 12 * time.Millisecond},              // daily-tuned signalling: net 10 + packet 2
		{"{delay: 50ms}", 52 * time.Millisecond}, // the same route back
		{"{delay: 50ms, reverse_delay: 25ms}", 27 * time.Millisecond},
		{"{reverse_delay: 25ms, signal_overhead: 0s}", 25 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.src, func(t *testing.T) {
			g := newRig(t, "network.downlink", tc.src, 1)
			at := 300 * time.Millisecond
			g.s.AfterFunc(at, func() {
				g.s.InputUp(pipeline.Frame{Kind: pipeline.PlaybackStopped, Response: 1, Value: 480})
			})
			g.run()
			if len(g.out) != 1 || g.out[0].f.Kind != pipeline.PlaybackStopped {
				t.Fatalf("left upstream: %v; want one playback_stopped", g.out)
			}
			if got := g.out[0].at - at; got != tc.want {
				t.Errorf("reverse trip took %v; want %v", got, tc.want)
			}
		})
	}
}

// sendOrder returns the arrivals' Seq in arrival order, and how many
// frames arrived ahead of a frame sent before them.
func sendOrder(got []arrival) (seqs []uint64, overtakes int) {
	at := map[uint64]time.Duration{}
	for _, a := range got {
		seqs = append(seqs, a.f.Seq)
		at[a.f.Seq] = a.at
	}
	bySeq := slices.Sorted(maps.Keys(at))
	var latest time.Duration
	for i, q := range bySeq {
		if i > 0 && at[q] < latest {
			overtakes++
		}
		latest = max(latest, at[q])
	}
	return seqs, overtakes
}

func TestJitterReordersUDPNotTCP(t *testing.T) {
	const n = 300
	for _, tc := range []struct {
		transport string
		reorder   bool
	}{{"udp", true}, {"tcp", false}} {
		t.Run(tc.transport, func(t *testing.T) {
			src := "{delay: 50ms, audio_overhead: 0s, jitter: {min: 0s, max: 60ms}, loss: 0, transport: " + tc.transport + "}"
			g := newRig(t, "network.downlink", src, 42)
			g.audio(pipeline.AssistantAudio, 1, 0, n)
			g.run()
			if len(g.rec.got) != n {
				t.Fatalf("got %d frames; want %d (no loss configured)", len(g.rec.got), n)
			}
			seqs, overtakes := sendOrder(g.rec.got)
			counted := g.count("network.down.reordered")
			if tc.reorder {
				if overtakes == 0 {
					t.Fatalf("udp with 60 ms jitter at 20 ms spacing delivered in order: %v", seqs[:20])
				}
				if counted != int64(overtakes) {
					t.Errorf("network.down.reordered = %d; want %d (frames that arrived ahead of one sent earlier)", counted, overtakes)
				}
			} else {
				if !slices.IsSorted(seqs) {
					t.Errorf("tcp delivered out of order: %v", seqs)
				}
				if counted != 0 {
					t.Errorf("tcp counted %d reordered; want 0", counted)
				}
			}
			// Every packet took delay plus a jitter draw within bounds (tcp
			// may wait longer behind a slower predecessor).
			for _, a := range g.rec.got {
				d := a.at - a.f.At
				if d < 50*time.Millisecond || (tc.reorder && d > 110*time.Millisecond) {
					t.Errorf("frame %d took %v; want within [50ms, 110ms]", a.f.Seq, d)
				}
			}
		})
	}
}

func TestJitterBufferDeliversInOrderAndDropsLate(t *testing.T) {
	g := newRig(t, "network.uplink", "{delay: 100ms, audio_overhead: 0s, jitter: {min: 0s, max: 60ms}, jitter_buffer: 40ms, loss: 0}", 3)
	const n = 500
	g.audio(pipeline.UserAudio, 0, 0, n)
	g.run()
	late := g.count("network.up.late")
	if late == 0 || late > n/2 {
		t.Fatalf("late = %d; want some but under half (jitter uniform to 60 ms over a 40 ms buffer drops ~1/3)", late)
	}
	if got, want := int64(len(g.rec.got))+late, int64(n); got != want {
		t.Errorf("delivered + late = %d; want %d", got, want)
	}
	seqs, _ := sendOrder(g.rec.got)
	if !slices.IsSorted(seqs) {
		t.Errorf("jitter buffer delivered out of order")
	}
	for _, a := range g.rec.got {
		if d := a.at - a.f.At; d != 140*time.Millisecond {
			t.Fatalf("frame %d took %v; want exactly delay + buffer = 140ms", a.f.Seq, d)
		}
	}
}

func TestLossCountedControlNeverLost(t *testing.T) {
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			g := newRig(t, "network.downlink", "{delay: 30ms, jitter: 0, loss: 0.3, transport: "+transport+"}", 9)
			const n = 1000
			g.audio(pipeline.AssistantAudio, 1, 0, n)
			kinds := []pipeline.Kind{pipeline.AssistantText, pipeline.ResponseDone, pipeline.PlaybackStarted, pipeline.TurnEnded}
			for i := range 100 {
				g.send(time.Duration(i)*200*time.Millisecond+time.Millisecond, pipeline.Frame{Kind: kinds[i%len(kinds)], Response: 1})
			}
			g.run()
			audio, control := 0, 0
			for _, a := range g.rec.got {
				if a.f.Kind == pipeline.AssistantAudio {
					audio++
				} else {
					control++
				}
			}
			if control != 100 {
				t.Errorf("got %d control frames; want all 100", control)
			}
			lost, rtx := g.count("network.down.lost"), g.count("network.down.retransmits")
			if transport == "udp" {
				if got, want := int64(audio), int64(n)-lost; got != want {
					t.Errorf("audio delivered %d; want %d − %d lost", got, n, lost)
				}
				// Binomial(1000, 0.3): mean 300, sd 14.5.
				if lost < 240 || lost > 360 {
					t.Errorf("lost %d of %d at p 0.3; want 240..360", lost, n)
				}
			} else {
				if audio != n || lost != 0 {
					t.Errorf("tcp delivered %d audio, lost %d; want %d, 0 (reliable)", audio, lost, n)
				}
				// Each attempt fails with p 0.3: about n·0.3/0.7 = 429 retransmits.
				if rtx < 350 || rtx > 510 {
					t.Errorf("retransmits = %d; want 350..510", rtx)
				}
			}
		})
	}
}

// TestRetransmitHeadOfLineBlocking: over TCP a lost packet arrives an RTO
// late and every packet behind it waits for it, so more packets are late
// than were lost; every delay is the RTO ladder or the wait behind a
// predecessor.
func TestRetransmitHeadOfLineBlocking(t *testing.T) {
	const delay, rto = 40 * time.Millisecond, 200 * time.Millisecond
	g := newRig(t, "network.downlink", "{delay: 40ms, audio_overhead: 0s, jitter: 0, loss: 0.05, transport: websocket, rto: 200ms}", 5)
	const n = 500
	g.audio(pipeline.AssistantAudio, 1, 0, n)
	g.run()
	if len(g.rec.got) != n {
		t.Fatalf("got %d frames; want %d", len(g.rec.got), n)
	}
	rtx := g.count("network.down.retransmits")
	if rtx == 0 {
		t.Fatal("no retransmissions at 5% loss over 500 packets")
	}
	ladder := map[time.Duration]bool{}
	for k, r := time.Duration(0), rto; k < 10*rto; k, r = k+r, 2*r {
		ladder[delay+k] = true // 40, 240, 640, 1440 ms ...
	}
	delayed, blocked := 0, 0
	var prev time.Duration
	for i, a := range g.rec.got {
		if a.f.Seq != uint64(i) {
			t.Fatalf("arrival %d is #%d; want in order", i, a.f.Seq)
		}
		d := a.at - a.f.At
		if d > delay {
			delayed++
		}
		switch {
		case ladder[d] && a.at >= prev:
		case a.at == prev && d > delay:
			blocked++ // held behind its predecessor
		default:
			t.Errorf("frame %d took %v: neither delay + RTO ladder nor waiting behind frame %d (at %v)", i, d, i-1, prev)
		}
		prev = a.at
	}
	if blocked == 0 {
		t.Errorf("no packet waited behind a retransmission; want head-of-line blocking")
	}
	if int64(delayed) <= rtx {
		t.Errorf("%d packets delayed, %d retransmits; want more delayed than lost (HOL)", delayed, rtx)
	}
}

func TestGilbertElliottLongRunLoss(t *testing.T) {
	cases := []struct {
		name, src string
		want      float64
	}{
		{"random", "{loss: 0.02}", 0.02},
		// π_bad = 0.02/0.27; loss = (1−π)·0.01 + π·0.5 = 0.04630.
		{"poor-mobile burst", "{profile: poor-mobile}", 0.04630},
		{"pure burst", "{loss: 0, burst: {p_good_to_bad: 0.01, p_bad_to_good: 0.3, loss_bad: 1}}", 0.01 / 0.31},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := newRig(t, "network.uplink", tc.src, 11)
			const n = 40000
			g.audio(pipeline.UserAudio, 0, 0, n)
			g.run()
			got := float64(g.count("network.up.lost")) / n
			if got < tc.want*0.85 || got > tc.want*1.15 {
				t.Errorf("loss rate %.4f; want %.4f ± 15%%", got, tc.want)
			}
		})
	}
}

func TestMarks(t *testing.T) {
	t.Run("server speech end", func(t *testing.T) {
		for _, src := range []string{"", "{loss: 1}"} { // a lost frame still carries the truth
			g := newRig(t, "network.uplink", src, 1)
			g.audio(pipeline.UserAudio, 0, 0, 5)
			g.send(100*time.Millisecond, pipeline.Frame{Kind: pipeline.UserAudio, Flags: pipeline.FlagSpeechEnd, Audio: make([]int16, 480)})
			g.run()
			m, ok := g.s.Timeline().First(pipeline.MarkServerSpeechEnd, 0)
			if !ok {
				t.Fatalf("%q: no %s mark", src, pipeline.MarkServerSpeechEnd)
			}
			if got, want := m.At, 252*time.Millisecond; got != want {
				t.Errorf("%q: %s at %v; want %v", src, m.Name, got, want)
			}
			if n := g.s.Timeline().Count(pipeline.MarkServerSpeechEnd); n != 1 {
				t.Errorf("%q: %d speech-end marks; want 1", src, n)
			}
		}
	})
	t.Run("client first audio", func(t *testing.T) {
		g := newRig(t, "network.downlink", "", 1)
		g.audio(pipeline.AssistantAudio, 1, 1000*time.Millisecond, 5)
		g.audio(pipeline.AssistantAudio, 2, 3000*time.Millisecond, 5)
		g.run()
		for r, want := range map[pipeline.ResponseID]time.Duration{1: 1072 * time.Millisecond, 2: 3072 * time.Millisecond} {
			m, ok := g.s.Timeline().First(pipeline.MarkClientFirstAudio, r)
			if !ok || m.At != want {
				t.Errorf("response %d first audio at %v (found %v); want %v", r, m.At, ok, want)
			}
		}
		if n := g.s.Timeline().Count(pipeline.MarkClientFirstAudio); n != 2 {
			t.Errorf("%d first-audio marks; want 2 (once per response)", n)
		}
	})
}

// TestInterruptionCrossesTheWire: the leg forwards an interruption itself,
// delayed as a signal, and does not recall audio already on the wire; the
// far end drops what arrives after the interruption.
func TestInterruptionCrossesTheWire(t *testing.T) {
	cases := []struct {
		name, src string
		at        time.Duration // the interruption's arrival (sent at 90 ms)
		before    int           // audio frames arriving before it
	}{
		// Audio sent at 0..80 ms arrives at 50..130 ms.
		{"flat", "{delay: 50ms, audio_overhead: 0s, signal_overhead: 0s, jitter: 0}", 140 * time.Millisecond, 5},
		// Daily: audio takes 72 ms, the signal 12 ms: only frames sent at 0
		// and 20 ms (arriving 72, 92 ms) beat it.
		{"daily", "", 102 * time.Millisecond, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := newRig(t, "network.downlink", tc.src, 1)
			g.audio(pipeline.AssistantAudio, 1, 0, 10) // sent 0..180 ms
			g.send(90*time.Millisecond, pipeline.Frame{Kind: pipeline.Interruption, Response: 1})
			g.run()
			var kinds []pipeline.Kind
			var intAt time.Duration
			for _, a := range g.rec.got {
				kinds = append(kinds, a.f.Kind)
				if a.f.Kind == pipeline.Interruption {
					intAt = a.at
				}
			}
			if intAt != tc.at {
				t.Errorf("interruption arrived at %v; want %v", intAt, tc.at)
			}
			want := make([]pipeline.Kind, tc.before+1)
			for i := range tc.before {
				want[i] = pipeline.AssistantAudio
			}
			want[tc.before] = pipeline.Interruption
			if !slices.Equal(kinds, want) {
				t.Errorf("far end saw %v; want %v", kinds, want)
			}
		})
	}
}

func TestParamsOfProfiles(t *testing.T) {
	for _, name := range []string{"network.uplink", "network.downlink"} {
		for _, prof := range []string{"lan", "broadband", "4g", "poor-mobile", "daily-tuned"} {
			if _, err := prepare(t, name, "profile: "+prof); err != nil {
				t.Errorf("%s profile %s: %v", name, prof, err)
			}
		}
	}
}

func TestInvalidConfigNamesFieldAndValue(t *testing.T) {
	cases := []struct{ src, field, value string }{
		{"profile: 5g", "profile", "5g"},
		{"loss: 1.5", "loss", "1.5"},
		{"loss: -0.1", "loss", "-0.1"},
		{"transport: quic", "transport", "quic"},
		{"{transport: tcp, rto: 0s}", "rto", "0s"},
		{"jitter_buffer: -5ms", "jitter_buffer", "-5ms"},
		{"burst: {p_good_to_bad: 0.1, p_bad_to_good: 0, loss_bad: 1}", "burst.p_bad_to_good", "0"},
		{"burst: {p_good_to_bad: 0.1, p_bad_to_good: 0.2}", "burst.loss_bad", "0"},
		{"burst: {p_good_to_bad: 2, p_bad_to_good: 0.2, loss_bad: 1}", "burst.p_good_to_bad", "2"},
		{"delay: -3ms", "delay", "-3ms"},
		{"audio_overhead: -1ms", "audio_overhead", "-1ms"},
	}
	for _, tc := range cases {
		t.Run(tc.src, func(t *testing.T) {
			_, err := prepare(t, "network.downlink", tc.src)
			if err == nil {
				t.Fatalf("got nil error; want one naming %s", tc.field)
			}
			fe, ok := err.(*pipeline.FieldError)
			if !ok {
				t.Fatalf("got %T %v; want *pipeline.FieldError", err, err)
			}
			if fe.Field != tc.field || fe.Value != tc.value || fe.Stage != "network.downlink" {
				t.Errorf("got stage %q field %q value %q; want network.downlink, %q, %q (%v)", fe.Stage, fe.Field, fe.Value, tc.field, tc.value, err)
			}
		})
	}
}
