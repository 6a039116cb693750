// Package wsconn is the server's end of one WebSocket, shared by the live
// sessions (/ws) and the Realtime endpoint: one reader at a time (the
// handler goroutine, or a session's lane reading the socket through
// SocketReader), and senders on any goroutine — a session's events on a
// shard shared with other sessions, its reader, timers, shutdown — each
// writing its message at once, on its own goroutine, one at a time.
//
// Writing never waits for the client: a session's clock must not wait on
// one, and handing each message to a writer goroutine instead costs a
// scheduling delay per message under load (p99 ~10 ms at 500 sessions on
// two cores). The connection is NonBlocking: what the socket does not take
// waits in a backlog, bounded in bytes, and a client that lets more than
// the bound wait is disconnected rather than allowed to stall its session
// or grow the server's memory.
package wsconn

import (
	"bytes"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/zap"
)

// Options bound one connection.
type Options struct {
	// WriteWait is the write deadline of what waits in the backlog,
	// moved on with every message: what the client has not taken within
	// WriteWait of the last message sent fails the connection, which is
	// then closed. Drop waits as long for a close frame still in the
	// backlog.
	WriteWait  time.Duration
	PongWait   time.Duration // silence (no message, no pong) before the connection is dead; pings go at 9/10 of it
	CloseGrace time.Duration // for the client to answer a close frame
	// SendBacklog bounds the bytes written for the client that its socket
	// has not taken: once more than this waits, the next message is
	// refused and the client disconnected (1013, SlowReason). The close
	// frame itself may pass the bound.
	SendBacklog int
	// SlowReason is the close reason (1013) for a client that let the
	// backlog pass SendBacklog.
	SlowReason string
}

// Conn is one WebSocket whose writes never wait for the client.
type Conn struct {
	ws   *websocket.Conn
	nb   *nbConn // under ws: what waits for the client
	log  *zap.Logger
	opts Options

	// mu makes one writer at a time, as gorilla requires, and so keeps
	// messages and the close frame in the order they were sent.
	mu        sync.Mutex
	closeSent bool          // a close frame is written (under mu)
	ping      *time.Timer   // under mu
	jsonBuf   bytes.Buffer  // SendJSON's encoding (under mu)
	jsonEnc   *json.Encoder // into jsonBuf
	closing   atomic.Bool   // nothing more is sent: a close is under way, or writing failed
	closeCode atomic.Int32
	doneOnce  sync.Once
	done      chan struct{}
}

// New wraps ws, which must come from Upgrade (its connection is
// NonBlocking; anything else could block a sender). The reader's deadline
// moves on with every pong; the caller moves it on with every message it
// reads. Pings, and the answers to the client's pings and close, are
// written like messages, in turn.
func New(ws *websocket.Conn, log *zap.Logger, opts Options) *Conn {
	nb := backlogOf(ws.NetConn())
	if nb == nil {
		panic("wsconn.New: the connection is not from wsconn.Upgrade, so its writes could wait for the client")
	}
	c := &Conn{ws: ws, nb: nb, log: log, opts: opts, done: make(chan struct{})}
	ws.SetPongHandler(func(string) error { return ws.SetReadDeadline(time.Now().Add(opts.PongWait)) })
	ws.SetPingHandler(func(data string) error {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.writeLocked(websocket.PongMessage, []byte(data))
		return nil
	})
	ws.SetCloseHandler(func(code int, _ string) error {
		c.AnswerClose(code)
		return nil
	})
	// The ping timer first: a flusher already writing the handshake's
	// response may fail at once, and failing stops it.
	c.mu.Lock()
	c.ping = time.AfterFunc(opts.PongWait*9/10, c.sendPing)
	c.mu.Unlock()
	// A backlog the client does not take by the write deadline ends the
	// connection then, not at the next message or ping.
	nb.notify(func(err error) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if !c.closing.Load() {
			c.failedLocked(err)
		}
	})
	return c
}

// WS returns the underlying connection, for its reader.
func (c *Conn) WS() *websocket.Conn { return c.ws }

// Done is closed once nothing more will be written: Drop has closed the
// connection and whatever was still being written out has stopped.
func (c *Conn) Done() <-chan struct{} { return c.done }

// CloseCode is the close code the server sent (0: none yet).
func (c *Conn) CloseCode() int { return int(c.closeCode.Load()) }

// Send writes a message to the client at once, on the caller's goroutine,
// without waiting for the client: what its socket does not take waits in
// the backlog. It reports false if the message was not sent: a close is
// under way, the connection has failed, or the client is too slow (more
// than SendBacklog bytes waiting), in which case it is disconnected.
// data is free again when Send returns.
func (c *Conn) Send(kind int, data []byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writeLocked(kind, data)
}

