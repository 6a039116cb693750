package audio

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// SynthConfig configures a Synth. Zero fields take the defaults.
type SynthConfig struct {
	// PitchHz is the voice's mean fundamental frequency. Default 120 Hz (a
	// low adult voice); around 210 Hz gives a higher voice, whose formants
	// are also raised.
	PitchHz float64
	// SyllablesPerSecond is the speaking rate. Default 4.5, a natural
	// conversational rate; slow speakers are nearer 3.
	SyllablesPerSecond float64
	// LevelDBFS is the active speech level of the output (as measured by
	// ActiveLevelDBFS, so pauses do not count). Default -20 dBFS.
	LevelDBFS float64
	// Seed varies syllable timing, pitch jitter and noise. The same text,
	// config and seed always give bit-identical audio.
	Seed uint64
}

// Synth defaults.
const (
	DefaultSynthPitchHz            = 120
	DefaultSynthSyllablesPerSecond = 4.5
	DefaultSynthLevelDBFS          = -20
)

// Pauses the synthesiser puts between phrases: short at commas and similar,
// long at sentence ends. None is added before the first word or after the
// last: a clip's speech fills it (SpeechSpan finds it within a few
// milliseconds of both ends), so callers add their own silence.
const (
	synthShortPause = 180 * time.Millisecond
	synthLongPause  = 450 * time.Millisecond
)

// Synth is a deterministic speech-like synthesiser for simulated assistant
// voices and synthetic users. It is not intelligible speech: it is a
// glottal pulse train through moving formant resonators with syllabic
// envelopes, fricative noise and plosive bursts, at the rhythm the text
// implies. That is what VADs, endpointers and level meters respond to, and
// it costs a fraction of a millisecond per second of audio. A Synth holds no
// mutable state and is safe for concurrent use.
type Synth struct {
	cfg          SynthConfig
	formantScale float64
	cache        *speechCache // optional, see WithCache
}

// NewSynth validates cfg, fills in defaults and returns a Synth.
func NewSynth(cfg SynthConfig) (*Synth, error) {
	if cfg.PitchHz == 0 {
		cfg.PitchHz = DefaultSynthPitchHz
	}
	if cfg.SyllablesPerSecond == 0 {
		cfg.SyllablesPerSecond = DefaultSynthSyllablesPerSecond
	}
	if cfg.LevelDBFS == 0 {
		cfg.LevelDBFS = DefaultSynthLevelDBFS
	}
	switch {
	case !(cfg.PitchHz >= 50 && cfg.PitchHz <= 500):
		return nil, fmt.Errorf("audio: synth: pitch %g Hz is out of range (50..500)", cfg.PitchHz)
	case !(cfg.SyllablesPerSecond >= 0.5 && cfg.SyllablesPerSecond <= 15):
		return nil, fmt.Errorf("audio: synth: rate %g syllables/s is out of range (0.5..15)", cfg.SyllablesPerSecond)
	case !(cfg.LevelDBFS >= -90 && cfg.LevelDBFS < 0):
		return nil, fmt.Errorf("audio: synth: level %g dBFS is out of range (-90..0)", cfg.LevelDBFS)
	}
	// Higher voices come from shorter vocal tracts: raise the formants up to
	// ~17% (adult female vs male) as pitch goes from 120 to 220 Hz.
	scale := 1 + 0.17*math.Min(math.Max((cfg.PitchHz-120)/100, 0), 1)
	return &Synth{cfg: cfg, formantScale: scale}, nil
}

// Config returns the effective configuration, defaults filled in.
func (s *Synth) Config() SynthConfig { return s.cfg }

// Speak synthesises text as a mono clip at SampleRate. Its length is
// roughly the text's syllable count (vowel groups per word) over the
// speaking rate, plus pauses at punctuation, and is exactly SpeakDuration.
// Text with no letters or digits gives an empty clip.
func (s *Synth) Speak(text string) Clip {
	if s.cache != nil {
		if samples, ok := s.cache.get(text); ok {
			return Clip{Samples: samples, Rate: SampleRate}
		}
	}
	p := s.plan(text)
	out := Clip{Samples: s.render(p), Rate: SampleRate}
	if s.cache != nil {
		s.cache.put(text, out.Samples)
		out.Samples = out.Samples[:len(out.Samples):len(out.Samples)]
	}
	return out
}

