package realtime_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	sdk "github.com/openai/openai-go/v3/realtime"
	"github.com/voicesim/voicesim/web/realtime"
)

const wait = 10 * time.Second

// serverVAD is the session.update a typical app sends first, built with
// the SDK's own types.
func serverVAD(silenceMs int64) sdk.RealtimeClientEventUnionParam {
	return sdk.RealtimeClientEventUnionParam{OfSessionUpdate: &sdk.SessionUpdateEventParam{
		Session: sdk.SessionUpdateEventSessionUnionParam{OfRealtime: &sdk.RealtimeSessionCreateRequestParam{
			Instructions:     openai.String("You are a weather assistant."),
			OutputModalities: []string{"audio"},
			Audio: sdk.RealtimeAudioConfigParam{Input: sdk.RealtimeAudioConfigInputParam{
				Format: sdk.RealtimeAudioFormatsUnionParam{OfAudioPCM: &sdk.RealtimeAudioFormatsAudioPCMParam{Type: "audio/pcm", Rate: 24000}},
				TurnDetection: sdk.RealtimeAudioInputTurnDetectionUnionParam{OfServerVad: &sdk.RealtimeAudioInputTurnDetectionServerVadParam{
					Threshold: openai.Float(0.5), PrefixPaddingMs: openai.Int(300), SilenceDurationMs: openai.Int(silenceMs),
					CreateResponse: openai.Bool(true), InterruptResponse: openai.Bool(true)}},
			}},
		}}}}
}

