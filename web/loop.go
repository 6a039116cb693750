package web

import (
	"encoding/json"
	"fmt"
	"github.com/voicesim/voicesim/pipeline/atomicfile"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"time"

	"github.com/gorilla/websocket"
	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/pipeline/audio"
	"go.uber.org/zap"
)

// Everything in this file runs with the session's lane locked: in the
// lane's events (timers) or on the reader, through Lane.Do (input).

// loopState is the session's view of the client's stream.
//
// Timestamps. Session time is time since the session began (its lane's
// zero).
// The client's stream clock counts from its sample 0 (sample n is at
// n/24 kHz). offset is the session time of stream instant 0, estimated as
// the least (arrival − capture end) over the audio received: an upper
// bound on the true offset, by the least one-way delay the wire has shown.
// Client reports (truth samples, playback instants) are placed at
// offset + stream time, so intervals between two client instants are
// exactly the client's own, and client-to-server intervals include only the
// wire's variable delay.
type loopState struct {
	pending    []int16             // samples of a frame not yet complete
	tl         pipeline.Timeline   // timeline's storage
	pool       *pipeline.FramePool // storage for the frames fed in
	received   int64               // samples received
	frames     uint64              // frames delivered
	framesOut  int64
	offset     time.Duration
	haveOffset bool
	firstOff   time.Duration // the first estimate, to spot a client running ahead

	truths    []TruthMessage // truth for samples not yet received
	marksSent int
	errsSent  int
	turnsSent map[int]pipeline.TurnMetrics // as last sent
	dirty     bool                         // turn metrics may have changed

	// streamAt holds the stream time of each mark placed from a client
	// report, by index: metrics re-place them with the latest offset, so
	// intervals between client instants stay exactly the client's even
	// when the offset estimate improved between two reports.
	streamAt map[int]time.Duration

	firstAudio  map[pipeline.ResponseID]bool // the client reported the response's first audio
	played      map[pipeline.ResponseID]bool // ... its first sample played
	interrupted pipeline.ResponseID          // newest response cut at the output
	finished    bool
}

func (st *loopState) init() {
	st.turnsSent = map[int]pipeline.TurnMetrics{}
	st.streamAt = map[int]time.Duration{}
	st.firstAudio = map[pipeline.ResponseID]bool{}
	st.played = map[pipeline.ResponseID]bool{}
}

// tickEvery flushes marks when no input arrives to do it (the client has
// gone quiet while the pipeline is still working).
const tickEvery = 100 * time.Millisecond

// maxAhead is how far a client's audio may run ahead of real time before
// the session refuses it: it is not a live stream. Generous, because a
// client catching up on a backlog (audio captured while the socket was
// opening) legitimately sends seconds at once; a client streaming faster
// than real time passes it within seconds anyway.
const maxAhead = 10 * time.Second

// maxPendingTruth bounds truth reported for samples not yet sent.
const maxPendingTruth = 64

// begin starts the pipeline and tells the client what it is talking to.
func (l *live) begin() {
	l.s.Start()
	a := l.la.arch
	ev := SessionStarted{Type: TypeSessionStarted, Session: l.id, Preset: a.Name, Kind: a.Preset.Kind,
		Description: a.Preset.Description, ClientStages: l.la.client, Network: l.la.network, Seed: l.seed,
		SampleRate: pipeline.SampleRate, FrameSamples: pipeline.FrameSamples}
	if ev.ClientStages == nil {
		ev.ClientStages = []StageConfig{}
	}
	for _, st := range a.Stages {
		ev.Stages = append(ev.Stages, st.Name)
	}
	l.c.SendJSON(ev)
	l.s.AfterFunc(tickEvery, l.tick)
	l.flush()
}

func (l *live) tick() {
	if l.st.finished {
		return
	}
	l.flush()
	l.s.AfterFunc(tickEvery, l.tick)
}

