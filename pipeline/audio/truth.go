package audio

import (
	"math"
	"slices"
	"time"
)

// Span is a time interval within a clip, [Start, End).
type Span struct {
	Start, End time.Duration
}

// Duration returns the span's length.
func (s Span) Duration() time.Duration { return s.End - s.Start }

// TruthOptions tunes SpeechSpans. Zero fields take the defaults.
type TruthOptions struct {
	// MinGap: silences shorter than this are part of the surrounding
	// speech. Default 200 ms, so words and stop closures inside a phrase
	// form one span; pass 300 ms or more for utterance-level spans.
	MinGap time.Duration
	// MinSpeech: spans shorter than this (after merging) are dropped as
	// clicks and blips. Default 30 ms.
	MinSpeech time.Duration
	// RelativeDB: a 10 ms frame is speech when its level is within this
	// many dB of the clip's loudest frame. Default 35.
	RelativeDB float64
	// FloorDBFS: frames quieter than this are never speech, however quiet
	// the clip. Default -50.
	FloorDBFS float64
	// EdgeRelativeDB: span edges are extended outward, at 1 ms resolution,
	// while the signal stays within this many dB of the loudest frame (and
	// clearly above the clip's background). It is lower than RelativeDB so
	// the soft start of a syllable and the tail of its decay count as
	// speech, as they would to a listener. Default 50.
	EdgeRelativeDB float64
}

// Defaults for TruthOptions.
const (
	DefaultTruthMinGap    = 200 * time.Millisecond
	DefaultTruthMinSpeech = 30 * time.Millisecond
	defaultRelativeDB     = 35
	defaultFloorDBFS      = -50
	defaultEdgeRelativeDB = 50
)

const (
	truthHopMs = 10 // coarse detection frame
	// truthMaxExtendMs bounds how far edge refinement may move an edge
	// outward from the coarse detection, so a long low-level tail (room
	// tone, a fade) cannot swallow the silence around the speech.
	truthMaxExtendMs = 150
	// truthEdgeGapMs: refinement walks across quiet dips up to this long,
	// e.g. between a stop burst and the vowel that follows.
	truthEdgeGapMs = 3
	// truthBackgroundMarginDB: the edge threshold stays this far above the
	// clip's background level, so refinement never walks into noise.
	truthBackgroundMarginDB = 6
	// truthAbsoluteEdgeDBFS: below this, signal is inaudible dither.
	truthAbsoluteEdgeDBFS = -80
)

func (o TruthOptions) withDefaults() TruthOptions {
	if o.MinGap <= 0 {
		o.MinGap = DefaultTruthMinGap
	}
	if o.MinSpeech <= 0 {
		o.MinSpeech = DefaultTruthMinSpeech
	}
	if o.RelativeDB <= 0 {
		o.RelativeDB = defaultRelativeDB
	}
	if o.FloorDBFS == 0 {
		o.FloorDBFS = defaultFloorDBFS
	}
	if o.EdgeRelativeDB <= 0 {
		o.EdgeRelativeDB = defaultEdgeRelativeDB
	}
	o.EdgeRelativeDB = max(o.EdgeRelativeDB, o.RelativeDB)
	return o
}

// SpeechSpans measures where the speech in a clean clip is: the offline
// ground-truth reference that latencies are measured against, deliberately
// independent of any VAD under test. Measure it before noise is mixed in.
//
// Method: 1 ms energy blocks are summed into 10 ms frames; frames within
// RelativeDB of the loudest frame (and above FloorDBFS) are speech. Each
// detected run's edges are then refined on the 1 ms envelope by walking
// outward while the signal stays above the lower edge threshold, which
// gives ~1 ms precision. Runs separated by less than MinGap are merged and
// runs shorter than MinSpeech dropped. Spans are ordered and disjoint; a
// silent clip has none.
func SpeechSpans(c Clip, opts TruthOptions) []Span {
	o := opts.withDefaults()
	env := newEnvelope(c)
	if env == nil {
		return nil
	}
	peak := 0.0 // mean square of the loudest 10 ms frame
	frames := env.frames(truthHopMs)
	for _, e := range frames {
		peak = max(peak, e)
	}
	if peak == 0 {
		return nil
	}
	peakDB := powerDB(peak)
	detect := dbPower(max(o.FloorDBFS, peakDB-o.RelativeDB))
	edge := dbPower(max(peakDB-o.EdgeRelativeDB, env.backgroundDB(frames)+truthBackgroundMarginDB, truthAbsoluteEdgeDBFS))
	edge = min(edge, detect)

	// Coarse runs of speech frames, in ms.
	var coarse [][2]int
	for f := 0; f < len(frames); {
		if frames[f] < detect {
			f++
			continue
		}
		start := f
		for f < len(frames) && frames[f] >= detect {
			f++
		}
		coarse = append(coarse, [2]int{start * truthHopMs, min(f*truthHopMs, len(env.ms))})
	}

	// Refine each run's edges, never past its neighbours.
	spans := make([][2]int, 0, len(coarse))
	for i, r := range coarse {
		lo, hi := 0, len(env.ms)
		if i > 0 {
			lo = spans[i-1][1]
		}
		if i+1 < len(coarse) {
			hi = coarse[i+1][0]
		}
		spans = append(spans, [2]int{env.refineStart(r[0], lo, detect, edge), env.refineEnd(r[1], hi, detect, edge)})
	}

	// Merge across short gaps, then drop blips.
	minGap, minSpeech := durationMs(o.MinGap), durationMs(o.MinSpeech)
	merged := spans[:0]
	for _, s := range spans {
		if n := len(merged); n > 0 && s[0]-merged[n-1][1] < minGap {
			merged[n-1][1] = s[1]
			continue
		}
		merged = append(merged, s)
	}
	merged = slices.DeleteFunc(merged, func(s [2]int) bool { return s[1]-s[0] < minSpeech })

	out := make([]Span, len(merged))
	total := c.Duration()
	for i, s := range merged {
		out[i] = Span{
			Start: time.Duration(s[0]) * time.Millisecond,
			End:   min(time.Duration(s[1])*time.Millisecond, total),
		}
	}
	return out
}

