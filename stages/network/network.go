// Package network models the legs between the user and the server: one-way
// delay, per-packet jitter, random or bursty loss, and the two transports
// voice agents use — UDP (WebRTC: loss is loss, jitter reorders) and TCP
// (WebSocket: in order, losses retransmitted with head-of-line blocking).
//
// Audio frames are packets: they can be lost, and they pay the audio path's
// fixed costs (capture, codec). Every other frame (text, playback reports,
// turn and interruption signals) is signalling: delayed by the network and
// packet handling, jittered like a packet, but never lost — voice stacks
// carry it on reliable channels (WebRTC data channels, the WebSocket
// itself), and losing a control message would model a protocol bug, not a
// network. Over TCP every frame shares one ordered stream on the wire.
//
// Counters, per leg (up or down): network.<leg>.lost (UDP audio packets
// lost), network.<leg>.late (UDP audio packets that missed the leg's jitter
// buffer), network.<leg>.reordered (UDP audio packets that arrived ahead of
// one sent before them), network.<leg>.retransmits (TCP retransmissions).
package network

import (
	"time"

	"github.com/voicesim/voicesim/pipeline"
)

// Register adds network.uplink and network.downlink.
func Register(r *pipeline.Registry) {
	pipeline.Register(r, "network.uplink",
		"user→server leg: mouth to server decoder, with delay, jitter, loss and UDP/TCP behaviour",
		UplinkDefaults, New)
	pipeline.Register(r, "network.downlink",
		"server→client leg: server encoder to client decoder, with delay, jitter, loss and UDP/TCP behaviour",
		DownlinkDefaults, New)
}

// Link is one network leg. Its forward direction is downstream; frames going
// upstream through it travel the reverse path (ReverseDelay).
type Link struct {
	p   Params
	leg leg
	ctx *pipeline.Context

	// paths are indexed by pipeline.Direction.
	paths [2]path

	deliverDown, deliverUp, markSpeechEnd func(pipeline.Frame)
	// firstAudio is the newest response whose first audio has arrived.
	firstAudio pipeline.ResponseID

	nLost, nLate, nReordered, nRetransmits string
}

// path is one direction's state.
type path struct {
	base time.Duration // this session's network delay
	// wire is the latest wire arrival scheduled (TCP ordering); lastAudio
	// the latest delivery of an audio packet (UDP reordering count).
	wire, lastAudio time.Duration
	bad             bool // Gilbert–Elliott state
	// carry holds the truth flags and transcript of lost user audio, for
	// the next frame that arrives; carriedEnds counts speech ends whose
	// arrival was already marked when they were lost.
	carry       pipeline.Flags
	carryText   string
	carriedEnds int
}

// truthFlags annotate user audio with the script's ground truth.
const truthFlags = pipeline.FlagSpeechStart | pipeline.FlagSpeechEnd

// New builds a leg from a validated config.
func New(c *Config) pipeline.Stage {
	p, err := c.Resolve()
	if err != nil {
		// Prepare validated c: unreachable, but a safe leg beats a panic.
		p = profiles[DefaultProfile].leg(c.leg)
	}
	pre := "network." + c.leg.String() + "."
	return &Link{p: p, leg: c.leg,
		nLost: pre + "lost", nLate: pre + "late", nReordered: pre + "reordered", nRetransmits: pre + "retransmits"}
}

// Params returns the leg's effective parameters.
func (l *Link) Params() Params { return l.p }

// IsTransport marks the leg as a wire: what is on it is not recalled by an
// interruption, and it forwards interruptions itself.
func (l *Link) IsTransport() bool { return true }

// Start draws this session's one-way delays and binds the callbacks.
func (l *Link) Start(ctx *pipeline.Context) {
	l.ctx = ctx
	down := l.p.Delay.Sample(ctx.Rand())
	up := down
	if !l.p.ReverseSame {
		up = l.p.ReverseDelay.Sample(ctx.Rand())
	}
	l.paths[pipeline.Downstream].base = down
	l.paths[pipeline.Upstream].base = up
	l.deliverDown = l.arriveDown
	l.deliverUp = l.arriveUp
	l.markSpeechEnd = l.speechEndCrossed
}

