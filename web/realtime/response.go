package realtime

import (
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/pipeline/audio"
)

// Everything in this file runs on the session's loop, most of it inside
// the pipeline's delivery of a frame.

// observe sees every frame a stage pushes: the VAD's speech estimates, turn
// ends, and the transcript where a TTS stage consumes it.
func (s *session) observe(stage string, f pipeline.Frame, dir pipeline.Direction) {
	if dir != pipeline.Downstream {
		return
	}
	switch f.Kind {
	case pipeline.SpeechStarted:
		if strings.HasPrefix(stage, "vad.") {
			s.speechStarted(f.At)
		}
	case pipeline.SpeechStopped:
		if strings.HasPrefix(stage, "vad.") {
			s.speechStopped(f.At)
		}
	case pipeline.TurnEnded:
		switch {
		case strings.HasPrefix(stage, "turn."):
			s.commitUser(true)
		case stage == controlName:
			s.responseStarted(f.Response)
		case s.resps[f.Response] == nil && !strings.HasPrefix(stage, "network."):
			// A model that takes the turn itself (native.duplex).
			s.commitUser(true)
			s.responseStarted(f.Response)
		}
	case pipeline.AssistantText:
		if s.ch.textFrom != "" && stage == s.ch.textFrom {
			s.transcriptDelta(f)
		}
	}
}

// output sends what leaves the chain to the app.
func (s *session) output(f pipeline.Frame, dir pipeline.Direction) {
	if dir != pipeline.Downstream {
		return // playback reports and cancellations on their way back
	}
	r := s.resps[f.Response]
	switch f.Kind {
	case pipeline.AssistantAudio:
		if r == nil || r.done {
			// Still on a simulated wire when the response ended: the app
			// never gets audio for a response after its response.done.
			s.s.Counters()["realtime.audio_dropped_after_done"]++
			return
		}
		s.audioDelta(r, f)
	case pipeline.AssistantText:
		if s.ch.textFrom == "" && r != nil && !r.done {
			s.transcriptDelta(f)
		}
	case pipeline.ResponseDone:
		if r != nil {
			s.finish(r, "completed", "")
		}
	case pipeline.Interruption, pipeline.Cancel:
		for _, x := range s.resps {
			if !x.done && x.id <= f.Response {
				reason := x.cancelBy
				if reason == "" {
					reason = "turn_detected"
				}
				s.finish(x, "cancelled", reason)
			}
		}
	}
}

// responseStarted opens response id on the wire.
func (s *session) responseStarted(id pipeline.ResponseID) {
	if _, ok := s.resps[id]; ok {
		return
	}
	s.creating = false
	if s.active != nil {
		s.finish(s.active, "cancelled", "turn_detected") // superseded by a new turn
	}
	s.respN++
	s.itemN++
	it := &convItem{ID: fmt.Sprintf("item_%d", s.itemN), Role: "assistant", Status: "in_progress"}
	r := &resp{id: id, gen: s.gen, wireID: fmt.Sprintf("resp_%d", s.respN), item: it}
	it.resp = r
	s.resps[id] = r
	s.active = r
	prev := s.lastItemID()
	s.addItem(it)
	s.send(evResponse{Type: "response.created", EventID: s.nextEventID(), Response: s.responseObj(r, "in_progress", nil, false)})
	s.send(evOutputItem{Type: "response.output_item.added", EventID: s.nextEventID(), ResponseID: r.wireID, Item: s.wireItem(it)})
	s.sendItem("conversation.item.added", it, prev)
	s.send(evPart{Type: "response.content_part.added", EventID: s.nextEventID(), ResponseID: r.wireID, ItemID: it.ID,
		Part: contentPart{Type: "audio", Transcript: ptr("")}})
}

func (s *session) audioDelta(r *resp, f pipeline.Frame) {
	now := s.clock.Now()
	if r.samples == 0 {
		// The app is the listener: from the server's side, its audio
		// arrives and starts playing as it is sent.
		r.firstSent, r.playhead = now, now
		s.s.Mark(pipeline.Mark{Name: pipeline.MarkClientFirstAudio, At: now, Response: r.id, Turn: -1, Stage: "realtime"})
		s.s.Mark(pipeline.Mark{Name: pipeline.MarkClientFirstPlayed, At: now, Response: r.id, Turn: -1, Stage: "realtime"})
		s.s.InputUp(pipeline.Frame{Kind: pipeline.PlaybackStarted, Response: r.id, At: now})
	}
	r.samples += len(f.Audio)
	r.playhead = max(r.playhead, now) + f.Duration()
	delta := base64.StdEncoding.EncodeToString(audio.EncodePCM16(f.Audio))
	s.send(evDelta{Type: s.d.name("response.output_audio.delta"), EventID: s.nextEventID(), ResponseID: r.wireID,
		ItemID: r.item.ID, Delta: &delta})
}

