package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/zap/zaptest"
)

// TestSlowClientIsDropped: a client that does not drain its queue is
// disconnected when the queue is full; enqueueing never blocks the caller
// (the session's loop).
func TestSlowClientIsDropped(t *testing.T) {
	conns := make(chan *wsConn, 1)
	lim := Limits{SendQueue: 2}.withDefaults()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		// No writeLoop: nothing drains the queue, as with a client whose
		// socket is full.
		conns <- newConn(ws, zaptest.NewLogger(t), lim)
	}))
	defer hs.Close()
	client, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(hs.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	c := <-conns
	defer c.WS().Close()
	start := time.Now()
	for i := range 2 {
		if !c.SendJSON(map[string]int{"n": i}) {
			t.Fatalf("message %d refused with room in the queue", i)
		}
	}
	if c.SendJSON(map[string]int{"n": 2}) {
		t.Fatal("a third message fitted in a queue of two")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("enqueueing took %v: it must not block", d)
	}
	if !c.Closed() {
		t.Error("the slow client was not disconnected")
	}
	_, _, err = client.ReadMessage()
	if ce, ok := err.(*websocket.CloseError); !ok || ce.Code != websocket.CloseTryAgainLater || !strings.Contains(ce.Text, "too slow") {
		t.Errorf("client read %v; want close 1013 client too slow", err)
	}
}
