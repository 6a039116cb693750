package vad

import (
	"math"
	"time"

	"github.com/voicesim/voicesim/pipeline"
)

// Signal-processing constants. They are not configuration: they define what
// "level above the noise floor" means, and Threshold is expressed on top of
// them.
const (
	// subSamples is one analysis sub-frame, 10 ms: short enough for ~10 ms
	// onset resolution, long enough for a stable energy estimate. WebRTC's
	// VAD and Silero both work on 10–32 ms windows.
	subSamples  = pipeline.SampleRate / 100
	subDuration = 10 * time.Millisecond

	// silenceDB is the level reported for digital silence (log of zero).
	silenceDB = -100.0

	// highPassHz: the energy is measured on a 2nd-order Butterworth
	// high-pass. Speech carries little energy below the lowest male F0
	// (~85 Hz) and its formants sit far above; HVAC rumble, traffic and the
	// lowest octaves of pink or brown noise sit below. Cutting them makes
	// the 10 ms energy of such noise far steadier, so its peaks do not look
	// like speech above the floor. This is the VAD's spectral cue, and it
	// costs five multiplications a sample.
	highPassHz = 150.0

	// Noise floor: minimum statistics (R. Martin, "Noise power spectral
	// density estimation based on optimal smoothing and minimum
	// statistics", IEEE Trans. Speech Audio Process. 9(5), 2001): the floor
	// is the minimum of the recursively smoothed power over a window of
	// about 1.5 s, tracked as the minima of U=8 sub-windows so it costs
	// O(1) per sub-frame. It falls at once when the level drops and rises
	// only when the quiet sub-window that held the old minimum leaves the
	// window, so the pauses between words keep it at the noise level while
	// a new, steady noise is absorbed within floorSubWindows×floorSubLen.
	floorSmoothing  = 0.7 // per sub-frame: ~28 ms time constant
	floorSubLen     = 20  // sub-frames per sub-window (200 ms)
	floorSubWindows = 8   // 1.6 s window

	// The speech probability is a logistic function of the sub-frame's
	// level above the floor: 0.5 at snrMidDB, with a slope of snrSlopeDB
	// per e-fold of the odds. 9 dB is where a syllable stands clearly out
	// of the background (the 10 ms energy of steady noise, high-passed,
	// stays within a few dB of its minimum).
	snrMidDB   = 9.0
	snrSlopeDB = 3.0

	// hysteresis: once speaking, a sub-frame stays speech down to
	// threshold-0.15, Silero VADIterator's neg_threshold, so the weak
	// middle of a word does not end the speech. (Below a threshold of 0.3
	// the lower bound is threshold/2, so it never reaches zero.)
	hysteresis = 0.15

	// Edge refinement: the onset estimate reaches back (at most
	// PrefixPadding) and the offset estimate forward (at most maxTail)
	// over sub-frames that are not loud enough to count as speech but are
	// edgeSNRDB above the floor and at most edgeBelowMinVolumeDB below
	// MinVolumeDBFS — the soft start of a word, the decay of its last
	// sound. 6 dB above background and 150 ms are the margins of the
	// ground-truth reference (audio.SpeechSpans), so the VAD's estimate is
	// measured the way the truth is.
	edgeSNRDB            = 6.0
	edgeBelowMinVolumeDB = 20.0
	maxTail              = 150 * time.Millisecond
)

type vadState uint8

const (
	quiet    vadState = iota
	starting          // speech seen, not yet StartSecs of it
	speaking          // SpeechStarted emitted
)

// detector is the VAD's signal path, independent of the pipeline so it can
// be driven and benchmarked directly. It allocates nothing after
// construction.
type detector struct {
	threshold, negThreshold float64
	startSecs, stopSecs     time.Duration
	prefix                  time.Duration
	minVolumeDB, edgeAbsDB  float64

	// emit reports a confirmed transition: SpeechStarted at the estimated
	// onset or SpeechStopped at the estimated offset.
	emit func(k pipeline.Kind, at time.Duration)

	// High-pass biquad (RBJ cookbook, Q = 1/√2), in int16 units.
	b0, b1, b2, a1, a2 float64
	x1, x2, y1, y2     float64

	// The sub-frame being accumulated.
	acc      float64
	n        int
	subStart time.Duration

	// Noise floor (power, full scale = 1).
	smoothed float64
	started  bool
	curMin   float64
	curLen   int
	mins     [floorSubWindows]float64
	minIdx   int
	floor    float64

	// Edge run: contiguous sub-frames at edge level up to the last one.
	edgeStart time.Duration
	edgeOpen  bool
	lastEnd   time.Duration

	state     vadState
	onset     time.Duration // estimated onset of the current candidate
	speech    time.Duration // speech accumulated while starting
	speechEnd time.Duration // end of the last speech sub-frame
	tailEnd   time.Duration // estimated offset (speechEnd + soft tail)
	tailOpen  bool

	voiced int // sub-frames judged speech in the current process call

	// speechFloor is the floor when the current speech began, and
	// speechSubs how many sub-frames the speech has lasted: while speaking
	// the floor may rise only slowly from it (see effectiveFloor).
	speechFloor float64
	speechSubs  int
}