// audio cuts the client's samples (PCM16 LE) into 20 ms frames stamped on
// the session timeline and feeds them to the pipeline.
func (l *live) audio(data []byte, arrival time.Duration) {
	st := &l.st
	if st.finished {
		return
	}
	n := len(data) / 2
	st.received += int64(n)
	off := arrival - pipeline.SamplesDuration(int(st.received))
	if !st.haveOffset {
		st.haveOffset, st.offset, st.firstOff = true, off, off
	} else if off < st.offset {
		st.offset = off
	}
	if st.firstOff-st.offset > maxAhead {
		msg := fmt.Sprintf("audio is arriving faster than real time (%v ahead); stream 20 ms frames as they are captured", (st.firstOff - st.offset).Round(time.Millisecond))
		l.c.sendError(CodeAudioTooFast, msg, true)
		l.c.Close(websocket.ClosePolicyViolation, msg)
		st.finished = true
		return
	}
	if len(st.pending) == 0 && n == pipeline.FrameSamples {
		// The usual case, one whole frame: decoded straight into storage
		// the session no longer holds.
		a := st.pool.Get()
		audio.DecodePCM16Into(a, data)
		l.frame(a)
	} else {
		k := len(st.pending)
		st.pending = slices.Grow(st.pending, n)[:k+n]
		audio.DecodePCM16Into(st.pending[k:], data)
		for len(st.pending) >= pipeline.FrameSamples {
			a := st.pool.Get()
			copy(a, st.pending)
			l.frame(a)
			st.pending = append(st.pending[:0], st.pending[pipeline.FrameSamples:]...)
		}
	}
	l.flush()
}

// frame delivers one 20 ms frame, with the truth it holds.
func (l *live) frame(a []int16) {
	st := &l.st
	from := int64(st.frames) * pipeline.FrameSamples
	to := from + pipeline.FrameSamples
	f := pipeline.Frame{Kind: pipeline.UserAudio, Seq: st.frames, At: st.offset + pipeline.SamplesDuration(int(from)), Audio: a}
	st.frames++
	kept := st.truths[:0]
	for _, t := range st.truths {
		if !inFrame(t, from, to) {
			kept = append(kept, t)
			continue
		}
		// The same convention as pipeline.Mic: the frames holding a turn's
		// true onset and end carry flags and its transcript.
		switch t.Name {
		case pipeline.MarkUserSpeechStart:
			f.Flags |= pipeline.FlagSpeechStart
			f.Text = t.Text
		case pipeline.MarkUserSpeechEnd:
			f.Flags |= pipeline.FlagSpeechEnd
			f.Text = t.Text
		}
		l.stampTruth(t)
	}
	st.truths = kept
	if f.Flags&pipeline.FlagSpeechEnd != 0 && !l.la.uplink {
		// No simulated uplink to stamp it: the frame holding the end of
		// speech reached the server now, over the real wire.
		l.s.Mark(pipeline.Mark{Name: pipeline.MarkServerSpeechEnd, At: l.s.Now(), Turn: -1, Stage: "server"})
	}
	l.s.Input(f)
}

// inFrame reports whether truth t falls in samples [from, to): onsets at
// their first sample, ends after their last, as pipeline.Mic places them.
func inFrame(t TruthMessage, from, to int64) bool {
	switch t.Name {
	case pipeline.MarkUserSpeechEnd, pipeline.MarkUserPauseStart, pipeline.MarkUserBackchannelDone:
		return t.Sample > from && t.Sample <= to
	}
	return t.Sample >= from && t.Sample < to
}

// frameOf returns the index of the frame truth t falls in (see inFrame).
func frameOf(t TruthMessage) int64 {
	switch t.Name {
	case pipeline.MarkUserSpeechEnd, pipeline.MarkUserPauseStart, pipeline.MarkUserBackchannelDone:
		return max(t.Sample-1, 0) / pipeline.FrameSamples
	}
	return t.Sample / pipeline.FrameSamples
}

// truth records a ground-truth instant, now if its samples have arrived
// (a client-side detector reports after the fact), else with its frame.
func (l *live) truth(t TruthMessage) {
	st := &l.st
	if st.finished {
		return
	}
	if frameOf(t) < int64(st.frames) {
		l.stampTruth(t)
		l.flush()
		return
	}
	if len(st.truths) >= maxPendingTruth {
		l.c.sendError(CodeInvalidMessage, fmt.Sprintf("more than %d truth marks ahead of the audio", maxPendingTruth), false)
		return
	}
	st.truths = append(st.truths, t)
}

