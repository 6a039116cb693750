package audio

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Noise kinds accepted by Noise.
const (
	NoiseWhite = "white" // flat spectrum
	NoisePink  = "pink"  // -3 dB/octave, like many real-world backgrounds
	NoiseBrown = "brown" // -6 dB/octave, rumble (traffic, HVAC)
)

// Noise generates dur of noise at SampleRate whose RMS level is levelDBFS
// (exactly, before int16 rounding and clipping at full scale). All
// randomness comes from rng, so a seeded session reproduces its noise.
func Noise(kind string, dur time.Duration, levelDBFS float64, rng *rand.Rand) ([]int16, error) {
	if rng == nil {
		return nil, fmt.Errorf("audio: noise: nil random source")
	}
	if math.IsNaN(levelDBFS) || levelDBFS > 0 {
		return nil, fmt.Errorf("audio: noise: level %g dBFS is out of range (want <= 0)", levelDBFS)
	}
	n := DurationToSamples(dur, SampleRate)
	buf := make([]float64, n)
	switch kind {
	case NoiseWhite:
		for i := range buf {
			buf[i] = rng.NormFloat64()
		}
	case NoisePink:
		pinkNoise(buf, rng)
	case NoiseBrown:
		brownNoise(buf, rng)
	default:
		return nil, fmt.Errorf("audio: noise: unknown kind %q (want %q, %q or %q)", kind, NoiseWhite, NoisePink, NoiseBrown)
	}
	return scaleFloatToDBFS(buf, levelDBFS), nil
}

// pinkNoise fills buf with pink noise using Paul Kellet's refined filter: a
// sum of seven first-order low-passes of white noise whose poles are spread
// so the response follows -3 dB/octave within ±0.05 dB above ~9 Hz (at
// 44.1 kHz; the fit shifts proportionally at 24 kHz, still far below any
// speech band that matters).
func pinkNoise(buf []float64, rng *rand.Rand) {
	var b0, b1, b2, b3, b4, b5, b6 float64
	for i := range buf {
		w := rng.NormFloat64()
		b0 = 0.99886*b0 + w*0.0555179
		b1 = 0.99332*b1 + w*0.0750759
		b2 = 0.96900*b2 + w*0.1538520
		b3 = 0.86650*b3 + w*0.3104856
		b4 = 0.55000*b4 + w*0.5329522
		b5 = -0.7616*b5 - w*0.0168980
		buf[i] = b0 + b1 + b2 + b3 + b4 + b5 + b6 + w*0.5362
		b6 = w * 0.115926
	}
}

// brownNoise fills buf with brown (red) noise: integrated white noise. A
// pure integrator drifts without bound, so a slight leak (a pole just inside
// the unit circle, corner ≈ 20 Hz at 24 kHz) keeps it centred on zero while
// staying -6 dB/octave across the audible band.
func brownNoise(buf []float64, rng *rand.Rand) {
	const leak = 0.995
	var y float64
	for i := range buf {
		y = leak*y + rng.NormFloat64()
		buf[i] = y
	}
	removeMean(buf) // the first samples' warm-up leaves a small offset
}

func removeMean(buf []float64) {
	if len(buf) == 0 {
		return
	}
	var m float64
	for _, v := range buf {
		m += v
	}
	m /= float64(len(buf))
	for i := range buf {
		buf[i] -= m
	}
}

// scaleFloatToDBFS scales buf so its RMS is levelDBFS and converts it to
// int16, saturating.
func scaleFloatToDBFS(buf []float64, levelDBFS float64) []int16 {
	var sum float64
	for _, v := range buf {
		sum += v * v
	}
	out := make([]int16, len(buf))
	if sum == 0 {
		return out
	}
	gain := DBToAmplitude(levelDBFS) * fullScale / math.Sqrt(sum/float64(len(buf)))
	for i, v := range buf {
		out[i] = toInt16(v * gain)
	}
	return out
}