// floorRiseDBPerSec bounds how fast the noise floor may rise while speech
// goes on. Minimum statistics over a 1.6 s window assumes pauses within
// the window; a long unbroken utterance would otherwise become its own
// floor and its quiet ending (a word-final /s/) would read as silence. A
// slow rise still follows noise that starts during speech.
const floorRiseDBPerSec = 3.0

// effectiveFloor is the floor decisions use: the tracked floor, capped
// during speech at the floor when speech began plus the allowed rise.
func (d *detector) effectiveFloor() float64 {
	if d.state != speaking {
		return d.floor
	}
	rise := floorRiseDBPerSec * float64(d.speechSubs) * subDuration.Seconds()
	return min(d.floor, d.speechFloor*math.Pow(10, rise/10))
}

func newDetector(c *Config) detector {
	d := detector{
		threshold:    c.Threshold,
		negThreshold: max(c.Threshold-hysteresis, c.Threshold/2),
		startSecs:    c.StartSecs.D(),
		stopSecs:     c.StopSecs.D(),
		prefix:       c.PrefixPadding.D(),
		minVolumeDB:  c.MinVolumeDBFS,
		edgeAbsDB:    c.MinVolumeDBFS - edgeBelowMinVolumeDB,
		curMin:       math.Inf(1),
	}
	for i := range d.mins {
		d.mins[i] = math.Inf(1)
	}
	w0 := 2 * math.Pi * highPassHz / pipeline.SampleRate
	alpha := math.Sin(w0) / math.Sqrt2 // sin(w0)/(2Q) with Q = 1/√2
	cw := math.Cos(w0)
	a0 := 1 + alpha
	d.b0 = (1 + cw) / 2 / a0
	d.b1 = -(1 + cw) / a0
	d.b2 = d.b0
	d.a1 = -2 * cw / a0
	d.a2 = (1 - alpha) / a0
	return d
}

// process analyses one frame of samples whose first sample was captured at
// session time at, and returns how many of its sub-frames sounded like
// speech (by the raw per-sub-frame decision, without hangover).
func (d *detector) process(samples []int16, at time.Duration) int {
	d.voiced = 0
	if d.n == 0 && d.x1 == 0 && d.x2 == 0 && d.y1 == 0 && d.y2 == 0 && len(samples)%subSamples == 0 && allZero(samples) {
		// Digital silence into a settled filter: every sub-frame's power is
		// exactly zero, so skip the filter (a quiet microphone stream is
		// most of a conversation).
		for i := 0; i < len(samples); i += subSamples {
			d.subStart = at + time.Duration(i)*time.Second/pipeline.SampleRate
			d.subFrame(0)
		}
		return d.voiced
	}
	// A high-pass biquad has b1 = -2·b0 and b2 = b0, so the feed-forward
	// part is one multiply: b0·(x - 2·x1 + x2).
	b0, a1, a2 := d.b0, d.a1, d.a2
	x1, x2, y1, y2 := d.x1, d.x2, d.y1, d.y2
	acc, n := d.acc, d.n
	for i := 0; i < len(samples); {
		if n == 0 {
			d.subStart = at + time.Duration(i)*time.Second/pipeline.SampleRate
		}
		// Filter up to the end of the sub-frame or of the frame.
		m := min(len(samples)-i, subSamples-n)
		for _, s := range samples[i : i+m] {
			x := float64(s)
			y := b0*(x-2*x1+x2) - a1*y1 - a2*y2
			x2, x1 = x1, x
			y2, y1 = y1, y
			acc += y * y
		}
		i += m
		n += m
		if n == subSamples {
			// Flush denormals after long silence: they are slow on most
			// CPUs and carry nothing audible.
			if math.Abs(y1) < 1e-12 && math.Abs(y2) < 1e-12 {
				y1, y2 = 0, 0
			}
			d.subFrame(acc / (subSamples * 32768 * 32768))
			acc, n = 0, 0
		}
	}
	d.x1, d.x2, d.y1, d.y2 = x1, x2, y1, y2
	d.acc, d.n = acc, n
	return d.voiced
}