// SpeechSpan returns the clip's overall speech span, from the first speech
// onset to the last offset, with default options; ok is false for a clip
// without speech.
func SpeechSpan(c Clip) (span Span, ok bool) {
	spans := SpeechSpans(c, TruthOptions{})
	if len(spans) == 0 {
		return Span{}, false
	}
	return Span{Start: spans[0].Start, End: spans[len(spans)-1].End}, true
}

// envelope is a clip's energy at 1 ms resolution.
type envelope struct {
	ms []float64 // mean square (full scale = 1) of each 1 ms block
	n  []int     // samples in each block (rates not divisible by 1000 vary)
}

func newEnvelope(c Clip) *envelope {
	if c.Rate <= 0 || len(c.Samples) == 0 {
		return nil
	}
	rate := int64(c.Rate)
	blocks := int((int64(len(c.Samples))*1000 + rate - 1) / rate)
	env := &envelope{ms: make([]float64, blocks), n: make([]int, blocks)}
	for k := range blocks {
		lo := int(int64(k) * rate / 1000)
		hi := min(int(int64(k+1)*rate/1000), len(c.Samples))
		env.ms[k] = meanSquare(c.Samples[lo:hi])
		env.n[k] = hi - lo
	}
	return env
}

// frames returns the mean square of consecutive hop-ms frames.
func (e *envelope) frames(hop int) []float64 {
	out := make([]float64, 0, (len(e.ms)+hop-1)/hop)
	for k := 0; k < len(e.ms); k += hop {
		var sum float64
		var n int
		for j := k; j < min(k+hop, len(e.ms)); j++ {
			sum += e.ms[j] * float64(e.n[j])
			n += e.n[j]
		}
		if n == 0 {
			out = append(out, 0)
			continue
		}
		out = append(out, sum/float64(n))
	}
	return out
}

// backgroundDB estimates the clip's background level as the 10th
// percentile of its frame levels: the quiet between words, or -Inf for a
// clip padded with digital silence.
func (e *envelope) backgroundDB(frames []float64) float64 {
	sorted := slices.Clone(frames)
	slices.Sort(sorted)
	return powerDB(sorted[len(sorted)/10])
}

// refineStart moves a coarse onset (ms) to the first 1 ms block of the run:
// from the first block at detection level, it walks back while blocks stay
// above the edge threshold (tolerating dips of truthEdgeGapMs), not below lo.
func (e *envelope) refineStart(start, lo int, detect, edge float64) int {
	j0 := start
	for j := start; j < min(start+truthHopMs, len(e.ms)); j++ {
		if e.ms[j] >= detect {
			j0 = j
			break
		}
	}
	first := j0
	for k := j0 - 1; k >= max(lo, j0-truthMaxExtendMs); k-- {
		if e.ms[k] >= edge {
			first = k
		} else if first-k > truthEdgeGapMs {
			break
		}
	}
	return first
}

// refineEnd mirrors refineStart for a coarse offset (exclusive, ms), never
// past hi; it returns the exclusive end.
func (e *envelope) refineEnd(end, hi int, detect, edge float64) int {
	j1 := end - 1
	for j := end - 1; j >= max(end-truthHopMs, 0); j-- {
		if e.ms[j] >= detect {
			j1 = j
			break
		}
	}
	last := j1
	for k := j1 + 1; k < min(hi, j1+1+truthMaxExtendMs); k++ {
		if e.ms[k] >= edge {
			last = k
		} else if k-last > truthEdgeGapMs {
			break
		}
	}
	return last + 1
}

func powerDB(p float64) float64 {
	if p <= 0 {
		return math.Inf(-1)
	}
	return 10 * math.Log10(p)
}

func dbPower(db float64) float64 { return math.Pow(10, db/10) }

func durationMs(d time.Duration) int { return int((d + time.Millisecond/2) / time.Millisecond) }
