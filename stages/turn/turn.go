// Package turn holds turn detectors: stages downstream of the VAD that
// decide when the user's turn is over (endpointing) and when user speech
// over the assistant is a barge-in.
//
// Both detectors share one core (Detector): they follow the VAD's
// SpeechStarted/SpeechStopped frames, whose At fields are the VAD's
// estimated onset and offset in the capture timeline, and end a turn once
// the audio received shows a policy-given silence after the estimated
// offset. Silence is counted in received audio: a server cannot know about
// silence that has not reached it yet, so the turn ends at
// offset + silence + lag, where lag is the newest audio frame's transit
// delay (the uplink). A turn ends only if the user
// spoke (a SpeechStarted) since the previous turn end.
//
// Barge-in. From its own TurnEnded until a PlaybackStopped for it comes back
// upstream (or an Interruption/Cancel for it passes), the response is
// active. Speech that starts while a response is active and no user turn is
// open is a candidate barge-in: if it is still going on at onset +
// min_interruption the response is interrupted (ctx.Interrupt) and the
// speech opens a new user turn; if the VAD reports it stopped first it was
// a backchannel or a cough: turn.backchannel_ignored is stamped for the
// response, turn.backchannels_ignored counted, a Backchannel frame sent
// downstream (At: onset, Value: its length in seconds) and no turn ends for
// it. The same applies whether or not the response is audible yet (speech
// resuming after a premature turn end is classified the same way);
// audibility, from PlaybackStarted coming upstream, only decides which
// counter an interruption goes to.
package turn

import (
	"time"

	"github.com/voicesim/voicesim/pipeline"
)

// Counters the detectors maintain.
const (
	CounterTurnEnds                  = "turn.ends"
	CounterBackchannelsIgnored       = "turn.backchannels_ignored"
	CounterInterruptions             = "turn.interruptions"              // response was audible
	CounterInterruptionsBeforeAudio  = "turn.interruptions_before_audio" // response not audible yet
	CounterPrematureEnds             = "turn.premature_ends"             // turn.semantic: a pause judged the end
	CounterLateEnds                  = "turn.late_ends"                  // turn.semantic: a true end judged a pause
	CounterFallbackEnds              = "turn.fallback_ends"              // turn.semantic: ended by max_delay
	CounterSpeechOverUninterruptible = "turn.speech_over_response"       // interrupt: false and speech lasted
)

// Register adds turn.silence and turn.semantic to r.
func Register(r *pipeline.Registry) {
	pipeline.Register(r, "turn.silence",
		"silence-timeout endpointing after the VAD's end of speech, with barge-in",
		SilenceDefaults, NewSilence)
	pipeline.Register(r, "turn.semantic",
		"semantic end-of-turn model (delay, premature/late error rates, max_delay fallback), with barge-in",
		SemanticDefaults, NewSemantic)
}

// outcome is why a scheduled turn end was scheduled.
type outcome uint8

const (
	endSilence   outcome = iota // turn.silence
	endTrue                     // semantic: true end recognised
	endPremature                // semantic: a pause judged the end
	endLate                     // semantic: a true end judged a pause
	endFallback                 // semantic: pause waited out to max_delay
)

// endpointer is a turn detector's endpointing policy.
type endpointer interface {
	// decide returns how long after the estimated end of speech the turn
	// ends if speech does not resume, and why.
	decide(ctx *pipeline.Context, offset time.Duration) (time.Duration, outcome)
	// audio sees each user audio frame on its way down. It reports true
	// when the frame shows that a silence being waited out is in fact the
	// end of the utterance, so decide should be asked again.
	audio(f pipeline.Frame) bool
}

// Detector is the shared turn stage; NewSilence and NewSemantic build it
// with their policies. One instance serves one session.
type Detector struct {
	bargeIn BargeIn
	policy  endpointer
	ctx     *pipeline.Context
	endFn   func()
	bargeFn func()

	// The user's side.
	speaking bool // between SpeechStarted and SpeechStopped
	spoke    bool // a user turn is open: speech since the last turn end
	endTimer pipeline.Timer
	why      outcome

	// The assistant's side.
	active  pipeline.ResponseID
	audible bool

	// A barge-in candidate: speech over the active response.
	pending      bool
	pendingOnset time.Duration
	pendingResp  pipeline.ResponseID
	bargeTimer   pipeline.Timer

	// Voiced time, from the VAD's per-frame FlagVoiced: the running total
	// and its recent history, so the speech since an onset can be counted.
	voicedSeen  bool
	voiced      time.Duration
	pendingBase time.Duration // voiced total at the candidate's onset
	hist        [voicedHistory]voicedAt
	histN       int

	// transit is how late the newest user audio frame arrived after its
	// capture ended: the uplink, as this stage experiences it.
	transit time.Duration
}

