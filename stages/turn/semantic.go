package turn

import (
	"time"

	"github.com/voicesim/voicesim/pipeline"
)

// semantic is turn.semantic's policy: a model of an end-of-turn classifier
// whose accuracy is the parameter.
//
// It consults ground truth, as the stage contract allows for models whose
// accuracy is the parameter: a silence that follows a UserAudio frame
// flagged FlagSpeechEnd (and no FlagSpeechStart since) is the utterance's
// true end; any other silence is a mid-utterance pause. The detector then
// errs on purpose: a true end is missed with LateProbability (the turn ends
// at MaxDelay), a pause is taken for the end with PrematureProbability (the
// turn ends after Delay, while the user still has more to say). Otherwise a
// true end ends the turn after Delay and a pause is waited out until
// MaxDelay, LiveKit's fallback, unless speech resumes. What the model
// cannot be is a real classifier: it never looks at the words or the
// prosody.
type semantic struct {
	cfg    SemanticConfig
	sawEnd bool // a FlagSpeechEnd frame passed since the last FlagSpeechStart
}

func (s *semantic) audio(f pipeline.Frame) bool {
	if f.Flags&pipeline.FlagSpeechStart != 0 {
		s.sawEnd = false
	}
	if f.Flags&pipeline.FlagSpeechEnd != 0 {
		s.sawEnd = true
		return true
	}
	return false
}

func (s *semantic) decide(ctx *pipeline.Context, _ time.Duration) (time.Duration, outcome) {
	rng := ctx.Rand()
	maxDelay := s.cfg.MaxDelay.D()
	if s.sawEnd {
		if chance(s.cfg.LateProbability, ctx) {
			return maxDelay, endLate
		}
		return min(s.cfg.Delay.Sample(rng), maxDelay), endTrue
	}
	if chance(s.cfg.PrematureProbability, ctx) {
		return min(s.cfg.Delay.Sample(rng), maxDelay), endPremature
	}
	return maxDelay, endFallback
}

// chance reports an event of probability p, drawing from the session's
// source only when the outcome is uncertain.
func chance(p float64, ctx *pipeline.Context) bool {
	switch {
	case p <= 0:
		return false
	case p >= 1:
		return true
	}
	return ctx.Rand().Float64() < p
}
