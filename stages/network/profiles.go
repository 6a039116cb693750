package network

import (
	"time"

	"github.com/voicesim/voicesim/pipeline"
)

// The audio path's fixed costs, from Daily's voice-to-voice budget (Daily,
// "The world's fastest voice bot", 2024): mic 40, Opus encode 30, network
// 10, packet handling 2, jitter buffer 40, Opus decode 30 on the way in
// (152 ms before the server hears the user), a 112 ms return leg, speaker
// 15 ms. Every profile keeps these and changes only the network.
const (
	micInput       = 40 * time.Millisecond
	opusEncode     = 30 * time.Millisecond
	packetHandling = 2 * time.Millisecond
	opusDecode     = 30 * time.Millisecond
	// serverJitterBuffer is the server's jitter buffer on the uplink. The
	// client's 40 ms buffer of the return leg is playout.jitter's depth, and
	// its 15 ms speaker is playout's device_latency, so the downlink leg is
	// 112 − 40 = 72 ms in daily-tuned and the sum is still 759 ms.
	serverJitterBuffer = 40 * time.Millisecond
)

// Fixed costs of each leg's audio path besides the network itself.
const (
	uplinkOverhead   = micInput + opusEncode + packetHandling + opusDecode // 102 ms
	downlinkOverhead = opusEncode + packetHandling + opusDecode            // 62 ms
	// Signalling (playback reports, interruptions) skips the codec and the
	// jitter buffer: only the network and packet handling.
	signallingOverhead = packetHandling
)

// profile is a network: its one-way delay, per-packet jitter and loss. The
// leg's fixed costs are its audio and signalling overheads.
type profile struct {
	// netP50, netP95: one-way network delay percentiles, drawn once per
	// session (lognormal; a constant when equal).
	netP50, netP95 time.Duration
	jitter         pipeline.Latency
	loss           float64
	burst          Burst
	// jitterBuffer is the server's fixed jitter buffer on the uplink.
	jitterBuffer time.Duration
}

// profiles are the built-in networks. Only daily-tuned reproduces a
// published figure; the others are stated assumptions in the range public
// measurements report (one-way delay to a nearby cloud region, 95th
// percentile jitter, random loss), to be recalibrated with your own data.
// ITU-T G.114 puts the comfortable limit for one-way delay at 150 ms;
// poor-mobile exceeds it on purpose.
var profiles = map[string]profile{
	// daily-tuned: Daily's budget, a constant 10 ms network, no jitter, no
	// loss: uplink 152 ms (with the 40 ms server jitter buffer), downlink
	// 72 ms (+ playout 40 + 15).
	"daily-tuned": {netP50: 10 * time.Millisecond, netP95: 10 * time.Millisecond,
		jitter: pipeline.Const(0), jitterBuffer: serverJitterBuffer},
	// lan: assumption — client and server on one LAN: 1 ms, sub-millisecond
	// jitter, no loss; the same audio stack as Daily's.
	"lan": {netP50: time.Millisecond, netP95: time.Millisecond,
		jitter: pipeline.Uniform(0, time.Millisecond), jitterBuffer: serverJitterBuffer},
	// broadband: assumption — residential fixed broadband to a nearby
	// region: one-way 15 ms median, 40 ms p95; jitter 2 ms median, 10 ms
	// p95; 0.1% random loss.
	"broadband": {netP50: 15 * time.Millisecond, netP95: 40 * time.Millisecond,
		jitter: pipeline.LogNormal(2*time.Millisecond, 10*time.Millisecond), loss: 0.001,
		jitterBuffer: serverJitterBuffer},
	// 4g: assumption — LTE in good coverage: one-way 35 ms median, 80 ms
	// p95; jitter 6 ms median, 30 ms p95; 0.5% random loss; the server's
	// jitter buffer grown to 60 ms.
	"4g": {netP50: 35 * time.Millisecond, netP95: 80 * time.Millisecond,
		jitter: pipeline.LogNormal(6*time.Millisecond, 30*time.Millisecond), loss: 0.005,
		jitterBuffer: 60 * time.Millisecond},
	// poor-mobile: assumption — congested or weak-signal mobile: one-way
	// 120 ms median, 300 ms p95; jitter 20 ms median, 100 ms p95; bursty
	// loss (1% in the good state; bad state entered with p 0.02 per packet,
	// left with p 0.25 — so lasting ~4 packets, 80 ms — losing half its
	// packets: ≈4.6% overall); the server's jitter buffer grown to 120 ms.
	"poor-mobile": {netP50: 120 * time.Millisecond, netP95: 300 * time.Millisecond,
		jitter: pipeline.LogNormal(20*time.Millisecond, 100*time.Millisecond), loss: 0.01,
		burst:        Burst{PGoodToBad: 0.02, PBadToGood: 0.25, LossBad: 0.5},
		jitterBuffer: 120 * time.Millisecond},
}

// leg returns the profile's parameters for one leg.
func (p profile) leg(l leg) Params {
	overhead, jb := uplinkOverhead, p.jitterBuffer
	if l == downlink {
		overhead, jb = downlinkOverhead, 0
	}
	net := pipeline.Const(p.netP50)
	if p.netP95 != p.netP50 {
		net = pipeline.LogNormal(p.netP50, p.netP95)
	}
	return Params{
		Delay:          net,
		ReverseSame:    true,
		AudioOverhead:  overhead,
		SignalOverhead: signallingOverhead,
		Jitter:         p.jitter,
		Loss:           p.loss,
		Burst:          p.burst,
		RTO:            DefaultRTO,
		JitterBuffer:   jb,
	}
}
