package realtime

import (
	"fmt"
	"time"

	"github.com/voicesim/voicesim/pipeline"
)

// Everything in this file runs on the session's loop.

// input paces the app's audio into the pipeline in real time, as a
// microphone would capture it: an app may append faster than real time (a
// file, a backlog), and the VAD and turn detector must hear it at its own
// pace. Commits and response.create wait in the same queue, behind the
// audio appended before them.
type input struct {
	queue   []queued
	pending []int16 // samples of a frame not yet complete
	queued  int     // samples waiting in queue
	// anchor is the session time of stream sample 0, so frame k was
	// captured over [anchor + k·20ms, anchor + (k+1)·20ms).
	anchor     time.Duration
	haveAnchor bool
	fedSamples int64
	timer      pipeline.Timer
	// recent maps recent frames' capture times to stream positions, for
	// converting VAD estimates to audio_start_ms/audio_end_ms.
	recent [256]framePos
	nRec   int
	// buffered is the audio in the input buffer since the last commit or
	// clear, in samples; bufStart when its first sample was fed.
	buffered int64
	bufStart time.Duration
}

type queued struct {
	samples []int16
	cmd     *clientEvent
}

type framePos struct {
	at  time.Duration
	pos int64 // stream sample of the frame's first sample
}

// maxLate is how late a frame may be fed against its stream's real-time
// schedule before the stream is taken to have paused and resumed: within
// it, network jitter; beyond it, the app stopped sending for a while.
const maxLate = 200 * time.Millisecond

// minCommit is the least audio a commit accepts (the OpenAI API's 100 ms).
const minCommit = pipeline.SampleRate / 10

// userTurn follows the user's current turn, from the VAD's first speech
// start after a turn end to the next turn end or commit.
type userTurn struct {
	open          bool
	speaking      bool
	item          string
	index         int
	start, stop   time.Duration // VAD estimates of onset and offset
	announced     bool          // speech_started sent
	haveSpeechEnd bool
}

func (s *session) appendAudio(samples []int16, clientID string) {
	if s.finished {
		return
	}
	limit := int(s.h.opts.Limits.MaxQueuedAudio.Seconds() * pipeline.SampleRate)
	if s.in.queued+len(samples) > limit {
		s.fail(reqErr(codeInvalidValue, "audio", fmt.Sprintf("Input audio queue full: more than %v of audio appended ahead of real time.", s.h.opts.Limits.MaxQueuedAudio)), clientID)
		return
	}
	s.in.queue = append(s.in.queue, queued{samples: samples})
	s.in.queued += len(samples)
	s.feed()
}

func (s *session) queueCommand(ev clientEvent) {
	if s.finished {
		return
	}
	if ev.Type == evClear {
		// Clearing drops the audio not yet heard, and the buffer.
		kept := s.in.queue[:0]
		for _, q := range s.in.queue {
			if q.cmd != nil {
				kept = append(kept, q)
			}
		}
		clear(s.in.queue[len(kept):])
		s.in.queue, s.in.queued, s.in.pending, s.in.buffered = kept, 0, nil, 0
		s.send(evBuffer{Type: "input_audio_buffer.cleared", EventID: s.nextEventID()})
		return
	}
	s.in.queue = append(s.in.queue, queued{cmd: &ev})
	s.feed()
}

// feed delivers queued audio frames that are due and commands reached,
// then waits for the next frame's time.
func (s *session) feed() {
	in := &s.in
	in.timer.Stop()
	now := s.clock.Now()
	for len(in.queue) > 0 {
		q := &in.queue[0]
		if q.cmd != nil {
			cmd := q.cmd
			in.queue = in.queue[1:]
			s.command(*cmd)
			continue
		}
		if len(in.pending) == 0 && len(q.samples) >= pipeline.FrameSamples {
			if !s.frameDue(now) {
				break
			}
			f := q.samples[:pipeline.FrameSamples:pipeline.FrameSamples]
			q.samples = q.samples[pipeline.FrameSamples:]
			in.queued -= pipeline.FrameSamples
			s.feedFrame(f, now)
		} else {
			need := pipeline.FrameSamples - len(in.pending)
			take := min(need, len(q.samples))
			if take == need && !s.frameDue(now) {
				break
			}
			in.pending = append(in.pending, q.samples[:take]...)
			q.samples = q.samples[take:]
			in.queued -= take
			if len(in.pending) == pipeline.FrameSamples {
				f := in.pending
				in.pending = nil
				s.feedFrame(f, now)
			}
		}
		if len(q.samples) == 0 {
			in.queue = in.queue[1:]
		}
		if s.finished {
			return
		}
	}
	if len(in.queue) > 0 {
		due := in.anchor + pipeline.SamplesDuration(int(in.fedSamples)+pipeline.FrameSamples)
		in.timer = s.clock.AfterFunc(due-now, s.feed)
	}
}

// frameDue reports whether the next frame may be fed now, re-anchoring a
// stream that paused.
func (s *session) frameDue(now time.Duration) bool {
	in := &s.in
	end := pipeline.SamplesDuration(int(in.fedSamples) + pipeline.FrameSamples)
	if !in.haveAnchor || now-(in.anchor+end) > maxLate {
		in.anchor, in.haveAnchor = now-end, true
	}
	return in.anchor+end <= now
}

