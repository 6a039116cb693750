package network

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/voicesim/voicesim/pipeline"
)

// Config configures network.uplink and network.downlink. A profile gives
// every value; the fields set beside it override the profile's, so a
// scenario can write `{profile: 4g, loss: 0.05}`. Unset fields are nil.
//
// A leg models the whole one-way path, not only the wire: on the uplink,
// from the user's mouth to the server's decoder (microphone capture, Opus
// encode, network, packet handling, the server's jitter buffer, Opus
// decode); on the downlink, from the server's encoder to the client's
// decoder. The client's jitter buffer and speaker belong to playout.jitter.
// A frame's delay is
//
//	audio:      delay + audio_overhead + jitter   (or + jitter_buffer)
//	signalling: delay + signal_overhead + jitter
//
// with delay drawn once per session and jitter per packet; frames going
// upstream through the leg use reverse_delay in place of delay.
type Config struct {
	// Profile names a built-in network: lan, broadband, 4g, poor-mobile or
	// daily-tuned (the default). See profiles.go for values and sources.
	Profile string `yaml:"profile"`
	// Delay is the network's one-way delay (propagation and queueing),
	// drawn once per session: the route a call takes.
	Delay *pipeline.Latency `yaml:"delay"`
	// ReverseDelay is the network delay against the leg's direction
	// (client→server playback reports on the downlink). Default: the same
	// draw as Delay.
	ReverseDelay *pipeline.Latency `yaml:"reverse_delay"`
	// AudioOverhead is the fixed cost of the audio path besides the network
	// (capture, encode, packet handling, decode). Profiles use Daily's
	// figures: 102 ms up, 62 ms down. Set 0 to make Delay the whole delay.
	AudioOverhead *pipeline.Duration `yaml:"audio_overhead"`
	// SignalOverhead is the fixed cost of a non-audio frame (text, playback
	// reports, interruptions), which skips the codec: Daily's 2 ms packet
	// handling in the profiles.
	SignalOverhead *pipeline.Duration `yaml:"signal_overhead"`
	// Jitter is extra delay drawn for every packet, in either direction.
	Jitter *pipeline.Latency `yaml:"jitter"`
	// Loss is the probability that an audio packet is lost (in the good
	// state of Burst, when Burst is set). Signalling is never lost.
	Loss *float64 `yaml:"loss"`
	// Burst, when its p_good_to_bad is positive, makes losses bursty with a
	// two-state Gilbert–Elliott model.
	Burst *Burst `yaml:"burst"`
	// Transport is udp (WebRTC/RTP: lost packets are gone, jitter reorders)
	// or tcp (also "websocket": in order on the wire, lost packets
	// retransmitted after RTO, holding back everything behind them).
	Transport string `yaml:"transport"`
	// RTO is TCP's retransmission timeout for a lost packet; it doubles on
	// each further loss of the same packet (RFC 6298 §5.5).
	RTO *pipeline.Duration `yaml:"rto"`
	// JitterBuffer, when positive, is a fixed-delay jitter buffer at the
	// receiving end of the leg: every audio packet is delivered exactly
	// delay + audio_overhead + jitter_buffer after it was sent, in order,
	// and a packet whose jitter exceeds the buffer is late and dropped
	// (network.<leg>.late). Zero delivers each packet as it arrives.
	// Profiles put the server's 40 ms buffer (Daily) on the uplink only.
	JitterBuffer *pipeline.Duration `yaml:"jitter_buffer"`

	leg leg
}

// Burst is a Gilbert–Elliott loss model: a Markov chain with a good and a
// bad state, stepped once per audio packet; a packet is lost with
// probability Loss in the good state and LossBad in the bad one (Gilbert
// 1960, Elliott 1963; the model RFC 3611 §4.7.2 reports burst metrics for).
type Burst struct {
	PGoodToBad float64 `yaml:"p_good_to_bad"`
	PBadToGood float64 `yaml:"p_bad_to_good"`
	LossBad    float64 `yaml:"loss_bad"`
}

// leg says which way a stage's forward direction runs.
type leg uint8

const (
	uplink leg = iota
	downlink
)

func (l leg) String() string {
	if l == downlink {
		return "down"
	}
	return "up"
}

// DefaultProfile reproduces Daily's published 759 ms voice-to-voice budget.
const DefaultProfile = "daily-tuned"

// DefaultRTO is Linux's minimum TCP retransmission timeout, TCP_RTO_MIN =
// HZ/5 = 200 ms (include/net/tcp.h). RFC 6298 §2.4 asks for at least 1 s,
// but Linux, and so most servers, uses 200 ms.
const DefaultRTO = 200 * time.Millisecond

// maxRetransmits bounds retransmissions of one packet: Linux's tcp_retries2
// default (15). A connection that loses a packet that often has failed; the
// simulation then delivers the packet anyway.
const maxRetransmits = 15

// maxRTO caps the backed-off timeout: Linux's TCP_RTO_MAX (120 s).
const maxRTO = 120 * time.Second

// UplinkDefaults returns network.uplink's default config.
func UplinkDefaults() *Config { return &Config{Profile: DefaultProfile, leg: uplink} }