// ScaleToDBFS scales s in place so its RMS level is levelDBFS, saturating at
// full scale, and returns the linear gain applied. Silence cannot be scaled
// to a level and is left alone (gain 0 is returned).
func ScaleToDBFS(s []int16, levelDBFS float64) float64 {
	rms := RMS(s)
	if rms == 0 {
		return 0
	}
	gain := DBToAmplitude(levelDBFS) / rms
	for i, v := range s {
		s[i] = toInt16(float64(v) * gain)
	}
	return gain
}

// MixAt adds src into dst starting at dst[offset], saturating at full scale
// rather than wrapping. Parts of src that fall outside dst (a negative
// offset, or running past the end) are dropped, so callers can place a clip
// that overlaps either edge of the buffer.
func MixAt(dst, src []int16, offset int) {
	if offset < 0 {
		if -offset >= len(src) {
			return
		}
		src = src[-offset:]
		offset = 0
	}
	if offset >= len(dst) {
		return
	}
	d := dst[offset:]
	if len(src) > len(d) {
		src = src[:len(d)]
	}
	for i, v := range src {
		sum := int32(d[i]) + int32(v)
		switch {
		case sum > math.MaxInt16:
			sum = math.MaxInt16
		case sum < math.MinInt16:
			sum = math.MinInt16
		}
		d[i] = int16(sum)
	}
}

// MixSNR returns speech with noise added at a signal-to-noise ratio of
// snrDB. The speech level is its active level (ActiveLevelDBFS), not the
// whole-clip RMS, so the leading and trailing silence of a padded clip does
// not make the noise sound louder than asked for. The noise level is its
// RMS; noise shorter than the speech is looped, longer noise is cut. The
// inputs are not modified. Silent speech or noise returns a copy of speech.
func MixSNR(speech, noise []int16, snrDB float64) []int16 {
	out := make([]int16, len(speech))
	copy(out, speech)
	speechDB := ActiveLevelDBFS(speech)
	noiseRMS := RMS(noise)
	if math.IsInf(speechDB, -1) || noiseRMS == 0 {
		return out
	}
	gain := DBToAmplitude(speechDB-snrDB) / noiseRMS
	for i := range out {
		n := float64(noise[i%len(noise)]) * gain
		out[i] = toInt16(float64(out[i]) + n)
	}
	return out
}

// ActiveLevelDBFS estimates the level of the active (non-silent) part of a
// 24 kHz signal, a simplified ITU-T P.56: the RMS over 10 ms blocks that are
// within 30 dB of the loudest block and above -70 dBFS (the block length
// assumes SampleRate; at other rates only the block length changes). Pauses
// and padding therefore do not pull the level down. Silence returns -Inf.
func ActiveLevelDBFS(s []int16) float64 {
	return powerDB(activePower(s, 1))
}

// activePower returns the mean square (full scale = 1) of the active blocks
// of s, whose values times scale are in int16 units; see ActiveLevelDBFS.
// It is generic so the synthesiser can normalise its float output, at any
// scale, by the same measure callers later read back from the int16 clip.
func activePower[T int16 | float32](s []T, scale float64) float64 {
	const block = SampleRate / 100
	energies := make([]float64, 0, len(s)/block+1)
	peak := 0.0
	for i := 0; i < len(s); i += block {
		var sum float64
		for _, v := range s[i:min(i+block, len(s))] {
			f := float64(v)
			sum += f * f
		}
		sum *= scale * scale
		energies = append(energies, sum)
		peak = max(peak, sum/float64(min(block, len(s)-i)))
	}
	if peak == 0 {
		return 0
	}
	// The loudest block always counts, however quiet the whole signal is.
	floor := min(max(peak*dbPower(-30), dbPower(-70)*fullScale*fullScale), peak)
	var sum float64
	var n int
	for i, e := range energies {
		size := min(block, len(s)-i*block)
		if e/float64(size) >= floor {
			sum += e
			n += size
		}
	}
	return sum / float64(n) / (fullScale * fullScale)
}

// meanSquare returns the mean of the squared samples of s relative to full
// scale (power, not amplitude).
func meanSquare(s []int16) float64 {
	if len(s) == 0 {
		return 0
	}
	var sum float64
	for _, v := range s {
		f := float64(v)
		sum += f * f
	}
	return sum / float64(len(s)) / (fullScale * fullScale)
}
