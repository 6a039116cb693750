package realtime_test

import (
	"strings"
	"testing"
	"time"

	sdk "github.com/openai/openai-go/v3/realtime"
	"github.com/voicesim/voicesim/web/realtime"
)

// manualTurns switches the session to manual turns (turn_detection: null,
// which the SDK's types cannot express, so raw).
const manualTurns = `{"type":"session.update","session":{"type":"realtime","audio":{"input":{"turn_detection":null}}}}`

// answerOnce commits a second of speech and has the model answer it;
// it returns the answer's item id and response id once the answer is done.
func answerOnce(t *testing.T, c *client) (item, resp string) {
	t.Helper()
	c.send(appendEvent(speech(t, "weather.mp3")[:24000]))
	c.send(sdk.RealtimeClientEventUnionParam{OfInputAudioBufferCommit: &sdk.InputAudioBufferCommitEventParam{}})
	c.waitFor("input_audio_buffer.committed", wait, nil)
	c.send(sdk.RealtimeClientEventUnionParam{OfResponseCreate: &sdk.ResponseCreateEventParam{}})
	item = c.waitFor("response.output_item.added", wait, nil).AsResponseOutputItemAddedEvent().Item.AsRealtimeConversationItemAssistantMessage().ID
	done := c.waitFor("response.done", wait, nil).AsResponseDoneEvent().Response
	if done.Status != "completed" {
		t.Fatalf("response %s %s", done.ID, done.Status)
	}
	return item, done.ID
}

// TestClientErrors sends each bad event the protocol defines an error for
// and checks the error event, then that the session carries on.
func TestClientErrors(t *testing.T) {
	srv := newServer(t, realtime.Options{Overrides: fastModel()}, false)
	c := dial(t, srv, "sk-test", "gpt-realtime")
	c.waitFor("session.created", wait, nil)
	c.sendRaw(manualTurns)
	if td := rawField[any](t, c.waitFor("session.updated", wait, nil).RawJSON(), "session", "audio", "input", "turn_detection"); td != nil {
		t.Fatalf("turn_detection after null = %v", td)
	}
	item, _ := answerOnce(t, c)

	cases := []struct {
		name, event       string
		errType, code     string
		param, msgContain string
		eventID           string
	}{
		{"bad JSON", `{"type": "session.update", "session": {`, "invalid_request_error", "invalid_json", "", "parse", ""},
		{"missing type", `{"event_id": "evt_1"}`, "invalid_request_error", "missing_required_parameter", "type", "type", "evt_1"},
		{"unknown event type", `{"type": "conversation.frobnicate", "event_id": "evt_2"}`, "invalid_request_error", "invalid_value", "type", "conversation.frobnicate", "evt_2"},
		{"truncate past the audio sent", `{"type": "conversation.item.truncate", "event_id": "evt_3", "item_id": "` + item + `", "content_index": 0, "audio_end_ms": 600000}`,
			"invalid_request_error", "invalid_value", "audio_end_ms", "is already shorter than 600000ms", "evt_3"},
		{"truncate an unknown item", `{"type": "conversation.item.truncate", "event_id": "evt_4", "item_id": "item_nope", "content_index": 0, "audio_end_ms": 10}`,
			"invalid_request_error", "item_not_found", "item_id", "item_nope", "evt_4"},
		{"cancel with nothing active", `{"type": "response.cancel", "event_id": "evt_5"}`, "invalid_request_error", "response_cancel_not_active", "", "no active response", "evt_5"},
		{"commit an empty buffer", `{"type": "input_audio_buffer.commit", "event_id": "evt_6"}`, "invalid_request_error", "input_audio_buffer_commit_empty", "", "buffer too small", "evt_6"},
		{"append bad base64", `{"type": "input_audio_buffer.append", "event_id": "evt_7", "audio": "%%%"}`, "invalid_request_error", "invalid_value", "audio", "base64", "evt_7"},
		{"unsupported audio format", `{"type": "session.update", "event_id": "evt_8", "session": {"type": "realtime", "audio": {"input": {"format": {"type": "audio/pcmu"}}}}}`,
			"invalid_request_error", "unsupported_audio_format", "session.audio.input.format", "24 kHz", "evt_8"},
		{"bad turn detection", `{"type": "session.update", "event_id": "evt_9", "session": {"type": "realtime", "audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": 2}}}}}`,
			"invalid_request_error", "invalid_value", "session.audio.input.turn_detection.threshold", "threshold", "evt_9"},
	}
	for _, tc := range cases {
		{
			c.sendRaw(tc.event)
			e := c.waitFor("error", wait, nil).AsRealtimeErrorEvent()
			if e.EventID == "" || e.Error.Type != tc.errType || e.Error.Code != tc.code || e.Error.Param != tc.param ||
				e.Error.EventID != tc.eventID || !strings.Contains(e.Error.Message, tc.msgContain) {
				t.Errorf("%s: error = %+v (event %s); want type %s, code %s, param %q, event_id %q, message with %q",
					tc.name, e.Error, e.EventID, tc.errType, tc.code, tc.param, tc.eventID, tc.msgContain)
			}
			// The session carries on.
			c.sendRaw(`{"type": "session.update", "session": {"type": "realtime", "instructions": "` + tc.name + `"}}`)
			if got := c.waitFor("session.updated", wait, nil).AsSessionUpdatedEvent().Session.AsRealtimeSessionCreateRequest().Instructions; got != tc.name {
				t.Errorf("%s: after the error, session.updated instructions %q", tc.name, got)
			}
		}
	}
	// The conversation is intact: the answer can still be truncated.
	c.send(truncate(item, 300))
	if got := c.waitFor("conversation.item.truncated", wait, nil).AsConversationItemTruncatedEvent(); got.ItemID != item || got.AudioEndMs != 300 {
		t.Errorf("truncated %+v", got)
	}
}

// TestAPIKey: with an API key set, a wrong key gets an invalid_api_key
// error and the socket is closed; the right key, as a bearer token or as
// the openai-insecure-api-key subprotocol, gets a session.
func TestAPIKey(t *testing.T) {
	srv := newServer(t, realtime.Options{APIKey: "sk-right", Overrides: fastModel()}, false)

	bad := dial(t, srv, "sk-wrong", "gpt-realtime")
	e := bad.waitFor("error", wait, nil).AsRealtimeErrorEvent()
	if e.Error.Code != "invalid_api_key" || e.Error.Type != "invalid_request_error" || e.EventID == "" {
		t.Errorf("wrong key: %+v", e)
	}
	select {
	case ev, ok := <-bad.evs:
		if ok {
			t.Errorf("wrong key: got %s after the error; want the connection closed", ev.Type)
		}
	case <-time.After(wait):
		t.Errorf("wrong key: connection still open")
	}

	good := dial(t, srv, "sk-right", "gpt-realtime")
	good.waitFor("session.created", wait, nil)

	ws, resp := dialRaw(t, srv, nil, "realtime", "openai-insecure-api-key.sk-right", "openai-beta.realtime-v1")
	if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != "realtime" {
		t.Errorf("subprotocol %q; want realtime echoed", got)
	}
	if ev := readRaw(t, ws); ev["type"] != "session.created" || ev["session"].(map[string]any)["input_audio_format"] != "pcm16" {
		t.Errorf("subprotocol key and beta: first event %v", ev)
	}
	ws2, _ := dialRaw(t, srv, nil, "realtime", "openai-insecure-api-key.sk-nope")
	if ev := readRaw(t, ws2); ev["type"] != "error" || ev["error"].(map[string]any)["code"] != "invalid_api_key" {
		t.Errorf("wrong subprotocol key: %v", ev)
	}
}