// DownlinkDefaults returns network.downlink's default config.
func DownlinkDefaults() *Config { return &Config{Profile: DefaultProfile, leg: downlink} }

// Params are a leg's effective values: its profile with overrides applied.
type Params struct {
	Delay, ReverseDelay pipeline.Latency
	// ReverseSame: the reverse path reuses Delay's draw (the same route).
	ReverseSame                   bool
	AudioOverhead, SignalOverhead time.Duration
	Jitter                        pipeline.Latency
	Loss                          float64
	Burst                         Burst
	TCP                           bool
	RTO                           time.Duration
	JitterBuffer                  time.Duration
}

// Resolve returns the effective parameters.
func (c *Config) Resolve() (Params, error) {
	prof, ok := profiles[c.Profile]
	if !ok {
		return Params{}, &pipeline.FieldError{Field: "profile", Value: c.Profile,
			Reason: "unknown profile (known: " + strings.Join(ProfileNames(), ", ") + ")"}
	}
	p := prof.leg(c.leg)
	if c.Delay != nil {
		p.Delay = *c.Delay
	}
	if c.ReverseDelay != nil {
		p.ReverseDelay, p.ReverseSame = *c.ReverseDelay, false
	}
	if c.AudioOverhead != nil {
		p.AudioOverhead = c.AudioOverhead.D()
	}
	if c.SignalOverhead != nil {
		p.SignalOverhead = c.SignalOverhead.D()
	}
	if c.Jitter != nil {
		p.Jitter = *c.Jitter
	}
	if c.Loss != nil {
		p.Loss = *c.Loss
	}
	if c.Burst != nil {
		p.Burst = *c.Burst
	}
	switch c.Transport {
	case "":
	case "udp":
		p.TCP = false
	case "tcp", "websocket":
		p.TCP = true
	default:
		return Params{}, &pipeline.FieldError{Field: "transport", Value: c.Transport, Reason: "want udp, tcp or websocket"}
	}
	if c.RTO != nil {
		p.RTO = c.RTO.D()
	}
	if c.JitterBuffer != nil {
		p.JitterBuffer = c.JitterBuffer.D()
	}
	return p, p.check()
}

// Validate resolves the profile and checks every value.
func (c *Config) Validate() error {
	_, err := c.Resolve()
	return err
}

func (p Params) check() error {
	prob := func(field string, v float64) error {
		if !(v >= 0 && v <= 1) { // also rejects NaN
			return &pipeline.FieldError{Field: field, Value: formatFloat(v), Reason: "must be a probability between 0 and 1"}
		}
		return nil
	}
	for _, c := range []struct {
		field string
		v     float64
	}{
		{"loss", p.Loss}, {"burst.p_good_to_bad", p.Burst.PGoodToBad},
		{"burst.p_bad_to_good", p.Burst.PBadToGood}, {"burst.loss_bad", p.Burst.LossBad},
	} {
		if err := prob(c.field, c.v); err != nil {
			return err
		}
	}
	if p.Burst.PGoodToBad > 0 {
		if p.Burst.PBadToGood == 0 {
			return &pipeline.FieldError{Field: "burst.p_bad_to_good", Value: "0",
				Reason: "must be positive when p_good_to_bad is: the bad state would never end"}
		}
		if p.Burst.LossBad == 0 {
			return &pipeline.FieldError{Field: "burst.loss_bad", Value: "0",
				Reason: "must be positive when p_good_to_bad is (the loss probability in the bad state)"}
		}
	}
	if p.TCP && p.RTO <= 0 {
		return &pipeline.FieldError{Field: "rto", Value: p.RTO.String(), Reason: "must be positive for tcp"}
	}
	for _, d := range []struct {
		field string
		v     time.Duration
	}{{"jitter_buffer", p.JitterBuffer}, {"audio_overhead", p.AudioOverhead}, {"signal_overhead", p.SignalOverhead}} {
		if d.v < 0 {
			return &pipeline.FieldError{Field: d.field, Value: d.v.String(), Reason: "must not be negative"}
		}
	}
	return nil
}

// ProfileNames lists the built-in profiles, sorted.
func ProfileNames() []string {
	out := make([]string, 0, len(profiles))
	for n := range profiles {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// meanLoss returns the long-run packet loss rate of p's loss model.
func (p Params) meanLoss() float64 {
	b := p.Burst
	if b.PGoodToBad == 0 {
		return p.Loss
	}
	bad := b.PGoodToBad / (b.PGoodToBad + b.PBadToGood)
	return (1-bad)*p.Loss + bad*b.LossBad
}

func (p Params) String() string {
	rev := p.ReverseDelay.String()
	if p.ReverseSame {
		rev = "same"
	}
	return fmt.Sprintf("delay %v (reverse %s) + audio %v / signal %v, jitter %v, loss %.2f%%, jitter buffer %v, tcp %v",
		p.Delay, rev, p.AudioOverhead, p.SignalOverhead, p.Jitter, 100*p.meanLoss(), p.JitterBuffer, p.TCP)
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