// voicedHistory frames (2.56 s) cover any VAD's confirmation delay.
const voicedHistory = 128

type voicedAt struct{ end, total time.Duration }

var (
	_ pipeline.Stage   = (*Detector)(nil)
	_ pipeline.Starter = (*Detector)(nil)
)

// NewSilence builds a turn.silence stage.
func NewSilence(cfg *SilenceConfig) pipeline.Stage {
	return &Detector{bargeIn: cfg.BargeIn, policy: silence{after: cfg.Silence.D()}}
}

// NewSemantic builds a turn.semantic stage.
func NewSemantic(cfg *SemanticConfig) pipeline.Stage {
	return &Detector{bargeIn: cfg.BargeIn, policy: &semantic{cfg: *cfg}}
}

// Start binds the timer callbacks once.
func (d *Detector) Start(ctx *pipeline.Context) {
	d.ctx = ctx
	d.endFn = d.endTurn
	d.bargeFn = d.bargeInDue
}

// Handle follows speech and playback and forwards every frame except
// Interruption and Cancel (the session forwards those).
func (d *Detector) Handle(ctx *pipeline.Context, f pipeline.Frame, dir pipeline.Direction) {
	if d.ctx == nil {
		d.Start(ctx)
	}
	switch f.Kind {
	case pipeline.Interruption, pipeline.Cancel:
		// Cancelling R cancels every response up to R.
		if d.active != 0 && f.Response >= d.active {
			d.active, d.audible = 0, false
		}
		return
	case pipeline.SpeechStarted:
		if dir == pipeline.Downstream {
			d.speechStarted(f.At)
		}
	case pipeline.SpeechStopped:
		if dir == pipeline.Downstream {
			d.speechStopped(f.At)
		}
	case pipeline.UserAudio:
		if dir == pipeline.Downstream {
			d.countVoiced(f)
			if d.policy.audio(f) {
				d.revisit(f.At + f.Duration())
			}
		}
	case pipeline.PlaybackStarted:
		if dir == pipeline.Upstream && f.Response != 0 && f.Response == d.active {
			d.audible = true
		}
	case pipeline.PlaybackStopped:
		if dir == pipeline.Upstream && f.Response != 0 && f.Response == d.active {
			d.active, d.audible = 0, false
		}
	}
	ctx.Forward(f, dir)
}

func (d *Detector) speechStarted(onset time.Duration) {
	if d.speaking {
		return // a repeated start: the VAD alternates, tolerate a stray one
	}
	d.speaking = true
	d.endTimer.Stop() // speech resumed: this silence does not end the turn
	if d.active == 0 || d.spoke {
		d.spoke = true
		return
	}
	d.pending, d.pendingOnset, d.pendingResp = true, onset, d.active
	if d.voicedSeen {
		// The VAD reports voicing per frame: interrupt once the user has
		// actually spoken min_interruption since the onset, as LiveKit
		// compares its VAD's speech duration (its hangover is not speech).
		d.pendingBase = d.voicedAt(onset)
		if d.voiced-d.pendingBase >= d.bargeIn.MinInterruption.D() {
			d.bargeInDue()
		}
		return
	}
	// No per-frame voicing upstream: time since the onset stands in for it.
	wait := onset + d.bargeIn.MinInterruption.D() - d.ctx.Now()
	if wait <= 0 {
		d.bargeInDue()
		return
	}
	d.bargeTimer = d.ctx.After(wait, d.bargeFn)
}

