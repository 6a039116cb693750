package wsconn

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/zap/zaptest"
)

// TestFullQueueWithStuckWriterDoesNotBlock: a client that stops reading
// fills its socket, so the writer blocks mid-write; the queue then fills
// and the next Enqueue closes the connection. That close must not wait for
// the stuck writer: Enqueue runs on a session's clock, shared with others.
func TestFullQueueWithStuckWriterDoesNotBlock(t *testing.T) {
	const writeWait = 5 * time.Second
	conns := make(chan *Conn, 1)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := Upgrade(&websocket.Upgrader{}, w, r, nil, writeWait, time.Minute)
		if err != nil {
			t.Error(err)
			return
		}
		c := New(ws, zaptest.NewLogger(t), Options{WriteWait: writeWait, PongWait: time.Minute,
			CloseGrace: time.Second, SendQueue: 4, SlowReason: "client too slow"})
		go c.WriteLoop()
		conns <- c
	}))
	defer hs.Close()
	client, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(hs.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close() // never read: its socket fills
	c := <-conns
	defer c.Drop()

	big := make([]byte, 1<<20)
	// Feed the writer until it is stuck and the queue full: the socket
	// takes a few MiB, then the writer blocks and messages pile up.
	var took time.Duration
	refused := false
	for range 256 {
		start := time.Now()
		ok := c.Enqueue(websocket.BinaryMessage, big, nil)
		took = time.Since(start)
		if !ok {
			refused = true
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !refused {
		t.Fatal("256 MiB queued for a client that reads nothing")
	}
	if !c.Closed() {
		t.Error("the stuck client was not disconnected")
	}
	if took >= writeWait/5 {
		t.Fatalf("the Enqueue that closed blocked for %v, as long as the writer's wait (%v)", took, writeWait)
	}
}

// TestDropAfterDropDoesNotWait: a connection dropped without a close frame
// (the client went) has no frame to wait for; a second Drop, as the writer
// makes when its write then fails, returns at once rather than after
// WriteWait, which held a finished session for that long.
func TestDropAfterDropDoesNotWait(t *testing.T) {
	conns := make(chan *Conn, 1)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := Upgrade(&websocket.Upgrader{}, w, r, nil, time.Hour, time.Hour)
		if err != nil {
			t.Error(err)
			return
		}
		conns <- New(ws, zaptest.NewLogger(t), Options{WriteWait: time.Hour, PongWait: time.Hour,
			CloseGrace: time.Hour, SendQueue: 4})
	}))
	defer hs.Close()
	client, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(hs.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	c := <-conns
	c.Drop()
	done := make(chan struct{})
	go func() {
		c.Drop()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a second Drop waited for a close frame that was never sent")
	}
}
