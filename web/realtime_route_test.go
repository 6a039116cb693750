package web_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/voicesim/voicesim/web"
	"go.uber.org/zap/zaptest"
)

// TestRealtimeEndpointMounted: the server speaks the OpenAI Realtime API on
// /v1/realtime and /realtime (session.created first), checks the API key
// when one is set, and lists Realtime turn metrics as JSON.
func TestRealtimeEndpointMounted(t *testing.T) {
	srv, err := web.New(web.Config{Logger: zaptest.NewLogger(t), APIKey: "sk-test"})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	base := "ws" + strings.TrimPrefix(ts.URL, "http")
	for _, path := range []string{"/v1/realtime?model=gpt-realtime", "/realtime"} {
		h := http.Header{"Authorization": {"Bearer sk-test"}}
		c, _, err := websocket.DefaultDialer.Dial(base+path, h)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		var ev struct {
			Type    string `json:"type"`
			EventID string `json:"event_id"`
		}
		if err := c.ReadJSON(&ev); err != nil || ev.Type != "session.created" || ev.EventID == "" {
			t.Errorf("%s: first event %+v (%v); want session.created", path, ev, err)
		}
		c.Close()
	}
	c, _, err := websocket.DefaultDialer.Dial(base+"/v1/realtime", http.Header{"Authorization": {"Bearer wrong"}})
	if err == nil {
		var ev struct {
			Type  string
			Error struct{ Code string }
		}
		if err := c.ReadJSON(&ev); err != nil || ev.Type != "error" || ev.Error.Code != "invalid_api_key" {
			t.Errorf("wrong key: %+v (%v); want error invalid_api_key", ev, err)
		}
		c.Close()
	}
	resp, err := http.Get(ts.URL + "/api/realtime/turns")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body["turns"] == nil {
		t.Errorf("/api/realtime/turns: %v %v; want {\"turns\": [...]}", body, err)
	}
	if err := srv.Shutdown(t.Context()); err != nil {
		t.Error(err)
	}
}
