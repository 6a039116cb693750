package native

import "math"

// energyVAD is the duplex model's hearing: a frame is voiced when its level
// is at least marginDB above an adaptive noise floor and above minDBFS.
// Moshi has no separate VAD (its transformer hears the Mimi tokens); this is
// the simplest stand-in that works from the real samples, so noise, level
// and pauses in the user's audio change what the model does.
//
// The floor follows the level down at once and creeps up at riseDBPerFrame,
// so it settles on the quietest recent frames (the gaps between words) and
// recovers slowly when the background gets louder.
type energyVAD struct {
	marginDB       float64
	minDBFS        float64
	riseDBPerFrame float64
	floorDB        float64
	primed         bool
}

// silenceDBFS stands for digital silence, whose level is -Inf.
const silenceDBFS = -120

// floorRiseDBPerSecond: how fast the noise floor estimate may rise. 3 dB/s
// lets a louder background be learnt within seconds without the floor
// catching up with a talker who speaks for a few seconds without a pause.
// Assumption, in the range of classic minimum-statistics trackers.
const floorRiseDBPerSecond = 3

func newEnergyVAD(marginDB, minDBFS float64, framesPerSecond float64) energyVAD {
	return energyVAD{marginDB: marginDB, minDBFS: minDBFS, riseDBPerFrame: floorRiseDBPerSecond / framesPerSecond}
}

// voiced classifies one frame of samples and updates the floor. It
// allocates nothing.
func (v *energyVAD) voiced(s []int16) bool {
	l := levelDBFS(s)
	switch {
	case !v.primed:
		v.floorDB, v.primed = l, true
	case l < v.floorDB:
		v.floorDB = l
	default:
		v.floorDB = min(l, v.floorDB+v.riseDBPerFrame)
	}
	return l >= max(v.floorDB+v.marginDB, v.minDBFS)
}

// levelDBFS is the RMS level of s in dB relative to full scale, floored at
// silenceDBFS.
func levelDBFS(s []int16) float64 {
	if len(s) == 0 {
		return silenceDBFS
	}
	var sum int64
	for _, x := range s {
		sum += int64(x) * int64(x)
	}
	if sum == 0 {
		return silenceDBFS
	}
	ms := float64(sum) / float64(len(s)) / (32768.0 * 32768.0)
	return max(10*math.Log10(ms), silenceDBFS)
}