func (l *live) stampTruth(t TruthMessage) {
	turn := t.Turn
	if t.Name == pipeline.MarkUserBackchannel || t.Name == pipeline.MarkUserBackchannelDone {
		turn = -1
	}
	l.clientMark(pipeline.Mark{Name: t.Name, Turn: turn, Value: t.Value, Text: t.Text}, pipeline.SamplesDuration(int(t.Sample)))
	l.st.dirty = true
}

// clientMark stamps a mark for an instant the client reported, at stream
// time at.
func (l *live) clientMark(m pipeline.Mark, at time.Duration) {
	m.At = l.st.offset + at
	if !l.st.haveOffset {
		m.At = l.s.Now() // no audio yet to relate the clocks by
	}
	l.st.streamAt[len(l.s.Timeline().Marks)] = at
	l.s.Mark(m)
}

// playback records the client's report and passes it up the chain, as the
// playout stage does in a headless run.
func (l *live) playback(m PlaybackMessage) {
	st := &l.st
	if st.finished {
		return
	}
	// Not clamped to the arrival: a browser's audio clocks run in bursts,
	// so an instant can land a few ms after its report arrived. Keeping the
	// client's own intervals exact matters more.
	stream := time.Duration(m.TMs * float64(time.Millisecond))
	r := pipeline.ResponseID(m.Response)
	switch m.Event {
	case PlaybackFirstAudio:
		if !st.firstAudio[r] {
			st.firstAudio[r] = true
			l.clientMark(pipeline.Mark{Name: pipeline.MarkClientFirstAudio, Response: r, Turn: -1, Stage: "client"}, stream)
		}
	case PlaybackStarted:
		if st.played[r] {
			return
		}
		st.played[r] = true
		l.clientMark(pipeline.Mark{Name: pipeline.MarkClientFirstPlayed, Response: r, Turn: -1, Stage: "client"}, stream)
		l.s.InputUp(pipeline.Frame{Kind: pipeline.PlaybackStarted, Response: r, At: st.offset + stream})
	case PlaybackStopped:
		l.clientMark(pipeline.Mark{Name: pipeline.MarkClientPlayedEnd, Response: r, Turn: -1, Stage: "client", Value: m.PlayedMs}, stream)
		l.s.InputUp(pipeline.Frame{Kind: pipeline.PlaybackStopped, Response: r, At: st.offset + stream, Value: m.PlayedMs})
	}
	st.dirty = true
	l.flush()
}

// output sends what leaves the chain downstream to the client.
func (l *live) output(f pipeline.Frame, dir pipeline.Direction) {
	st := &l.st
	if dir != pipeline.Downstream || st.finished {
		return
	}
	switch f.Kind {
	case pipeline.AssistantAudio:
		if f.Response != 0 && f.Response <= st.interrupted {
			// Still on a simulated wire when the cut came: the client
			// would drop it, so it is not sent.
			l.s.Counters()["web.audio_dropped_after_interrupt"]++
			return
		}
		st.framesOut++
		l.c.sendAudio(f)
	case pipeline.ResponseDone:
		if f.Response != 0 && f.Response > st.interrupted {
			l.c.SendJSON(ResponseEvent{Type: TypeResponseDone, Response: uint32(f.Response), Frames: f.Seq})
		}
	case pipeline.Interruption, pipeline.Cancel:
		if f.Response > st.interrupted {
			st.interrupted = f.Response
			l.c.SendJSON(ResponseEvent{Type: TypeResponseInterrupted, Response: uint32(f.Response), Cancelled: f.Kind == pipeline.Cancel})
			st.dirty = true
		}
	}
}

