// Package audio holds the shared audio helpers of the simulator: the PCM16
// wire format, WAV and MP3 decoding, band-limited resampling, a deterministic
// speech-like synthesiser, noise generation and mixing, and the offline
// ground-truth speech-span reference that latencies are measured from.
//
// The pipeline's one audio format is PCM16 mono at 24 kHz in 20 ms frames
// (480 samples), the OpenAI Realtime format. Assets in other formats are
// decoded and resampled once at load with ToMono24k, so nothing downstream
// ever has to handle another rate.
package audio

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

const (
	// SampleRate is the pipeline's sample rate in Hz.
	SampleRate = 24000
	// FrameSamples is the number of samples in one pipeline frame.
	FrameSamples = 480
	// FrameDuration is the duration of one pipeline frame.
	FrameDuration = 20 * time.Millisecond
)

// Clip is a mono PCM16 clip at an arbitrary sample rate. Inside the pipeline
// Rate is always SampleRate; decoders return the file's own rate so callers
// can see what they loaded before converting with ToMono24k.
type Clip struct {
	Samples []int16
	Rate    int // samples per second
}

// Duration returns the clip's length. A clip with a non-positive rate has no
// meaningful duration and reports 0.
func (c Clip) Duration() time.Duration {
	return SamplesToDuration(len(c.Samples), c.Rate)
}

// SamplesToDuration converts a sample count at rate to a duration, rounded
// to the nearest nanosecond. It returns 0 for a non-positive rate.
func SamplesToDuration(n, rate int) time.Duration {
	if rate <= 0 {
		return 0
	}
	// Split into whole seconds and a remainder so n*1e9 cannot overflow
	// int64 for long clips.
	sec := int64(n) / int64(rate)
	rem := int64(n) % int64(rate)
	return time.Duration(sec)*time.Second +
		time.Duration((rem*int64(time.Second)+int64(rate)/2)/int64(rate))
}

// DurationToSamples converts a duration to a sample count at rate, rounded
// to the nearest sample. Negative durations and non-positive rates give 0.
func DurationToSamples(d time.Duration, rate int) int {
	if d <= 0 || rate <= 0 {
		return 0
	}
	sec := int64(d / time.Second)
	rem := int64(d % time.Second)
	return int(sec*int64(rate) + (rem*int64(rate)+int64(time.Second)/2)/int64(time.Second))
}

// Frames returns how many pipeline frames (FrameSamples each) are needed to
// carry n samples: a trailing partial frame counts as a frame because it is
// sent zero-padded rather than dropped.
func Frames(n int) int {
	if n <= 0 {
		return 0
	}
	return (n + FrameSamples - 1) / FrameSamples
}

// fullScale is the magnitude that maps to 1.0 (0 dBFS) when converting
// int16 samples to floating point. Using 32768 rather than 32767 makes the
// int16 -> float -> int16 round trip exact.
const fullScale = 32768.0

// RMS returns the root-mean-square of s relative to full scale, in [0, 1].
// An empty slice has RMS 0.
func RMS(s []int16) float64 {
	if len(s) == 0 {
		return 0
	}
	var sum float64
	for _, v := range s {
		f := float64(v)
		sum += f * f
	}
	return math.Sqrt(sum/float64(len(s))) / fullScale
}

// DBFS returns the RMS level of s in dB relative to full scale, where a
// full-scale square wave is 0 dBFS (so a full-scale sine is about -3 dBFS).
// Silence (or an empty slice) is -Inf, which compares below every level.
func DBFS(s []int16) float64 {
	return AmplitudeToDB(RMS(s))
}

// AmplitudeToDB converts a linear amplitude ratio to decibels; 0 gives -Inf.
func AmplitudeToDB(a float64) float64 {
	if a <= 0 {
		return math.Inf(-1)
	}
	return 20 * math.Log10(a)
}

// DBToAmplitude converts decibels to a linear amplitude ratio.
func DBToAmplitude(db float64) float64 {
	return math.Pow(10, db/20)
}

// EncodePCM16 returns s as little-endian PCM16 bytes (the wire format).
func EncodePCM16(s []int16) []byte {
	return AppendPCM16(make([]byte, 0, 2*len(s)), s)
}

// AppendPCM16 appends s to dst as little-endian PCM16 bytes, so a caller
// that reuses a buffer per frame does not allocate.
func AppendPCM16(dst []byte, s []int16) []byte {
	for _, v := range s {
		dst = binary.LittleEndian.AppendUint16(dst, uint16(v))
	}
	return dst
}

// DecodePCM16 parses little-endian PCM16 bytes. An odd length means the
// sender split a sample, so it is rejected rather than silently truncated.
func DecodePCM16(b []byte) ([]int16, error) {
	if len(b)%2 != 0 {
		return nil, fmt.Errorf("audio: decode PCM16: odd byte length %d (samples are 2 bytes)", len(b))
	}
	s := make([]int16, len(b)/2)
	DecodePCM16Into(s, b)
	return s, nil
}

// DecodePCM16Into decodes len(dst) little-endian PCM16 samples from b
// (which holds at least twice that many bytes) into dst, for a caller that
// decodes into storage it reuses.
func DecodePCM16Into(dst []int16, b []byte) {
	b = b[:2*len(dst)]
	for i := range dst {
		dst[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
}

// toInt16 rounds a sample in int16 units to the nearest int16 (halves away
// from zero), saturating at the limits so overshoot (filter ringing, loud
// mixes) clips instead of wrapping around. NaN becomes silence. It avoids
// math.Round because it runs once per sample in every converter.
func toInt16(v float64) int16 {
	switch {
	case v >= math.MaxInt16:
		return math.MaxInt16
	case v <= math.MinInt16:
		return math.MinInt16
	case v >= 0:
		return int16(v + 0.5) // conversion truncates toward zero
	case v < 0:
		return int16(v - 0.5)
	}
	return 0 // NaN
}