// levelDB converts a power (full scale = 1) to dBFS.
func levelDB(p float64) float64 {
	if p <= 0 {
		return silenceDB
	}
	return max(10*math.Log10(p), silenceDB)
}

// probability maps a sub-frame level to a speech probability against the
// current floor. Below the absolute floor it is zero.
func (d *detector) probability(levelDBFS float64) float64 {
	if !d.started || levelDBFS < d.minVolumeDB {
		return 0
	}
	snr := levelDBFS - levelDB(d.effectiveFloor())
	return 1 / (1 + math.Exp(-(snr-snrMidDB)/snrSlopeDB))
}

// updateFloor feeds one sub-frame's power to the minimum-statistics tracker.
func (d *detector) updateFloor(p float64) {
	if !d.started {
		d.started, d.smoothed = true, p
	} else {
		d.smoothed = floorSmoothing*d.smoothed + (1-floorSmoothing)*p
	}
	d.curMin = min(d.curMin, d.smoothed)
	if d.curLen++; d.curLen == floorSubLen {
		d.mins[d.minIdx] = d.curMin
		d.minIdx = (d.minIdx + 1) % floorSubWindows
		d.curMin, d.curLen = math.Inf(1), 0
	}
	f := d.curMin
	for _, m := range d.mins {
		f = min(f, m)
	}
	d.floor = f
}

// subFrame runs the decision for one completed 10 ms sub-frame of power p.
func (d *detector) subFrame(p float64) {
	start := d.subStart
	end := start + subDuration
	level := levelDB(p)
	prob := d.probability(level)
	// Edge level is judged against the same floor as the probability.
	edge := d.started && level >= levelDB(d.effectiveFloor())+edgeSNRDB && level >= d.edgeAbsDB
	if d.state == speaking {
		d.speechSubs++
	}
	d.updateFloor(p)

	contiguous := start == d.lastEnd
	d.lastEnd = end
	if prob >= d.threshold || (d.state == speaking && prob >= d.negThreshold) {
		d.voiced++
	}

	switch d.state {
	case quiet:
		if prob >= d.threshold {
			d.onset = start
			if d.edgeOpen && contiguous {
				d.onset = max(d.edgeStart, start-d.prefix)
			}
			d.state, d.speech, d.speechEnd = starting, subDuration, end
			d.confirmIfDue()
		}
	case starting:
		if prob >= d.threshold {
			d.speech += subDuration
			d.speechEnd = end
			d.confirmIfDue()
		} else if end-d.speechEnd >= d.stopSecs {
			d.state = quiet // a blip, not speech
		}
	case speaking:
		switch {
		case prob >= d.negThreshold:
			d.speechEnd, d.tailEnd, d.tailOpen = end, end, true
		case d.tailOpen && edge && contiguous && end-d.speechEnd <= maxTail:
			d.tailEnd = end
		default:
			d.tailOpen = false
		}
		if !d.tailOpen && end-d.speechEnd >= d.stopSecs {
			d.state = quiet
			d.emit(pipeline.SpeechStopped, d.tailEnd)
		}
	}

	// Track the run of edge-level sub-frames for the next onset estimate.
	switch {
	case !edge:
		d.edgeOpen = false
	case !d.edgeOpen || !contiguous:
		d.edgeStart, d.edgeOpen = start, true
	}
}

func (d *detector) confirmIfDue() {
	if d.speech < d.startSecs {
		return
	}
	d.state = speaking
	// From digital silence the floor is zero power: rise from -120 dBFS.
	d.speechFloor, d.speechSubs = max(d.floor, 1e-12), int(d.speech/subDuration)
	d.tailEnd, d.tailOpen = d.speechEnd, true
	d.emit(pipeline.SpeechStarted, d.onset)
}

func allZero(s []int16) bool {
	for _, v := range s {
		if v != 0 {
			return false
		}
	}
	return true
}
