package audio

import (
	"math"
	"math/rand/v2"
)

// Source-filter model constants.
const (
	// openQuotient is the fraction of each glottal period the glottis is
	// open (typical modal voice: 0.5-0.7).
	openQuotient = 0.6
	jitter       = 0.02 // peak-to-peak period variation per cycle
	shimmer      = 0.10 // peak-to-peak amplitude variation per cycle
	aspiration   = 0.03 // breath noise mixed into the glottal source
	// fricativeGain puts fricative noise ≈ 10 dB below the vowels, roughly
	// as in speech.
	fricativeGain = 0.35
	// formantBlock is how often (in samples) the formant filters are
	// retuned and envelopes evaluated: 2.7 ms is far finer than
	// articulation moves and keeps that work out of the per-sample loop.
	formantBlock = 64
)

// formantBW are the formant bandwidths in Hz (Klatt 1980 typical values).
var formantBW = formants{80, 100, 140}

// The fricative resonance is broad, centred where /s/ and /sh/ noise has
// its energy.
const (
	fricativeF  = 5000.0
	fricativeBW = 3000.0
)

// resonator is a Klatt two-pole resonator with unity gain at DC.
type resonator struct {
	a, b, c, y1, y2 float64
	r               float64 // pole radius exp(-π·BW/fs), fixed per bandwidth
}

func newResonator(bw float64) resonator {
	r := math.Exp(-math.Pi * bw / SampleRate)
	return resonator{r: r, c: -r * r}
}

func (z *resonator) tune(f float64) {
	z.b = 2 * z.r * math.Cos(2*math.Pi*f/SampleRate)
	z.a = 1 - z.b - z.c
}

func (z *resonator) step(x float64) float64 {
	y := z.a*x + z.b*z.y1 + z.c*z.y2
	z.y2, z.y1 = z.y1, y
	return y
}

// ramp is a smooth envelope: 0 before start, rising over attack samples to
// 1, falling over release samples to 0 at end. Smoothstep (3x²-2x³) is
// within 1% of a raised cosine without a transcendental per sample.
type ramp struct{ start, attack, release, end int }

func (e ramp) at(i int) float64 {
	switch {
	case i < e.start || i >= e.end:
		return 0
	case i < e.start+e.attack:
		return smoothstep(float64(i-e.start+1) / float64(e.attack+1))
	case i >= e.end-e.release:
		return smoothstep(float64(e.end-i) / float64(e.release+1))
	}
	return 1
}

func smoothstep(x float64) float64 { return x * x * (3 - 2*x) }

// voice is the renderer's state, carried across syllables so pitch and
// filter memories are continuous through an utterance.
type voice struct {
	rng       *rand.Rand
	noise     uint64 // xorshift state: per-sample noise at a fraction of rand's cost
	phase     float64
	jit, shim float64
	formant   [3]resonator
	fric      resonator
	prevNoise float64
	sonorant  formants // sonorantLike, scaled to the voice
}

func newVoice(rng *rand.Rand, formantScale float64) *voice {
	v := &voice{
		rng: rng, noise: rng.Uint64() | 1, jit: 1, shim: 1,
		sonorant: sonorantLike.scale(formantScale),
	}
	for k := range v.formant {
		v.formant[k] = newResonator(formantBW[k])
	}
	v.fric = newResonator(fricativeBW)
	v.fric.tune(fricativeF * formantScale)
	return v
}

// white returns uniform noise in [-1, 1) (xorshift64*).
func (v *voice) white() float64 {
	v.noise ^= v.noise >> 12
	v.noise ^= v.noise << 25
	v.noise ^= v.noise >> 27
	return float64(int64(v.noise*2685821657736338717)>>11) / (1 << 52)
}

// render synthesises a plan into int16 samples at the configured level.
func (s *Synth) render(p synthPlan) []int16 {
	out := make([]int16, p.total)
	if p.total == 0 {
		return out
	}
	buf := make([]float32, p.total)
	v := newVoice(rand.New(rand.NewPCG(s.cfg.Seed, synthRenderStream)), s.formantScale)
	for i := range p.syl {
		v.syllable(buf, &p.syl[i])
	}
	// Normalise by the active level (what ActiveLevelDBFS will read back).
	// Its silence floor is an absolute level, so measure as if the render
	// peaked at -6 dBFS rather than at its arbitrary scale.
	var peak float32
	for _, x := range buf {
		if x > peak {
			peak = x
		} else if -x > peak {
			peak = -x
		}
	}
	if peak == 0 {
		return out
	}
	norm := 0.5 * fullScale / float64(peak)
	gain := norm * math.Sqrt(dbPower(s.cfg.LevelDBFS)/activePower(buf, norm))
	for i, x := range buf {
		out[i] = toInt16(float64(x) * gain)
	}
	return out
}