// SendJSON sends v as a text message (see Send), encoded as json.Marshal
// does, into storage the connection reuses.
func (c *Conn) SendJSON(v any) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.jsonEnc == nil {
		c.jsonEnc = json.NewEncoder(&c.jsonBuf)
	}
	c.jsonBuf.Reset()
	if err := c.jsonEnc.Encode(v); err != nil {
		c.log.Error("encode message", zap.Error(err))
		return false
	}
	b := c.jsonBuf.Bytes()
	ok := c.writeLocked(websocket.TextMessage, b[:len(b)-1]) // without Encode's newline
	if c.jsonBuf.Cap() > keptBacklog {
		c.jsonBuf = bytes.Buffer{} // a session's summary: not kept for the connection's life
	}
	return ok
}

// writeLocked writes a message or a ping or pong; c.mu is held.
func (c *Conn) writeLocked(kind int, data []byte) bool {
	if c.closing.Load() {
		return false
	}
	if w := c.nb.waiting(); w > c.opts.SendBacklog {
		c.log.Warn("client too slow; disconnecting", zap.Int("waiting_bytes", w), zap.Int("send_backlog", c.opts.SendBacklog))
		c.closeLocked(websocket.CloseTryAgainLater, c.opts.SlowReason)
		return false
	}
	deadline := time.Now().Add(c.opts.WriteWait)
	var err error
	if kind == websocket.PingMessage || kind == websocket.PongMessage {
		err = c.ws.WriteControl(kind, data, deadline)
	} else {
		_ = c.ws.SetWriteDeadline(deadline)
		err = c.ws.WriteMessage(kind, data)
	}
	if err != nil {
		c.failedLocked(err)
		return false
	}
	return true
}

// sendPing pings the client and re-arms itself; it runs on the timer's
// goroutine.
func (c *Conn) sendPing() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.writeLocked(websocket.PingMessage, nil) {
		c.ping.Reset(c.opts.PongWait * 9 / 10)
	}
}

// Close sends a close frame after everything sent before it (e.g. a
// summary, then the close), and drops the connection if the client has not
// answered within CloseGrace. It never waits: the frame goes into the
// backlog behind whatever the client has not read yet.
func (c *Conn) Close(code int, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closeLocked(code, reason)
}

// closeLocked writes the close frame, past the backlog's bound if need be:
// nothing is written after it. c.mu is held.
func (c *Conn) closeLocked(code int, reason string) {
	if c.closing.Load() {
		return
	}
	c.closing.Store(true)
	c.ping.Stop()
	c.closeCode.Store(int32(code))
	err := c.ws.WriteControl(websocket.CloseMessage, CloseData(code, reason), time.Now().Add(c.opts.WriteWait))
	if err != nil && !errors.Is(err, websocket.ErrCloseSent) {
		c.failedLocked(err)
		return
	}
	c.closeSent = true
	// Give the client CloseGrace to read up to the close frame and answer,
	// then drop the connection, which also ends a reader still waiting.
	time.AfterFunc(c.opts.CloseGrace, func() { _ = c.ws.Close() })
}

// AnswerClose answers the client's close frame with its code, as gorilla
// would, unless a close frame has gone already. It runs on whichever
// reads the connection.
func (c *Conn) AnswerClose(code int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing.Load() {
		return
	}
	c.closing.Store(true)
	c.ping.Stop()
	err := c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, ""), time.Now().Add(c.opts.WriteWait))
	c.closeSent = err == nil
}

// failedLocked ends writing after a failed write; c.mu is held.
func (c *Conn) failedLocked(err error) {
	c.closing.Store(true)
	c.ping.Stop()
	if errors.Is(err, websocket.ErrCloseSent) {
		// gorilla closed on its own (a protocol error from the client): the
		// reader ends with it, and Drop lets the frame go out.
		c.closeSent = true
		return
	}
	c.log.Debug("write failed", zap.Error(err))
	// The connection is broken, or the client took nothing for WriteWait:
	// close it, so the reader ends too. Not on the sender's goroutine:
	// closing a TLS connection writes to it.
	go c.ws.Close()
}

// Drop closes the connection without a close frame of its own: it is
// already broken, or the close handshake is over. A close frame already
// written but still waiting for the client is let go first, up to
// WriteWait, so the client gets the reason rather than a bare EOF. When
// Drop returns, nothing more will be written (Done is closed).
func (c *Conn) Drop() {
	c.mu.Lock()
	c.closing.Store(true)
	c.ping.Stop()
	sent := c.closeSent
	c.mu.Unlock()
	if sent {
		wait := time.NewTimer(c.opts.WriteWait)
		select {
		case <-c.nb.drained():
		case <-wait.C:
		}
		wait.Stop()
	}
	_ = c.ws.Close()
	<-c.nb.drained() // a write still under way fails with the connection
	c.doneOnce.Do(func() { close(c.done) })
}

// Closed reports whether a close is under way: nothing more is sent.
func (c *Conn) Closed() bool { return c.closing.Load() }

// CloseData formats a close frame's payload; the reason is cut to fit the
// 125-byte control frame.
func CloseData(code int, reason string) []byte {
	if len(reason) > 120 {
		reason = reason[:120]
	}
	return websocket.FormatCloseMessage(code, reason)
}
