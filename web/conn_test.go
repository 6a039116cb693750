package web

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/web/wsconn"
	"go.uber.org/zap/zaptest"
)

// TestSlowClientIsDropped: a client that stops reading is disconnected
// with 1013 "client too slow" once more than SendBacklog bytes wait for
// it, and sending never blocks the caller (a session's lane): the frames
// below are sent on the test's goroutine to a client that reads nothing,
// so a send that waited for it would hang the test. The client, when it
// reads at last, gets every frame sent, then the close.
func TestSlowClientIsDropped(t *testing.T) {
	conns := make(chan *wsConn, 1)
	// CloseGrace outlasts the test: the client reads the close whenever
	// it gets to it.
	lim := Limits{SendBacklog: 64 << 10, CloseGrace: time.Hour}.withDefaults()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := wsconn.Upgrade(&websocket.Upgrader{}, w, r, nil, lim.WriteWait, lim.PongWait)
		if err != nil {
			t.Error(err)
			return
		}
		conns <- newConn(ws, zaptest.NewLogger(t), lim)
	}))
	defer hs.Close()
	client, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(hs.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	c := <-conns
	defer c.Drop()

	f := pipeline.Frame{Kind: pipeline.AssistantAudio, Response: 1, Audio: make([]int16, pipeline.FrameSamples)}
	sent := 0
	for c.sendAudio(f) {
		if sent++; sent > 1<<16 {
			t.Fatal("64 Ki audio frames (~60 MiB) sent to a client that reads nothing")
		}
	}
	if !c.Closed() {
		t.Fatal("a frame was refused, but the slow client is not being disconnected")
	}
	if c.sendError(CodeInvalidMessage, "late", false) {
		t.Fatal("a message was sent after the slow client's close")
	}
	n := 0
	for {
		if _, _, err = client.ReadMessage(); err != nil {
			break
		}
		n++
	}
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseTryAgainLater || ce.Text != "client too slow: "+CodeSlowClient {
		t.Errorf("client read %v; want close 1013 client too slow: %s", err, CodeSlowClient)
	}
	if n != sent {
		t.Errorf("the client read %d frames before the close; %d were sent", n, sent)
	}
}

// TestDefaultSendBacklog: the default bound holds 20 s of audio frames as
// sent (976 bytes each, WebSocket header included), and not much more.
func TestDefaultSendBacklog(t *testing.T) {
	frame := len(appendAudio(nil, pipeline.Frame{Audio: make([]int16, pipeline.FrameSamples)})) + 4
	if got, want := (Limits{}).withDefaults().SendBacklog, 1000*frame; got != want {
		t.Fatalf("default send backlog %d bytes; 20 s of %d-byte frames is %d", got, frame, want)
	}
}
