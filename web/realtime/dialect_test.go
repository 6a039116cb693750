package realtime_test

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/voicesim/voicesim/pipeline/audio"
	"github.com/voicesim/voicesim/web/realtime"
)

// dialRaw opens a WebSocket on /v1/realtime without the SDK, as a browser
// or another client does, offering subprotocols.
func dialRaw(t *testing.T, srv *httptest.Server, hdr http.Header, protocols ...string) (*websocket.Conn, *http.Response) {
	t.Helper()
	d := websocket.Dialer{Subprotocols: protocols, HandshakeTimeout: 5 * time.Second}
	if tr, ok := srv.Client().Transport.(*http.Transport); ok && tr.TLSClientConfig != nil {
		d.TLSClientConfig = tr.TLSClientConfig.Clone()
	}
	u := "ws" + strings.TrimPrefix(srv.URL, "http") + "/v1/realtime?model=gpt-4o-realtime-preview-2024-12-17&unknown_param=1"
	ws, resp, err := d.Dial(u, hdr)
	if err != nil {
		t.Fatalf("dial %s: %v", u, err)
	}
	t.Cleanup(func() { _ = ws.Close() })
	return ws, resp
}

// readRaw reads one event as JSON.
func readRaw(t *testing.T, ws *websocket.Conn) map[string]any {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(wait))
	_, data, err := ws.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var ev map[string]any
	if err := json.Unmarshal(data, &ev); err != nil {
		t.Fatalf("event %s: %v", data, err)
	}
	if ev["event_id"] == "" || ev["event_id"] == nil {
		t.Errorf("event without event_id: %s", data)
	}
	return ev
}

// readUntil reads events until one of type typ, returning the types seen.
func readUntil(t *testing.T, ws *websocket.Conn, typ string) (map[string]any, []string) {
	t.Helper()
	var seen []string
	for {
		ev := readRaw(t, ws)
		seen = append(seen, ev["type"].(string))
		if ev["type"] == typ {
			return ev, seen
		}
	}
}

func writeRaw(t *testing.T, ws *websocket.Conn, v any) {
	t.Helper()
	if err := ws.WriteJSON(v); err != nil {
		t.Fatal(err)
	}
}

// TestBetaDialect: a client announcing the beta protocol (OpenAI-Beta:
// realtime=v1) gets the beta session shape and event names, and may send
// beta-shaped session updates.
func TestBetaDialect(t *testing.T) {
	srv := newServer(t, realtime.Options{Overrides: fastModel()}, false)
	ws, _ := dialRaw(t, srv, http.Header{"OpenAI-Beta": {"realtime=v1"}})
	created := readRaw(t, ws)
	sess := created["session"].(map[string]any)
	if created["type"] != "session.created" || sess["input_audio_format"] != "pcm16" || sess["turn_detection"] == nil {
		t.Fatalf("beta session.created: %v", created)
	}
	if p := sess["voicesim"].(map[string]any)["preset"]; p != "native-gpt4o" {
		t.Errorf("dated model snapshot simulated by %v; want native-gpt4o", p)
	}
	writeRaw(t, ws, map[string]any{"type": "session.update", "session": map[string]any{"turn_detection": nil, "input_audio_format": "pcm16", "voice": "verse"}})
	upd, _ := readUntil(t, ws, "session.updated")
	if s := upd["session"].(map[string]any); s["turn_detection"] != nil || s["voice"] != "verse" {
		t.Errorf("beta session.updated: %v", s)
	}
	pcm := audio.EncodePCM16(speech(t, "weather.mp3")[:24000])
	writeRaw(t, ws, map[string]any{"type": "input_audio_buffer.append", "audio": base64.StdEncoding.EncodeToString(pcm)})
	writeRaw(t, ws, map[string]any{"type": "input_audio_buffer.commit"})
	writeRaw(t, ws, map[string]any{"type": "response.create"})
	done, seen := readUntil(t, ws, "response.done")
	joined := strings.Join(seen, " ")
	for _, want := range []string{"input_audio_buffer.committed", "conversation.item.created", "response.created", "response.audio.delta", "response.audio_transcript.delta", "response.audio.done", "response.audio_transcript.done"} {
		if !strings.Contains(joined, want+" ") {
			t.Errorf("beta events: no %s in %s", want, joined)
		}
	}
	if strings.Contains(joined, "output_audio") || strings.Contains(joined, "speech_started") {
		t.Errorf("beta events with GA names or VAD events in manual mode: %s", joined)
	}
	if st := done["response"].(map[string]any)["status"]; st != "completed" {
		t.Errorf("response.done status %v", st)
	}
}

// TestTLS: the official SDK connects over wss:// to a TLS server whose
// certificate it trusts, manual turns work end to end, and the /realtime
// alias serves too.
func TestTLS(t *testing.T) {
	srv := newServer(t, realtime.Options{Overrides: fastModel()}, true)
	if !strings.HasPrefix(srv.URL, "https://") {
		t.Fatalf("not a TLS server: %s", srv.URL)
	}
	c := dial(t, srv, "sk-test", "gpt-realtime")
	c.waitFor("session.created", wait, nil)
	c.sendRaw(manualTurns)
	c.waitFor("session.updated", wait, nil)
	item, resp := answerOnce(t, c)
	if c.sentMs(resp) < 1000 {
		t.Errorf("answer %s (%s): %d ms of audio", resp, item, c.sentMs(resp))
	}
	// The transcript is the answer's.
	c.mu.Lock()
	tr := c.transcript[resp]
	c.mu.Unlock()
	if strings.TrimSpace(tr) != answer {
		t.Errorf("transcript %q; want %q", tr, answer)
	}
	// A raw wss:// client on the alias path.
	d := websocket.Dialer{TLSClientConfig: &tls.Config{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}}
	ws, _, err := d.Dial("wss"+strings.TrimPrefix(srv.URL, "https")+"/realtime", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if ev := readRaw(t, ws); ev["type"] != "session.created" {
		t.Errorf("wss /realtime: %v", ev)
	}
	// A plain-text client cannot talk to it.
	if _, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "https")+"/v1/realtime", nil); err == nil {
		t.Errorf("ws:// to a TLS server connected")
	}
}