func (s *session) feedFrame(samples []int16, now time.Duration) {
	in := &s.in
	at := in.anchor + pipeline.SamplesDuration(int(in.fedSamples))
	in.recent[in.nRec%len(in.recent)] = framePos{at: at, pos: in.fedSamples}
	in.nRec++
	if in.buffered == 0 {
		in.bufStart = at
	}
	in.fedSamples += int64(len(samples))
	in.buffered += int64(len(samples))
	s.s.Input(pipeline.Frame{Kind: pipeline.UserAudio, Seq: uint64(in.nRec - 1), At: at, Audio: samples})
}

// streamMs converts a session time (a VAD estimate) to milliseconds of the
// app's audio stream.
func (s *session) streamMs(t time.Duration) int64 {
	in := &s.in
	for i := 1; i <= min(in.nRec, len(in.recent)); i++ {
		fp := in.recent[(in.nRec-i)%len(in.recent)]
		if fp.at <= t {
			return (pipeline.SamplesDuration(int(fp.pos)) + t - fp.at).Milliseconds()
		}
	}
	return max(t-in.anchor, 0).Milliseconds()
}

// command runs a queued commit or response.create when the audio before it
// has been fed.
func (s *session) command(ev clientEvent) {
	switch ev.Type {
	case evCommit:
		if s.in.buffered < minCommit {
			s.fail(reqErr(codeCommitEmpty, "", fmt.Sprintf("Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, but buffer only has %.2fms of audio.",
				float64(s.in.buffered)*1000/pipeline.SampleRate)), ev.EventID)
			return
		}
		s.commitUser(false)
	case evResponseCreate:
		if s.active != nil || s.creating {
			id := "(pending)"
			if s.active != nil {
				id = s.active.wireID
			}
			s.fail(reqErr(codeActiveResponse, "", fmt.Sprintf("Conversation already has an active response in progress: %s. Wait until the response is finished before creating a new one.", id)), ev.EventID)
			return
		}
		s.creating = true
		s.s.Input(pipeline.Frame{Kind: pipeline.Metric, Text: cmdCreate, At: s.clock.Now()})
	}
}

// speechStarted follows the VAD's speech onset estimate at.
func (s *session) speechStarted(at time.Duration) {
	u := &s.user
	u.speaking = true
	if u.open {
		return
	}
	s.itemN++
	*u = userTurn{open: true, speaking: true, item: fmt.Sprintf("item_%d", s.itemN), index: u.index, start: at}
	bargeIn := 0.0
	if s.playing() {
		bargeIn = 1
	}
	// The session's truth is the VAD's estimate: an app sends no ground
	// truth of its user's speech.
	s.s.Mark(pipeline.Mark{Name: pipeline.MarkUserSpeechStart, At: at, Turn: u.index, Stage: "realtime", Value: bargeIn})
	if s.cfg.Turn != nil {
		u.announced = true
		ms := s.streamMs(at)
		s.send(evBuffer{Type: "input_audio_buffer.speech_started", EventID: s.nextEventID(), ItemID: u.item, AudioStartMs: &ms})
	}
}

func (s *session) speechStopped(at time.Duration) {
	s.user.speaking = false
	s.user.stop, s.user.haveSpeechEnd = at, true
}

// commitUser ends the user's turn: the detector ended it (vad) or the app
// committed. It stamps the turn's end and adds the user's item.
func (s *session) commitUser(vad bool) {
	u := &s.user
	now := s.clock.Now()
	if !u.open {
		// Committed with no speech detected: the buffer is the turn.
		s.itemN++
		*u = userTurn{open: true, item: fmt.Sprintf("item_%d", s.itemN), index: u.index, start: s.in.bufStart}
		s.s.Mark(pipeline.Mark{Name: pipeline.MarkUserSpeechStart, At: u.start, Turn: u.index, Stage: "realtime"})
	}
	end := now
	if u.haveSpeechEnd && u.stop >= u.start && !u.speaking {
		end = u.stop
	}
	s.s.Mark(pipeline.Mark{Name: pipeline.MarkUserSpeechEnd, At: end, Turn: u.index, Stage: "realtime"})
	if vad && u.announced {
		ms := s.streamMs(end)
		s.send(evBuffer{Type: "input_audio_buffer.speech_stopped", EventID: s.nextEventID(), ItemID: u.item, AudioEndMs: &ms})
	}
	prev := s.lastItemID()
	s.send(evBuffer{Type: "input_audio_buffer.committed", EventID: s.nextEventID(), ItemID: u.item, PreviousItemID: prev})
	it := &convItem{ID: u.item, Role: "user", Status: "completed"}
	s.addItem(it)
	s.sendItem("conversation.item.added", it, prev)
	if s.d == ga {
		s.sendItem("conversation.item.done", it, prev)
	}
	s.in.buffered = 0
	*u = userTurn{index: u.index + 1}
	if !vad {
		// Not inside the pipeline's delivery of a turn end, whose response
		// follows: a pending rebuild may happen now.
		s.maybeRebuild()
	}
}

// playing reports whether any response's audio is nominally still
// playing at the app.
func (s *session) playing() bool {
	now := s.clock.Now()
	for _, r := range s.resps {
		if r.samples > 0 && !r.reported && (!r.done || r.playhead > now) {
			return true
		}
	}
	return false
}