// Handle puts f on the wire. Interruption and Cancel are forwarded here too,
// delayed like any signal: a transport must carry them itself.
func (l *Link) Handle(ctx *pipeline.Context, f pipeline.Frame, dir pipeline.Direction) {
	if dir != pipeline.Upstream {
		dir = pipeline.Downstream
	}
	pa := &l.paths[dir]
	audio := f.Kind == pipeline.UserAudio || f.Kind == pipeline.AssistantAudio
	now := ctx.Now()
	var d time.Duration
	if l.p.TCP {
		d = l.tcpDelay(pa, audio)
	} else {
		var ok bool
		if d, ok = l.udpDelay(pa, audio); !ok {
			if l.leg == uplink && dir == pipeline.Downstream && f.Flags&pipeline.FlagSpeechEnd != 0 {
				// The audio is gone but the truth crossed the wire when it
				// would have arrived; the server learns of the end no
				// earlier for the loss.
				ctx.AfterFrame(d, f, l.markSpeechEnd)
				pa.carriedEnds++
			}
			if f.Kind == pipeline.UserAudio && f.Flags&truthFlags != 0 {
				// Ground truth is metadata about the user's speech, not
				// audio: a lost packet must not hide from a model whose
				// accuracy is its parameter (a semantic turn detector)
				// that the sentence was complete. It rides on the next
				// frame that arrives.
				pa.carry |= f.Flags & truthFlags
				pa.carryText = f.Text
			}
			return
		}
		if f.Kind == pipeline.UserAudio && pa.carry != 0 {
			f.Flags |= pa.carry
			if f.Text == "" {
				f.Text = pa.carryText
			}
			pa.carry, pa.carryText = 0, ""
		}
		if audio {
			// Reordered: the packet arrives ahead of one sent before it.
			if now+d < pa.lastAudio {
				ctx.Count(l.nReordered, 1)
			}
			pa.lastAudio = max(pa.lastAudio, now+d)
		}
	}
	fn := l.deliverDown
	if dir == pipeline.Upstream {
		fn = l.deliverUp
	}
	ctx.AfterFrame(d, f, fn)
}

// udpDelay returns a packet's delay, or false if it is lost or too late for
// the jitter buffer (the delay then is when it would have been delivered).
func (l *Link) udpDelay(pa *path, audio bool) (time.Duration, bool) {
	lost := audio && l.lost(pa)
	j := l.p.Jitter.Sample(l.ctx.Rand())
	d := pa.base + l.overhead(audio)
	if !audio || l.p.JitterBuffer == 0 {
		if lost {
			l.ctx.Count(l.nLost, 1)
		}
		return d + j, !lost
	}
	d += l.p.JitterBuffer
	switch {
	case lost:
		l.ctx.Count(l.nLost, 1)
		return d, false
	case j > l.p.JitterBuffer:
		l.ctx.Count(l.nLate, 1)
		return d, false
	}
	return d, true
}

// tcpDelay returns a packet's delay in a reliable stream, ordered on the
// wire: each loss costs a retransmission timeout (doubling per retry), and
// no packet leaves the wire before the one sent ahead of it. The endpoint
// costs (codec, packet handling) come after the wire, so a signal can
// overtake audio still being decoded, not audio still in flight.
func (l *Link) tcpDelay(pa *path, audio bool) time.Duration {
	var sent time.Duration // when the copy that gets through was sent
	if audio {
		rto := l.p.RTO
		for n := 0; n < maxRetransmits && l.lost(pa); n++ {
			l.ctx.Count(l.nRetransmits, 1)
			sent += rto
			rto = min(2*rto, maxRTO)
		}
	}
	now := l.ctx.Now()
	wire := max(now+sent+pa.base+l.p.Jitter.Sample(l.ctx.Rand()), pa.wire)
	pa.wire = wire
	at := wire + l.overhead(audio)
	if audio && l.p.JitterBuffer > 0 {
		at = max(at, now+pa.base+l.p.AudioOverhead+l.p.JitterBuffer)
	}
	return at - now
}

func (l *Link) overhead(audio bool) time.Duration {
	if audio {
		return l.p.AudioOverhead
	}
	return l.p.SignalOverhead
}

// lost steps the loss model by one audio packet.
func (l *Link) lost(pa *path) bool {
	rng := l.ctx.Rand()
	p := l.p.Loss
	if b := l.p.Burst; b.PGoodToBad > 0 {
		if pa.bad {
			pa.bad = rng.Float64() >= b.PBadToGood
		} else {
			pa.bad = rng.Float64() < b.PGoodToBad
		}
		if pa.bad {
			p = b.LossBad
		}
	}
	return p > 0 && rng.Float64() < p
}

func (l *Link) arriveDown(f pipeline.Frame) {
	switch {
	case l.leg == uplink && f.Kind == pipeline.UserAudio && f.Flags&pipeline.FlagSpeechEnd != 0:
		if pa := &l.paths[pipeline.Downstream]; pa.carriedEnds > 0 {
			pa.carriedEnds-- // a carried end: its arrival was marked when it was lost
			break
		}
		l.ctx.MarkFor(pipeline.MarkServerSpeechEnd, 0)
	case l.leg == downlink && f.Kind == pipeline.AssistantAudio && f.Response > l.firstAudio:
		l.firstAudio = f.Response
		l.ctx.MarkFor(pipeline.MarkClientFirstAudio, f.Response)
	}
	l.ctx.Push(f)
}

func (l *Link) arriveUp(f pipeline.Frame) { l.ctx.PushUp(f) }

func (l *Link) speechEndCrossed(pipeline.Frame) { l.ctx.MarkFor(pipeline.MarkServerSpeechEnd, 0) }

var (
	_ pipeline.Stage     = (*Link)(nil)
	_ pipeline.Starter   = (*Link)(nil)
	_ pipeline.Transport = (*Link)(nil)
)
