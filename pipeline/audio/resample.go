package audio

import (
	"fmt"
	"math"
	"slices"
)

// Resampler design. A windowed-sinc low-pass evaluated at each output
// instant: the sinc is cut off just below the lower of the two Nyquist
// frequencies (so downsampling cannot alias and upsampling adds no images),
// and a Kaiser window truncates it to resampleZeroCrossings zero crossings on
// each side. With β = 8 the stopband is ≈ 80 dB down and the transition band
// is ≈ 7.8% of the lower rate wide, centred on the cut-off: at 24 kHz output
// the passband is flat to ≈ 10.2 kHz and everything above 12 kHz is gone,
// which is far beyond what speech needs and what a 16-bit clip can show.
//
// The kernel is symmetric, so the resampler has zero phase delay: output
// sample n is the input evaluated at exactly n*from/to, and onsets keep
// their timing, which matters because ground truth is measured on
// resampled clips.
const (
	resampleZeroCrossings = 32
	resampleKaiserBeta    = 8.0
	resampleRolloff       = 0.93 // cut-off as a fraction of the lower Nyquist
	// resampleMaxPhases bounds the polyphase table. Rate pairs whose reduced
	// ratio needs more phases than this (e.g. 44100 -> 24001) evaluate the
	// kernel per output sample instead: slower, equally exact.
	resampleMaxPhases = 4096
)

// Resample converts in from fromRate to toRate with a band-limited
// windowed-sinc filter. It always returns a new slice, even when the rates
// are equal. Samples outside the input are taken as silence. The output has
// len(in)*toRate/fromRate samples, rounded to the nearest.
//
// It panics if either rate is not positive: rates come from validated file
// headers or constants, so a bad one is a programming error.
func Resample(in []int16, fromRate, toRate int) []int16 {
	if fromRate <= 0 || toRate <= 0 {
		panic(fmt.Sprintf("audio: Resample: invalid rates %d -> %d Hz", fromRate, toRate))
	}
	if fromRate == toRate {
		return slices.Clone(in)
	}
	g := gcd(fromRate, toRate)
	up, down := int64(toRate/g), int64(fromRate/g) // output n sits at input n*down/up
	outLen := int((int64(len(in))*up + down/2) / down)
	out := make([]int16, outLen)
	if outLen == 0 {
		return out
	}

	k := newSincKernel(fromRate, toRate)
	x := make([]float64, len(in))
	for i, v := range in {
		x[i] = float64(v)
	}

	if up <= resampleMaxPhases {
		table := k.polyphase(int(up))
		for n := range out {
			pos := int64(n) * down
			i, p := int(pos/up), int(pos%up)
			out[n] = toInt16(k.dot(x, i, table[p*k.taps:(p+1)*k.taps]))
		}
		return out
	}
	coef := make([]float64, k.taps)
	for n := range out {
		pos := int64(n) * down
		i := int(pos / up)
		frac := float64(pos%up) / float64(up)
		k.fill(coef, frac)
		out[n] = toInt16(k.dot(x, i, coef))
	}
	return out
}

// ToMono24k converts a decoded clip to the pipeline rate. A clip already at
// SampleRate is returned as is (sharing its samples).
func ToMono24k(c Clip) Clip {
	if c.Rate == SampleRate {
		return c
	}
	return Clip{Samples: Resample(c.Samples, c.Rate, SampleRate), Rate: SampleRate}
}

// sincKernel is the resampling low-pass, expressed in input-sample time.
type sincKernel struct {
	fc    float64 // cut-off in cycles per input sample
	half  float64 // window half-width in input samples
	taps  int     // coefficients per output sample
	first int     // offset of the first tap relative to floor(position)
	i0b   float64 // I0(β), the window's normaliser
}

func newSincKernel(fromRate, toRate int) sincKernel {
	fc := resampleRolloff * 0.5 * float64(min(fromRate, toRate)) / float64(fromRate)
	half := resampleZeroCrossings / (2 * fc)
	// Taps j = floor(pos)+first .. floor(pos)+first+taps-1 cover every input
	// sample within half of any position in [floor(pos), floor(pos)+1).
	reach := int(math.Ceil(half))
	return sincKernel{fc: fc, half: half, taps: 2 * reach, first: -reach + 1, i0b: besselI0(resampleKaiserBeta)}
}

// eval returns the kernel at distance tau (input samples) from its centre.
// Its samples at integer spacing sum to ≈ 1, giving unity gain at DC for
// both up- and downsampling.
func (k sincKernel) eval(tau float64) float64 {
	if math.Abs(tau) >= k.half {
		return 0
	}
	r := tau / k.half
	w := besselI0(resampleKaiserBeta*math.Sqrt(1-r*r)) / k.i0b
	a := 2 * k.fc * tau
	s := 1.0
	if a != 0 {
		s = math.Sin(math.Pi*a) / (math.Pi * a)
	}
	return 2 * k.fc * s * w
}

// fill sets coef to the taps for an output position frac input samples past
// an integer input index.
func (k sincKernel) fill(coef []float64, frac float64) {
	for t := range coef {
		coef[t] = k.eval(frac - float64(k.first+t))
	}
}

// polyphase precomputes the taps for each of the up fractional positions
// p/up, row after row.
func (k sincKernel) polyphase(up int) []float64 {
	table := make([]float64, up*k.taps)
	for p := 0; p < up; p++ {
		k.fill(table[p*k.taps:(p+1)*k.taps], float64(p)/float64(up))
	}
	return table
}

// dot applies coef to the input samples starting at i+first.
func (k sincKernel) dot(x []float64, i int, coef []float64) float64 {
	base := i + k.first
	if base >= 0 && base+len(coef) <= len(x) {
		// Interior: no bounds juggling in the hot loop.
		// Four independent accumulators let the CPU overlap the
		// multiply-adds instead of waiting on one long dependency chain.
		win := x[base : base+len(coef)]
		var a0, a1, a2, a3 float64
		t := 0
		for ; t+4 <= len(coef); t += 4 {
			c, w := coef[t:t+4:t+4], win[t:t+4:t+4]
			a0 += c[0] * w[0]
			a1 += c[1] * w[1]
			a2 += c[2] * w[2]
			a3 += c[3] * w[3]
		}
		for ; t < len(coef); t++ {
			a0 += coef[t] * win[t]
		}
		return (a0 + a1) + (a2 + a3)
	}
	var acc float64
	for t, c := range coef {
		if j := base + t; j >= 0 && j < len(x) {
			acc += c * x[j]
		}
	}
	return acc
}

// besselI0 is the zeroth-order modified Bessel function of the first kind,
// by its power series (converges quickly for the β values used here).
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	h := x / 2
	for k := 1; k < 100; k++ {
		term *= h / float64(k)
		t2 := term * term
		sum += t2
		if t2 < sum*1e-17 {
			break
		}
	}
	return sum
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