// countVoiced adds a frame the VAD judged voiced to the running total and
// decides a pending barge-in once enough speech has been heard.
func (d *Detector) countVoiced(f pipeline.Frame) {
	if f.Flags&pipeline.FlagVoiced != 0 {
		d.voicedSeen = true
		d.voiced += f.Duration()
	}
	d.transit = max(d.ctx.Now()-(f.At+f.Duration()), 0)
	d.hist[d.histN%voicedHistory] = voicedAt{end: f.At + f.Duration(), total: d.voiced}
	d.histN++
	if d.pending && d.voicedSeen && d.voiced-d.pendingBase >= d.bargeIn.MinInterruption.D() {
		d.bargeInDue()
	}
}

// voicedAt returns the voiced total as of capture time t: the total after
// the last frame that ended by t.
func (d *Detector) voicedAt(t time.Duration) time.Duration {
	for i := 1; i <= min(d.histN, voicedHistory); i++ {
		h := d.hist[(d.histN-i)%voicedHistory]
		if h.end <= t {
			return h.total
		}
	}
	if d.histN > voicedHistory {
		return d.hist[d.histN%voicedHistory].total // older than we keep
	}
	return 0
}

// bargeInDue runs when speech over a response has lasted min_interruption.
func (d *Detector) bargeInDue() {
	if !d.pending {
		return
	}
	d.pending = false
	r := d.pendingResp
	switch {
	case d.active != r:
		// The response ended while the user was talking: nothing to stop.
	case !d.bargeIn.Interrupt:
		d.ctx.Count(CounterSpeechOverUninterruptible, 1)
	default:
		if d.audible {
			d.ctx.Count(CounterInterruptions, 1)
		} else {
			d.ctx.Count(CounterInterruptionsBeforeAudio, 1)
		}
		d.active, d.audible = 0, false
		d.ctx.Interrupt(r)
	}
	d.spoke = true // the speech is the user's next turn
}

func (d *Detector) speechStopped(offset time.Duration) {
	if !d.speaking {
		return
	}
	d.speaking = false
	if d.pending {
		d.pending = false
		d.bargeTimer.Stop()
		length := offset - d.pendingOnset
		d.ctx.MarkAt(pipeline.MarkBackchannelIgnored, d.ctx.Now(), d.pendingResp, length.Seconds())
		d.ctx.Count(CounterBackchannelsIgnored, 1)
		d.ctx.Push(pipeline.Frame{Kind: pipeline.Backchannel, At: d.pendingOnset, Value: length.Seconds()})
		return
	}
	if !d.spoke {
		return
	}
	after, why := d.policy.decide(d.ctx, offset)
	d.schedule(offset+after+d.lag(), why)
}

// lag is how far received audio trails the session clock — the newest
// frame's transit delay: the time the silence being counted still has to
// travel before the server hears it.
func (d *Detector) lag() time.Duration { return d.transit }

// revisit re-asks the policy when the truth shows that the silence being
// waited out ended the utterance (at end), keeping the earlier end.
func (d *Detector) revisit(end time.Duration) {
	if !d.spoke || d.speaking || d.pending || !d.endTimer.Active() {
		return
	}
	after, why := d.policy.decide(d.ctx, end)
	if at := end + after + d.lag(); at < d.endTimer.When() {
		d.schedule(at, why)
	}
}

// schedule ends the turn at session time at, or now if that has passed.
func (d *Detector) schedule(at time.Duration, why outcome) {
	d.endTimer.Stop()
	d.why = why
	d.endTimer = d.ctx.After(max(at-d.ctx.Now(), 0), d.endFn)
}

func (d *Detector) endTurn() {
	if !d.spoke || d.speaking || d.pending {
		return
	}
	d.spoke = false
	switch d.why {
	case endPremature:
		d.ctx.Count(CounterPrematureEnds, 1)
	case endLate:
		d.ctx.Count(CounterLateEnds, 1)
	case endFallback:
		d.ctx.Count(CounterFallbackEnds, 1)
	}
	r := d.ctx.NewResponse()
	d.ctx.Mark(pipeline.MarkTurnEnd)
	d.ctx.Count(CounterTurnEnds, 1)
	d.active, d.audible = r, false
	d.ctx.Push(pipeline.Frame{Kind: pipeline.TurnEnded, Response: r, At: d.ctx.Now()})
}

// silence is turn.silence's policy: a fixed silence after the offset.
type silence struct{ after time.Duration }

func (s silence) decide(*pipeline.Context, time.Duration) (time.Duration, outcome) {
	return s.after, endSilence
}

func (silence) audio(pipeline.Frame) bool { return false }
