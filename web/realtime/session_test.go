package realtime_test

import (
	"slices"
	"testing"

	"github.com/openai/openai-go/v3"
	sdk "github.com/openai/openai-go/v3/realtime"
	"github.com/voicesim/voicesim/web/realtime"
)

// TestTurnDetectionMapping: session.update's turn_detection picks the
// endpointing stages the session simulates, and session.updated echoes it.
func TestTurnDetectionMapping(t *testing.T) {
	srv := newServer(t, realtime.Options{Overrides: fastModel()}, false)
	c := dial(t, srv, "sk-test", "")
	created := c.waitFor("session.created", wait, nil).RawJSON()
	if p := rawField[string](t, created, "session", "voicesim", "preset"); p != "native-gpt4o" {
		t.Errorf("no model: preset %q; want the default, native-gpt4o", p)
	}
	stages := func(raw string) []string { return rawField[[]string](t, raw, "session", "voicesim", "stages") }
	if got := stages(created); !slices.Equal(got, []string{"vad.energy", "turn.silence", "realtime.control", "native.realtime"}) {
		t.Errorf("default stages %v", got)
	}

	c.send(sdk.RealtimeClientEventUnionParam{OfSessionUpdate: &sdk.SessionUpdateEventParam{
		Session: sdk.SessionUpdateEventSessionUnionParam{OfRealtime: &sdk.RealtimeSessionCreateRequestParam{
			Audio: sdk.RealtimeAudioConfigParam{Input: sdk.RealtimeAudioConfigInputParam{
				TurnDetection: sdk.RealtimeAudioInputTurnDetectionUnionParam{OfSemanticVad: &sdk.RealtimeAudioInputTurnDetectionSemanticVadParam{
					Eagerness: "high", InterruptResponse: openai.Bool(false)}}}}}}}})
	upd := c.waitFor("session.updated", wait, nil).RawJSON()
	if got := stages(upd); !slices.Contains(got, "turn.semantic") || slices.Contains(got, "turn.silence") {
		t.Errorf("semantic_vad stages %v", got)
	}
	td := rawField[map[string]any](t, upd, "session", "audio", "input", "turn_detection")
	if td["type"] != "semantic_vad" || td["eagerness"] != "high" || td["interrupt_response"] != false || td["create_response"] != true {
		t.Errorf("semantic_vad echoed as %v", td)
	}

	c.sendRaw(manualTurns)
	if got := stages(c.waitFor("session.updated", wait, nil).RawJSON()); slices.ContainsFunc(got, func(s string) bool { return s == "turn.silence" || s == "turn.semantic" }) {
		t.Errorf("manual turns still run a turn detector: %v", got)
	}

	c.send(serverVAD(700))
	upd = c.waitFor("session.updated", wait, nil).RawJSON()
	if got := stages(upd); !slices.Contains(got, "turn.silence") {
		t.Errorf("server_vad stages %v", got)
	}
	if ms := rawField[int](t, upd, "session", "audio", "input", "turn_detection", "silence_duration_ms"); ms != 700 {
		t.Errorf("silence_duration_ms echoed as %d", ms)
	}
}

// TestCreateResponseFalse: with create_response off, the server VAD
// commits the user's turn but the app decides when to answer.
func TestCreateResponseFalse(t *testing.T) {
	srv := newServer(t, realtime.Options{Overrides: fastModel()}, false)
	c := dial(t, srv, "sk-test", "gpt-realtime")
	c.waitFor("session.created", wait, nil)
	c.sendRaw(`{"type":"session.update","session":{"type":"realtime","audio":{"input":{"turn_detection":{"type":"server_vad","silence_duration_ms":400,"create_response":false}}}}}`)
	c.waitFor("session.updated", wait, nil)
	m := c.startMic()
	m.say(speech(t, "weather.mp3"))
	user := c.waitFor("input_audio_buffer.committed", wait, nil).AsInputAudioBufferCommittedEvent().ItemID
	// A round trip: whatever the server sent with the commit has arrived
	// before the answer to this; no response may be among it.
	c.send(sdk.RealtimeClientEventUnionParam{OfConversationItemRetrieve: &sdk.ConversationItemRetrieveEventParam{ItemID: user}})
	for {
		ev := c.next()
		if ev.Type == "response.created" {
			t.Fatalf("create_response false, yet a response was created at the turn end")
		}
		if ev.Type == "conversation.item.retrieved" {
			break
		}
	}
	c.send(sdk.RealtimeClientEventUnionParam{OfResponseCreate: &sdk.ResponseCreateEventParam{}})
	c.waitFor("response.created", wait, nil)
	if st := c.waitFor("response.done", wait, nil).AsResponseDoneEvent().Response.Status; st != "completed" {
		t.Errorf("response.create answer: %s", st)
	}
}
