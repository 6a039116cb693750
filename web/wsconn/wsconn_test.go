package wsconn

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/zap/zaptest"
)

// testOpts are Options whose waits never run out in a test: nothing here
// depends on one.
func testOpts() Options {
	return Options{WriteWait: time.Minute, PongWait: time.Hour, CloseGrace: time.Minute,
		SendBacklog: 1 << 20, SlowReason: "client too slow"}
}

// pair returns a server Conn and the client's end of it, over TLS if
// secure. If read, the server reads (and discards) what the client sends,
// as a session's reader does, so control frames are answered.
func pair(t *testing.T, opts Options, secure, read bool) (*Conn, *websocket.Conn) {
	t.Helper()
	conns := make(chan *Conn, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := Upgrade(&websocket.Upgrader{}, w, r, nil, opts.WriteWait, opts.PongWait)
		if err != nil {
			t.Error(err)
			conns <- nil
			return
		}
		c := New(ws, zaptest.NewLogger(t), opts)
		conns <- c
		if read {
			for {
				if _, _, err := ws.NextReader(); err != nil {
					return
				}
			}
		}
	})
	var hs *httptest.Server
	dialer := *websocket.DefaultDialer
	if secure {
		hs = httptest.NewTLSServer(h)
		roots := x509.NewCertPool()
		roots.AddCert(hs.Certificate())
		dialer.TLSClientConfig = &tls.Config{RootCAs: roots}
	} else {
		hs = httptest.NewServer(h)
	}
	t.Cleanup(hs.Close)
	client, _, err := dialer.Dial("ws"+strings.TrimPrefix(hs.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	c := <-conns
	if c == nil {
		t.FailNow()
	}
	t.Cleanup(c.Drop)
	return c, client
}

// readAll reads messages until the connection ends, and returns how many
// there were and the error that ended it.
func readAll(client *websocket.Conn) (int, error) {
	n := 0
	for {
		if _, _, err := client.ReadMessage(); err != nil {
			return n, err
		}
		n++
	}
}

// TestStuckClientNeverBlocksASender: a client that reads nothing fills its
// socket, then the backlog; no send waits for it (a send that did would
// hang this test, which sends on its own goroutine), and once more than
// SendBacklog waits the next message is refused and a close sent. The
// client, when it reads at last, gets everything sent before that, then
// the close (1013). Over TLS too, where the connection has no descriptor
// and every write goes through the backlog.
func TestStuckClientNeverBlocksASender(t *testing.T) {
	for _, secure := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", secure), func(t *testing.T) {
			c, client := pair(t, testOpts(), secure, false)
			big := make([]byte, 256<<10)
			sent := 0
			for c.Send(websocket.BinaryMessage, big) {
				if sent++; sent > 1024 {
					t.Fatal("256 MiB sent to a client that reads nothing")
				}
			}
			if !c.Closed() {
				t.Fatal("a send was refused, but the client is not being disconnected")
			}
			if c.Send(websocket.TextMessage, []byte("late")) || c.SendJSON("late") {
				t.Fatal("a message was sent after the close")
			}
			c.Close(websocket.CloseGoingAway, "a second close") // no effect, no wait
			if got := c.CloseCode(); got != websocket.CloseTryAgainLater {
				t.Errorf("close code %d, want 1013", got)
			}
			n, err := readAll(client)
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != websocket.CloseTryAgainLater || ce.Text != "client too slow" {
				t.Fatalf("after %d messages the client read %v; want close 1013 client too slow", n, err)
			}
			if n != sent {
				t.Errorf("the client read %d messages; %d were sent", n, sent)
			}
		})
	}
}

// TestCloseFollowsWhatWasSent: messages sent from several goroutines at
// once are written whole, one at a time (gorilla panics otherwise), and
// the close frame sent after them comes after them all.
func TestCloseFollowsWhatWasSent(t *testing.T) {
	c, client := pair(t, testOpts(), false, true)
	const senders, each = 8, 200
	var wg sync.WaitGroup
	for i := range senders {
		wg.Go(func() {
			for j := range each {
				if !c.SendJSON(map[string]int{"sender": i, "n": j}) {
					t.Errorf("sender %d: message %d refused", i, j)
					return
				}
			}
		})
	}
	wg.Wait()
	c.Close(websocket.CloseNormalClosure, "session complete")
	n, err := readAll(client)
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseNormalClosure || ce.Text != "session complete" {
		t.Fatalf("the client read %v; want close 1000 session complete", err)
	}
	if n != senders*each {
		t.Fatalf("the client read %d messages before the close; %d were sent", n, senders*each)
	}
}

// TestDropLetsTheCloseFrameOut: a close frame waiting in the backlog
// behind megabytes the client has not read yet is not cut off by Drop,
// which waits for it (up to WriteWait) before closing the connection.
func TestDropLetsTheCloseFrameOut(t *testing.T) {
	opts := testOpts()
	opts.SendBacklog = 64 << 20
	c, client := pair(t, opts, false, false)
	big := make([]byte, 1<<20)
	const sent = 16 // more than the sockets hold: some of it waits
	for i := range sent {
		if !c.Send(websocket.BinaryMessage, big) {
			t.Fatalf("message %d refused", i)
		}
	}
	c.Close(websocket.CloseGoingAway, "server shutting down")
	go c.Drop() // as the session's handler does when it ends
	n, err := readAll(client)
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
		t.Fatalf("after %d of %d messages the client read %v; want close 1001", n, sent, err)
	}
	if n != sent {
		t.Errorf("the client read %d messages; %d were sent", n, sent)
	}
	<-c.Done()
}