func (s *session) transcriptDelta(f pipeline.Frame) {
	r := s.resps[f.Response]
	if r == nil || r.done || f.Text == "" {
		return
	}
	text := f.Text
	if s.ch.textFrom != "" && len(r.transcript) > 0 {
		text = " " + text // sentences from an aggregator carry no separator
	}
	r.transcript = append(r.transcript, text...)
	s.send(evDelta{Type: s.d.name("response.output_audio_transcript.delta"), EventID: s.nextEventID(), ResponseID: r.wireID,
		ItemID: r.item.ID, Delta: &text})
}

// finish closes response r on the wire: the done events, then
// response.done with its status. Nothing of r is sent after it.
func (s *session) finish(r *resp, status, reason string) {
	if r.done {
		return
	}
	r.done = true
	if s.active == r {
		s.active = nil
	}
	it := r.item
	it.Transcript, it.hasText = string(r.transcript), true
	it.Status = "completed"
	if status != "completed" {
		it.Status = "incomplete"
	}
	tr := it.Transcript
	s.send(evDelta{Type: s.d.name("response.output_audio.done"), EventID: s.nextEventID(), ResponseID: r.wireID, ItemID: it.ID})
	s.send(evDelta{Type: s.d.name("response.output_audio_transcript.done"), EventID: s.nextEventID(), ResponseID: r.wireID, ItemID: it.ID, Transcript: &tr})
	s.send(evPart{Type: "response.content_part.done", EventID: s.nextEventID(), ResponseID: r.wireID, ItemID: it.ID,
		Part: contentPart{Type: "audio", Transcript: &tr}})
	s.send(evOutputItem{Type: "response.output_item.done", EventID: s.nextEventID(), ResponseID: r.wireID, Item: s.wireItem(it)})
	if s.d == ga {
		s.sendItem("conversation.item.done", it, nil)
	}
	var sd *statusDetails
	if status != "completed" {
		sd = &statusDetails{Type: status, Reason: reason}
	}
	s.send(evResponse{Type: "response.done", EventID: s.nextEventID(), Response: s.responseObj(r, status, sd, true)})
	if r.samples > 0 && !r.reported {
		r.playTimer = s.clock.AfterFunc(r.playhead-s.clock.Now(), func() { s.playedOut(r) })
	}
	s.flushMetrics()
	s.maybeRebuild()
}

// playedOut runs when the audio sent for r has nominally finished playing
// and the app has not truncated it: the app heard all of it.
func (s *session) playedOut(r *resp) {
	if r.reported || r.gen != s.gen || s.finished {
		return
	}
	s.report(r, r.sentMs(), r.playhead)
	s.flushMetrics()
}

// report tells the pipeline how much of r the app played: the playback
// report a playout stage makes in a headless run. A truncate after the
// nominal end overrides the earlier report (metrics take the last).
func (s *session) report(r *resp, ms int64, at time.Duration) {
	r.reported = true
	r.playTimer.Stop()
	s.s.Mark(pipeline.Mark{Name: pipeline.MarkClientPlayedEnd, At: at, Response: r.id, Turn: -1, Stage: "realtime", Value: float64(ms)})
	s.s.InputUp(pipeline.Frame{Kind: pipeline.PlaybackStopped, Response: r.id, At: at, Value: float64(ms)})
}

// responseCancel handles response.cancel.
func (s *session) responseCancel(ev clientEvent) {
	if s.finished {
		return
	}
	r := s.active
	if r == nil || (ev.ResponseID != "" && ev.ResponseID != r.wireID) {
		s.fail(reqErr(codeCancelNotActive, "", "Cancellation failed: no active response found"), ev.EventID)
		return
	}
	s.cancel(r, "client_cancelled")
}

// cancel cancels r as the app asked: every stage drops its work for it.
func (s *session) cancel(r *resp, reason string) {
	r.cancelBy = reason
	now := s.clock.Now()
	s.s.Mark(pipeline.Mark{Name: pipeline.MarkCancelled, At: now, Response: r.id, Turn: -1, Stage: "client"})
	s.s.Input(pipeline.Frame{Kind: pipeline.Cancel, Response: r.id, At: now})
	s.finish(r, "cancelled", reason) // at once, even if a simulated uplink delays the cancel
}

