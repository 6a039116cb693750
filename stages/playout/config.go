package playout

import (
	"time"

	"github.com/voicesim/voicesim/pipeline"
)

// Config configures playout.jitter.
//
// Daily's 759 ms budget has a 40 ms jitter buffer and a 15 ms speaker on
// the client side of its 112 ms return leg. Here they are this stage's
// Depth and DeviceLatency, and network.downlink's daily-tuned profile is the
// remaining 72 ms, so the budget is counted once: network_down 72 ms,
// playout 55 ms.
type Config struct {
	// Depth is the buffering before playback of a response starts: its
	// first frame plays Depth after it arrives (sooner if the whole
	// response is already in). Later frames keep the 20 ms cadence from
	// there, so Depth is also how late a frame may be before it misses its
	// slot. Default 40 ms, Daily's jitter buffer.
	Depth pipeline.Duration `yaml:"depth"`
	// DeviceLatency is the output device's delay from the playout buffer
	// to the ear (OS mixer, driver, DAC). Default 15 ms, Daily's speaker.
	DeviceLatency pipeline.Duration `yaml:"device_latency"`
	// FlushOnInterrupt empties the buffer and stops the sound the moment an
	// interruption arrives. False models a client that does not flush: it
	// plays out what it has buffered (the frames still on the wire are
	// dropped) — the bug behind "the bot keeps talking after I interrupt".
	// Default true.
	FlushOnInterrupt bool `yaml:"flush_on_interrupt"`
}

// Defaults from Daily's voice-to-voice budget (Daily, "The world's fastest
// voice bot", 2024).
const (
	DefaultDepth         = 40 * time.Millisecond
	DefaultDeviceLatency = 15 * time.Millisecond
)

// maxDelay bounds Depth and DeviceLatency: anything longer is a typo.
const maxDelay = 10 * time.Second

// Defaults returns playout.jitter's default config.
func Defaults() *Config {
	return &Config{
		Depth:            pipeline.Duration(DefaultDepth),
		DeviceLatency:    pipeline.Duration(DefaultDeviceLatency),
		FlushOnInterrupt: true,
	}
}

// Validate checks every field and names the first bad one with its value.
func (c *Config) Validate() error {
	for _, d := range []struct {
		field string
		v     pipeline.Duration
	}{{"depth", c.Depth}, {"device_latency", c.DeviceLatency}} {
		if d.v < 0 || d.v.D() > maxDelay {
			return &pipeline.FieldError{Field: d.field, Value: d.v.String(), Reason: "must be between 0 and 10s"}
		}
	}
	return nil
}