// TestPingsAndControlFrames: the server pings every 9/10 of PongWait; it
// answers the client's ping with a pong and the client's close with a
// close, and sends nothing after that.
func TestPingsAndControlFrames(t *testing.T) {
	opts := testOpts()
	opts.PongWait = 50 * time.Millisecond
	c, client := pair(t, opts, false, true)
	pings := make(chan struct{}, 16)
	client.SetPingHandler(func(string) error {
		pings <- struct{}{}
		return nil
	})
	pongs := make(chan string, 1)
	client.SetPongHandler(func(data string) error {
		pongs <- data
		return nil
	})
	read := make(chan error, 1)
	go func() {
		_, err := readAll(client)
		read <- err
	}()
	for range 3 {
		<-pings
	}
	if err := client.WriteControl(websocket.PingMessage, []byte("hello"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := <-pongs; got != "hello" {
		t.Errorf("pong %q, want hello", got)
	}
	if err := client.WriteControl(websocket.CloseMessage, CloseData(websocket.CloseNormalClosure, "bye"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	var ce *websocket.CloseError
	if err := <-read; !errors.As(err, &ce) || ce.Code != websocket.CloseNormalClosure {
		t.Fatalf("the client read %v; want its close answered with 1000", err)
	}
	if !c.Closed() || c.Send(websocket.TextMessage, []byte("late")) {
		t.Error("a message was sent after the close handshake")
	}
	if c.CloseCode() != 0 {
		t.Errorf("close code %d recorded for the client's close; want 0 (the server sent none of its own)", c.CloseCode())
	}
}

// TestUntakenBacklogEndsTheConnection: a client that takes nothing of what
// waits for it while nothing more is sent has its connection closed once
// the write deadline passes, which ends the server's reader (and so its
// session) then, not at the next message or ping.
func TestUntakenBacklogEndsTheConnection(t *testing.T) {
	opts := testOpts()
	opts.WriteWait = 200 * time.Millisecond
	opts.SendBacklog = 64 << 20
	conns := make(chan *Conn, 1)
	ended := make(chan error, 1)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := Upgrade(&websocket.Upgrader{}, w, r, nil, opts.WriteWait, opts.PongWait)
		if err != nil {
			t.Error(err)
			close(conns)
			return
		}
		c := New(ws, zaptest.NewLogger(t), opts)
		conns <- c
		for {
			if _, _, err := ws.NextReader(); err != nil {
				ended <- err
				return
			}
		}
	}))
	defer hs.Close()
	client, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(hs.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close() // never read
	c := <-conns
	if c == nil {
		t.FailNow()
	}
	defer c.Drop()
	big := make([]byte, 1<<20)
	for i := range 16 { // more than the sockets hold: some of it waits
		if !c.Send(websocket.BinaryMessage, big) {
			t.Fatalf("message %d refused", i)
		}
	}
	<-ended // a deadline that never ended the connection would hang here
	if !c.Closed() {
		t.Error("the connection ended, but the Conn still sends")
	}
}

// TestDropAfterDropDoesNotWait: a connection dropped without a close frame
// (the client went) has no frame to wait for; a second Drop (a failed
// write makes one) returns at once rather than after WriteWait, which held
// a finished session for that long.
func TestDropAfterDropDoesNotWait(t *testing.T) {
	conns := make(chan *Conn, 1)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := Upgrade(&websocket.Upgrader{}, w, r, nil, time.Hour, time.Hour)
		if err != nil {
			t.Error(err)
			return
		}
		conns <- New(ws, zaptest.NewLogger(t), Options{WriteWait: time.Hour, PongWait: time.Hour,
			CloseGrace: time.Hour, SendBacklog: 1 << 20})
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

// TestSendJSONAsMarshal: SendJSON's messages are exactly json.Marshal's
// (no trailing newline, the same escaping), one after another in the
// storage it reuses, a large one included.
func TestSendJSONAsMarshal(t *testing.T) {
	c, client := pair(t, testOpts(), false, true)
	values := []any{
		map[string]any{"type": "mark", "name": "tts.first_byte", "at_ms": 812.5},
		map[string]string{"text": `<b>"quoted" & escaped</b>`},
		map[string]string{"big": strings.Repeat("x", 100<<10)},
		[]int{1, 2, 3},
	}
	for _, v := range values {
		if !c.SendJSON(v) {
			t.Fatalf("SendJSON(%T) refused", v)
		}
	}
	for i, v := range values {
		_, got, err := client.ReadMessage()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		want, _ := json.Marshal(v)
		if !bytes.Equal(got, want) {
			t.Errorf("message %d is %.80q; json.Marshal gives %.80q", i, got, want)
		}
	}
}