// truncate handles conversation.item.truncate: the app's report of how
// much of an answer it played.
func (s *session) truncate(ev clientEvent) {
	if s.finished {
		return
	}
	it := s.byID[ev.ItemID]
	switch {
	case ev.ItemID == "":
		s.fail(reqErr(codeMissingParam, "item_id", "Missing required parameter: 'item_id'."), ev.EventID)
		return
	case it == nil:
		s.fail(reqErr(codeItemNotFound, "item_id", fmt.Sprintf("Item with item_id '%s' not found.", ev.ItemID)), ev.EventID)
		return
	case it.resp == nil:
		s.fail(reqErr(codeInvalidValue, "item_id", "Only model output audio messages can be truncated"), ev.EventID)
		return
	case ev.ContentIndex != 0:
		s.fail(reqErr(codeInvalidValue, "content_index", fmt.Sprintf("Invalid value for 'content_index': %d; the item has one content part.", ev.ContentIndex)), ev.EventID)
		return
	case ev.AudioEndMs == nil:
		s.fail(reqErr(codeMissingParam, "audio_end_ms", "Missing required parameter: 'audio_end_ms'."), ev.EventID)
		return
	case *ev.AudioEndMs < 0:
		s.fail(reqErr(codeInvalidValue, "audio_end_ms", "Invalid value for 'audio_end_ms': must not be negative."), ev.EventID)
		return
	}
	r := it.resp
	end := *ev.AudioEndMs
	if sent := r.sentMs(); end > sent {
		s.fail(reqErr(codeInvalidValue, "audio_end_ms", fmt.Sprintf("Audio content of %dms is already shorter than %dms", sent, end)), ev.EventID)
		return
	}
	if !r.done {
		s.cancel(r, "client_cancelled") // cut while still being generated
	}
	sent := r.sentMs()
	if r.gen == s.gen {
		s.report(r, end, s.clock.Now())
	}
	frac := 1.0
	if sent > 0 {
		frac = float64(end) / float64(sent)
	}
	it.Transcript, it.hasText = heardPrefix(string(r.transcript), frac), true
	s.send(evTruncated{Type: "conversation.item.truncated", EventID: s.nextEventID(), ItemID: it.ID, ContentIndex: ev.ContentIndex, AudioEndMs: end})
	s.flushMetrics()
}

// retrieve handles conversation.item.retrieve.
func (s *session) retrieve(ev clientEvent) {
	if s.finished {
		return
	}
	it := s.byID[ev.ItemID]
	if it == nil {
		s.fail(reqErr(codeItemNotFound, "item_id", fmt.Sprintf("Item with item_id '%s' not found.", ev.ItemID)), ev.EventID)
		return
	}
	s.send(evItem{Type: "conversation.item.retrieved", EventID: s.nextEventID(), Item: s.wireItem(it)})
}

func (s *session) addItem(it *convItem) {
	s.items = append(s.items, it)
	s.byID[it.ID] = it
	if len(s.items) > maxItems {
		delete(s.byID, s.items[0].ID)
		s.items = s.items[1:]
	}
}

// maxItems bounds the conversation a session remembers.
const maxItems = 512

func (s *session) lastItemID() *string {
	if len(s.items) == 0 {
		return nil
	}
	return ptr(s.items[len(s.items)-1].ID)
}

func (s *session) sendItem(typ string, it *convItem, prev *string) {
	s.send(evItem{Type: s.d.name(typ), EventID: s.nextEventID(), PreviousItemID: prev, Item: s.wireItem(it)})
}

// wireItem renders an item. Audio is not kept, so items carry transcripts
// only (null for the user's audio: voicesim does not transcribe it).
func (s *session) wireItem(it *convItem) item {
	w := item{ID: it.ID, Object: "realtime.item", Type: "message", Status: it.Status, Role: it.Role}
	if it.Role == "user" {
		w.Content = []contentPart{{Type: "input_audio", Transcript: nil}}
		return w
	}
	w.Content = []contentPart{}
	if it.hasText || it.Status != "in_progress" {
		tr := it.Transcript
		w.Content = []contentPart{{Type: s.d.outputAudioPart(), Transcript: &tr}}
	}
	return w
}

func (s *session) responseObj(r *resp, status string, sd *statusDetails, withOutput bool) responseObj {
	o := responseObj{ID: r.wireID, Object: "realtime.response", Status: status, StatusDetails: sd, Output: []item{},
		Metadata: []byte("null")}
	if withOutput {
		o.Output = []item{s.wireItem(r.item)}
		out := int64(r.samples) * 20 / pipeline.SampleRate // 1 token per 50 ms of audio
		o.Usage = &usage{OutputTokens: out, TotalTokens: out}
	}
	if s.d == beta {
		o.Modalities = []string{"audio", "text"}
	} else {
		o.ConversationID = "conv_" + s.id
		o.OutputModalities = s.cfg.OutputModalities
		o.Audio = []byte(fmt.Sprintf(`{"output":{"format":{"type":"audio/pcm","rate":24000},"voice":%q}}`, s.cfg.Voice))
	}
	return o
}

// heardPrefix returns the words of text heard when playback stopped after
// fraction of it, words spread over the audio by their characters; a word
// counts only if it was heard to its end (as native.realtime cuts it).
func heardPrefix(text string, fraction float64) string {
	switch {
	case fraction >= 1:
		return text
	case !(fraction > 0):
		return ""
	}
	r := []rune(text)
	cut := int(fraction * float64(len(r)))
	if cut >= len(r) {
		return text
	}
	if r[cut] != ' ' {
		i := strings.LastIndex(string(r[:cut]), " ")
		if i < 0 {
			return ""
		}
		return strings.TrimRight(string(r[:cut])[:i], " ")
	}
	return strings.TrimRight(string(r[:cut]), " ")
}