// SpeakDuration returns the exact duration of Speak(text) without
// synthesising it, so a simulated TTS can schedule audio before rendering.
func (s *Synth) SpeakDuration(text string) time.Duration {
	return SamplesToDuration(s.plan(text).total, SampleRate)
}

// Seeds separating the plan's random stream from the renderer's, so timing
// never depends on how many random numbers the renderer drew.
const (
	synthPlanStream   = 0x706c616e // "plan"
	synthRenderStream = 0x72656e64 // "rend"
)

// consonant is the sound class of a consonant cluster.
type consonant uint8

const (
	consNone      consonant = iota
	consSonorant            // l m n r w y: voiced, formant transition
	consFricative           // s f h sh th ...: shaped noise
	consPlosive             // p t k b d g: silence then a burst
)

// formants are the first three formant frequencies in Hz.
type formants [3]float64

// Vowel targets (adult male averages, Peterson & Barney 1952 and Hillenbrand
// et al. 1995), chosen by the vowel letters so that different words sound
// different; scaled by the Synth's formantScale.
var (
	vowelA       = formants{730, 1090, 2440}
	vowelE       = formants{530, 1840, 2480}
	vowelI       = formants{390, 1990, 2550}
	vowelO       = formants{570, 840, 2410}
	vowelU       = formants{440, 1020, 2240}
	sonorantLike = formants{320, 1300, 2400} // nasals and liquids
)

// syllable is one planned syllable; n is its length in samples.
type syllable struct {
	start, n    int
	onset, coda consonant
	v0, v1      formants // vowel target at start and end (diphthongs glide)
	f0a, f0b    float64  // pitch at start and end
	amp         float64
}

// synthPlan is the timing of an utterance: everything Speak needs except
// the waveform, and all SpeakDuration needs.
type synthPlan struct {
	syl   []syllable
	total int // samples, pauses included
}

// plan lays out text as syllables and pauses and shapes the prosody: a pitch
// fall across each phrase (declination), a final rise on questions, and a
// lengthened, softer phrase-final syllable.
func (s *Synth) plan(text string) synthPlan {
	rng := rand.New(rand.NewPCG(s.cfg.Seed, synthPlanStream))
	base := float64(SampleRate) / s.cfg.SyllablesPerSecond
	phrases := splitPhrases(text)
	var p synthPlan
	for pi, ph := range phrases {
		var specs []syllableSpec
		for _, w := range ph.words {
			specs = append(specs, syllabify(w)...)
		}
		m := float64(len(specs))
		for j, sp := range specs {
			// ±15% timing variation keeps the rhythm from sounding metronomic.
			n := base * (0.85 + 0.3*rng.Float64())
			amp := 0.9 + 0.2*rng.Float64()
			if sp.stressed {
				amp *= 1.15
			}
			final := j == len(specs)-1
			if final {
				n *= 1.2
				amp *= 0.85
			}
			// Declination: from 112% of the mean pitch down to 85%.
			f0a := s.cfg.PitchHz * (1.12 - 0.27*float64(j)/m)
			f0b := s.cfg.PitchHz * (1.12 - 0.27*float64(j+1)/m)
			if final && ph.question {
				f0b = s.cfg.PitchHz * 1.3
			}
			p.syl = append(p.syl, syllable{
				start: p.total, n: int(n), onset: sp.onset, coda: sp.coda,
				v0: sp.v0.scale(s.formantScale), v1: sp.v1.scale(s.formantScale),
				f0a: f0a, f0b: f0b, amp: amp,
			})
			p.total += int(n)
		}
		if pi < len(phrases)-1 {
			p.total += DurationToSamples(ph.pauseAfter, SampleRate)
		}
	}
	return p
}

func (f formants) scale(k float64) formants { return formants{f[0] * k, f[1] * k, f[2] * k} }