// TestConversation is a session on the official Go SDK: a recorded question
// streamed in real time, the simulated model's answer, a barge-in that
// cancels the next answer, then response.cancel and
// conversation.item.truncate on another.
func TestConversation(t *testing.T) {
	srv := newServer(t, realtime.Options{Overrides: slowModel()}, false)
	c := dial(t, srv, "sk-test", "gpt-realtime")
	question := speech(t, "weather.mp3")

	created := c.waitFor("session.created", wait, nil).AsSessionCreatedEvent()
	if got := created.Session.AsRealtimeSessionCreateRequest(); got.Model != "gpt-realtime" || got.Audio.Input.TurnDetection.Type != "server_vad" {
		t.Errorf("session.created: model %q, turn detection %q; want gpt-realtime, server_vad", got.Model, got.Audio.Input.TurnDetection.Type)
	}
	if p := rawField[string](t, created.RawJSON(), "session", "voicesim", "preset"); p != "native-gpt4o" {
		t.Errorf("model gpt-realtime simulated by %q; want native-gpt4o", p)
	}
	c.send(serverVAD(500))
	upd := c.waitFor("session.updated", wait, nil).AsSessionUpdatedEvent().Session.AsRealtimeSessionCreateRequest()
	if td := upd.Audio.Input.TurnDetection.AsRealtimeAudioInputTurnDetectionServerVad(); td.SilenceDurationMs != 500 || td.PrefixPaddingMs != 300 || td.Threshold != 0.5 || !td.CreateResponse || !td.InterruptResponse {
		t.Errorf("session.updated turn_detection = %+v", td)
	}
	if upd.Instructions != "You are a weather assistant." || upd.Audio.Input.Format.Rate != 24000 {
		t.Errorf("session.updated does not echo the session: instructions %q, rate %d", upd.Instructions, upd.Audio.Input.Format.Rate)
	}

	// Turn 1: the question, answered.
	m := c.startMic()
	m.say(question)
	started := c.waitFor("input_audio_buffer.speech_started", wait, nil).AsInputAudioBufferSpeechStartedEvent()
	stopped := c.waitFor("input_audio_buffer.speech_stopped", wait, nil).AsInputAudioBufferSpeechStoppedEvent()
	committed := c.waitFor("input_audio_buffer.committed", wait, nil).AsInputAudioBufferCommittedEvent()
	if started.ItemID == "" || stopped.ItemID != started.ItemID || committed.ItemID != started.ItemID {
		t.Errorf("item ids: started %q, stopped %q, committed %q", started.ItemID, stopped.ItemID, committed.ItemID)
	}
	clipMs := int64(len(question)) * 1000 / 24000
	if started.AudioStartMs > 1000 || stopped.AudioEndMs <= started.AudioStartMs || stopped.AudioEndMs > clipMs+500 {
		t.Errorf("speech %d..%d ms of a %d ms clip", started.AudioStartMs, stopped.AudioEndMs, clipMs)
	}
	c.waitFor("conversation.item.added", wait, func(ev sdk.RealtimeServerEventUnion) bool {
		return ev.AsConversationItemAdded().Item.AsRealtimeConversationItemUserMessage().ID == committed.ItemID
	})
	r1 := c.waitFor("response.created", wait, nil).AsResponseCreatedEvent().Response
	item1 := c.waitFor("response.output_item.added", wait, nil).AsResponseOutputItemAddedEvent().Item.AsRealtimeConversationItemAssistantMessage().ID
	c.waitFor("response.content_part.added", wait, nil)
	d1 := c.waitFor("response.output_audio.delta", wait, nil).AsResponseAudioDeltaEvent()
	if d1.ResponseID != r1.ID || d1.ItemID != item1 || r1.Status != "in_progress" {
		t.Errorf("first delta for %s/%s; want %s/%s (status %s)", d1.ResponseID, d1.ItemID, r1.ID, item1, r1.Status)
	}
	c.waitFor("response.output_audio_transcript.delta", wait, nil)

	// Turn 2: the user talks over the answer: server VAD cancels it.
	for c.sentMs(r1.ID) < 800 {
		c.waitFor("response.output_audio.delta", wait, nil)
	}
	m.say(question)
	c.waitFor("input_audio_buffer.speech_started", wait, nil)
	done1 := c.waitFor("response.done", wait, nil)
	if st := done1.AsResponseDoneEvent().Response; st.ID != r1.ID || st.Status != "cancelled" ||
		rawField[string](t, done1.RawJSON(), "response", "status_details", "reason") != "turn_detected" {
		t.Errorf("barge-in: response.done %s", done1.RawJSON())
	}
	// The app truncates what it played, as SDK-based apps do on speech_started.
	heard := min(c.sentMs(r1.ID), 700)
	c.send(truncate(item1, heard))
	tr1 := c.waitFor("conversation.item.truncated", wait, nil).AsConversationItemTruncatedEvent()
	if tr1.ItemID != item1 || tr1.AudioEndMs != heard {
		t.Errorf("truncated %s at %d; want %s at %d", tr1.ItemID, tr1.AudioEndMs, item1, heard)
	}
	ret := c.retrieve(item1)
	if tx := rawField[string](t, ret.RawJSON(), "item", "content", "0", "transcript"); tx == "" || !strings.HasPrefix(answer, tx) || len(tx) >= len(answer) {
		t.Errorf("transcript after truncating at %d ms = %q; want a prefix of the answer", heard, tx)
	}

	// Turn 3: the barge-in's own answer, cancelled by the app and truncated.
	r2 := c.waitFor("response.created", wait, nil).AsResponseCreatedEvent().Response
	item2 := c.waitFor("response.output_item.added", wait, nil).AsResponseOutputItemAddedEvent().Item.AsRealtimeConversationItemAssistantMessage().ID
	for c.sentMs(r2.ID) < 300 {
		c.waitFor("response.output_audio.delta", wait, nil)
	}
	c.send(sdk.RealtimeClientEventUnionParam{OfResponseCancel: &sdk.ResponseCancelEventParam{}})
	end := c.sentMs(r2.ID) - 100
	c.send(truncate(item2, end))
	done2 := c.waitFor("response.done", wait, nil)
	if st := done2.AsResponseDoneEvent().Response; st.ID != r2.ID || st.Status != "cancelled" ||
		rawField[string](t, done2.RawJSON(), "response", "status_details", "reason") != "client_cancelled" {
		t.Errorf("cancel: response.done %s", done2.RawJSON())
	}
	tr2 := c.waitFor("conversation.item.truncated", wait, nil).AsConversationItemTruncatedEvent()
	if tr2.ItemID != item2 || tr2.ContentIndex != 0 || tr2.AudioEndMs != end {
		t.Errorf("truncated %s/%d at %d; want %s/0 at %d", tr2.ItemID, tr2.ContentIndex, tr2.AudioEndMs, item2, end)
	}
	m.close()

	// voicesim's own metrics came along as a non-standard event.
	c.retrieve(item2) // a round trip: everything sent before has arrived
	answered := false
	for _, raw := range c.metricsSeen() {
		var ev struct {
			Vals map[string]float64 `json:"values_ms"`
			Turn struct {
				Answered bool `json:"answered"`
			} `json:"turn"`
		}
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Turn.Answered && ev.Vals["voice_to_voice"] > 0 {
			answered = true
		}
	}
	if !answered {
		t.Errorf("no voicesim.turn_metrics with an answered turn and voice_to_voice among %d", len(c.metricsSeen()))
	}
}

func truncate(item string, ms int64) sdk.RealtimeClientEventUnionParam {
	return sdk.RealtimeClientEventUnionParam{OfConversationItemTruncate: &sdk.ConversationItemTruncateEventParam{
		ItemID: item, ContentIndex: 0, AudioEndMs: ms}}
}

// retrieve asks for an item and returns conversation.item.retrieved.
func (c *client) retrieve(id string) sdk.RealtimeServerEventUnion {
	c.t.Helper()
	c.send(sdk.RealtimeClientEventUnionParam{OfConversationItemRetrieve: &sdk.ConversationItemRetrieveEventParam{ItemID: id}})
	return c.waitFor("conversation.item.retrieved", wait, nil)
}

func (c *client) metricsSeen() []json.RawMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]json.RawMessage(nil), c.metrics...)
}