// syllable renders one syllable into out[sy.start:sy.start+sy.n]: an onset
// consonant, a voiced nucleus whose formants glide between the vowel
// targets, and a coda consonant.
func (v *voice) syllable(out []float32, sy *syllable) {
	n := sy.n
	ms := func(x float64) int { return int(x * SampleRate / 1000) }
	frac := func(f float64, capMs float64) int { return min(int(f*float64(n)), ms(capMs)) }

	voiced := ramp{start: 0, end: n}
	var noises [2]ramp // onset and coda noise; zero ramps are silent
	formantFrom, formantTo := 0, n

	switch sy.onset {
	case consSonorant:
		formantFrom = frac(0.2, 80)
		voiced.attack = max(frac(0.15, 60), ms(20))
	case consFricative:
		f := frac(0.28, 100)
		noises[0] = ramp{start: 0, end: f + ms(5), attack: f * 35 / 100, release: f * 35 / 100}
		voiced.start = max(f-ms(5), 0)
	case consPlosive:
		closure := frac(0.08, 40)
		if sy.start == 0 {
			closure = 0 // no inaudible silence before the first sound
		}
		burst := ms(10)
		noises[0] = ramp{start: closure, end: closure + burst, attack: ms(1), release: burst - ms(1)}
		voiced.start = closure + burst*6/10
	}
	switch sy.coda {
	case consSonorant:
		formantTo = n - frac(0.2, 80)
		voiced.release = max(frac(0.2, 80), ms(25))
	case consFricative:
		f := frac(0.22, 90)
		noises[1] = ramp{start: n - f - ms(5), end: n, attack: f * 35 / 100, release: f * 35 / 100}
		voiced.end = n - f + ms(5)
	case consPlosive:
		burst := ms(8)
		noises[1] = ramp{start: n - burst, end: n, attack: ms(1), release: burst - ms(1)}
		voiced.end = n - burst - frac(0.06, 30)
	}
	if sy.onset != consSonorant {
		formantFrom = voiced.start
	}
	if sy.coda != consSonorant {
		formantTo = voiced.end
	}
	span := voiced.end - voiced.start
	if voiced.attack == 0 {
		voiced.attack = min(ms(20), span*3/10)
	}
	if voiced.release == 0 {
		voiced.release = min(ms(35), span*35/100)
	}

	startF, endF := sy.v0, sy.v1
	if sy.onset == consSonorant {
		startF = v.sonorant
	}
	if sy.coda == consSonorant {
		endF = v.sonorant
	}
	seg := out[sy.start : sy.start+n]
	df0 := (sy.f0b - sy.f0a) / float64(n)
	for blk := 0; blk < n; blk += formantBlock {
		end := min(blk+formantBlock, n)
		f := formantTrack((blk+end)/2, formantFrom, formantTo, n, startF, sy.v0, sy.v1, endF)
		for k := range v.formant {
			v.formant[k].tune(f[k])
		}
		// Envelopes are evaluated at block edges and interpolated: they
		// change over tens of milliseconds, a block is 2.7 ms.
		v.voicedBlock(seg[blk:end], sy.f0a+df0*float64(blk), df0, voiced.at(blk)*sy.amp, voiced.at(end)*sy.amp)
		for _, nr := range noises {
			if nr.end > blk && nr.start < end {
				v.noiseBlock(seg[blk:end], nr.at(blk)*sy.amp, nr.at(end)*sy.amp)
			}
		}
	}
}

// voicedBlock renders voiced speech into seg: the glottal source (pitch
// starting at f0, changing by df0 per sample) through the formant cascade,
// with its envelope going linearly from e0 to e1. The state lives in locals
// for the loop, which is the synthesiser's hot path.
func (v *voice) voicedBlock(seg []float32, f0, df0, e0, e1 float64) {
	r0, r1, r2 := v.formant[0], v.formant[1], v.formant[2]
	phase, jit, shim := v.phase, v.jit, v.shim
	env, denv := e0, (e1-e0)/float64(len(seg))
	const invRate, invOQ = 1.0 / SampleRate, 1.0 / openQuotient
	for i := range seg {
		phase += f0 * jit * invRate
		f0 += df0
		if phase >= 1 {
			phase -= math.Floor(phase)
			jit = 1 + jitter*(v.rng.Float64()-0.5)
			shim = 1 + shimmer*(v.rng.Float64()-0.5)
		}
		// Glottal flow derivative (KLGLOTT88: flow x²-x³ over the open
		// phase): its abrupt closure each period is the excitation that
		// gives voiced speech its harmonics, and it is zero-mean, so no DC
		// builds up in the resonators.
		src := aspiration * v.white()
		if phase < openQuotient {
			x := phase * invOQ
			src += (2*x - 3*x*x) * shim
		}
		y := r0.a*src + r0.b*r0.y1 + r0.c*r0.y2
		r0.y2, r0.y1 = r0.y1, y
		y = r1.a*y + r1.b*r1.y1 + r1.c*r1.y2
		r1.y2, r1.y1 = r1.y1, y
		y = r2.a*y + r2.b*r2.y1 + r2.c*r2.y2
		r2.y2, r2.y1 = r2.y1, y
		seg[i] = float32(y * env)
		env += denv
	}
	v.formant[0], v.formant[1], v.formant[2] = r0, r1, r2
	v.phase, v.jit, v.shim = phase, jit, shim
}

// noiseBlock adds fricative noise to seg with its envelope going linearly
// from e0 to e1: white noise, differenced so it has no low rumble, through
// a broad high resonance.
func (v *voice) noiseBlock(seg []float32, e0, e1 float64) {
	env, denv := e0*fricativeGain, (e1-e0)*fricativeGain/float64(len(seg))
	for i := range seg {
		w := v.white()
		seg[i] += float32(env * v.fric.step(w-v.prevNoise))
		v.prevNoise = w
		env += denv
	}
}

// formantTrack returns the formant targets at sample i of a syllable:
// gliding from startF at 0 to the vowel's v0 at from, through the vowel to
// v1 at to, and on to endF at n.
func formantTrack(i, from, to, n int, startF, v0, v1, endF formants) formants {
	lerp := func(a, b formants, t float64) formants {
		t = math.Min(math.Max(t, 0), 1)
		return formants{a[0] + (b[0]-a[0])*t, a[1] + (b[1]-a[1])*t, a[2] + (b[2]-a[2])*t}
	}
	switch {
	case i < from:
		return lerp(startF, v0, float64(i)/float64(max(from, 1)))
	case i < to:
		return lerp(v0, v1, float64(i-from)/float64(max(to-from, 1)))
	default:
		return lerp(v1, endF, float64(i-to)/float64(max(n-to, 1)))
	}
}