// flush sends the marks and stage errors stamped since the last flush, and
// the turns whose metrics changed.
func (l *live) flush() {
	st := &l.st
	marks := l.s.Timeline().Marks
	for _, m := range marks[st.marksSent:] {
		ev := MarkEvent{Type: TypeMark, Name: m.Name, AtMs: ms(m.At), StreamMs: ms(m.At - st.offset),
			Response: uint32(m.Response), Turn: m.Turn, Stage: m.Stage, Value: m.Value, Text: m.Text}
		switch m.Name {
		case pipeline.MarkVADSpeechStart:
			l.c.SendJSON(MarkEvent{Type: TypeSpeechStarted, Name: m.Name, AtMs: ev.AtMs, StreamMs: ev.StreamMs, Turn: -1})
		case pipeline.MarkVADSpeechStop:
			l.c.SendJSON(MarkEvent{Type: TypeSpeechStopped, Name: m.Name, AtMs: ev.AtMs, StreamMs: ev.StreamMs, Turn: -1})
		case pipeline.MarkClientFirstPlayed, pipeline.MarkClientPlayedEnd, pipeline.MarkInterrupted, pipeline.MarkCancelled:
			st.dirty = true
		}
		l.c.SendJSON(ev)
	}
	st.marksSent = len(marks)
	errs := l.s.Errors()
	for _, err := range errs[st.errsSent:] {
		l.c.sendError(CodeStageError, err.Error(), false)
	}
	st.errsSent = len(errs)
	if st.dirty {
		st.dirty = false
		l.sendTurns()
	}
}

// sendTurns sends each turn whose metrics changed since last sent.
func (l *live) sendTurns() {
	for _, tm := range l.timeline().Turns() {
		if sent, ok := l.st.turnsSent[tm.Turn]; ok && reflect.DeepEqual(sent, tm) {
			continue // most reports change one turn: the others are not encoded again
		}
		ev := TurnEvent{Type: TypeTurnMetrics, Arch: l.la.arch.Name, Turn: tm}
		b, err := json.Marshal(ev)
		if err != nil {
			l.log.Error("encode turn metrics", zap.Error(err))
			return
		}
		l.st.turnsSent[tm.Turn] = tm
		l.c.Send(websocket.TextMessage, b)
	}
}

// timeline is the session's timeline as metrics see it: client instants at
// the latest offset, and where the client reported a response's first
// audio, that report replaces the simulated downlink's own stamp, so
// network_down includes the real wire too.
// It is rebuilt in the same storage at each call: what outlives the call
// is copied out of it (Turns, Sorted).
func (l *live) timeline() *pipeline.Timeline {
	tl := &l.st.tl
	tl.Marks = tl.Marks[:0]
	for i, m := range l.s.Timeline().Marks {
		if m.Name == pipeline.MarkClientFirstAudio && m.Stage != "client" && l.st.firstAudio[m.Response] {
			continue
		}
		if at, ok := l.st.streamAt[i]; ok && l.st.haveOffset {
			m.At = l.st.offset + at
		}
		tl.Marks = append(tl.Marks, m)
	}
	return tl
}

// finish ends the session in order: the last marks and metrics, the
// summary, then the close frame.
func (l *live) finish(code int, reason string) {
	if l.st.finished {
		return
	}
	l.flush()
	l.st.finished = true
	l.c.SendJSON(l.summary())
	l.c.Close(code, reason)
}

// summary is the session's result. It runs on the loop, or after the loop
// has exited.
func (l *live) summary() SummaryEvent {
	tl := l.timeline()
	sum := SummaryEvent{Type: TypeSessionSummary, Arch: l.la.arch.Name, Turns: tl.Turns(),
		Counters: maps.Clone(l.s.Counters()), Marks: tl.Sorted()}
	for _, err := range l.s.Errors() {
		sum.Errors = append(sum.Errors, err.Error())
	}
	return sum
}

// record writes the session's summary to dir, atomically.
func (l *live) record(dir string, sum SummaryEvent) error {
	rec := struct {
		Session   string       `json:"session"`
		Client    string       `json:"client,omitempty"`
		Preset    string       `json:"preset"`
		Network   string       `json:"network"`
		Seed      uint64       `json:"seed"`
		StartedAt string       `json:"started_at"`
		EndedAt   string       `json:"ended_at"`
		CloseCode int          `json:"close_code,omitempty"`
		Panicked  bool         `json:"panicked,omitempty"`
		Summary   SummaryEvent `json:"summary"`
	}{l.id, l.client, l.la.arch.Name, l.la.network, l.seed, l.created.UTC().Format(time.RFC3339Nano),
		time.Now().UTC().Format(time.RFC3339Nano), l.c.CloseCode(), l.panicked.Load(), sum}
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return fmt.Errorf("encode session %s record: %w", l.id, err)
	}
	name := fmt.Sprintf("session-%s-%s.json", l.created.UTC().Format("20060102T150405"), l.id)
	return atomicfile.WriteBytes(filepath.Join(dir, name), append(b, '\n'))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
