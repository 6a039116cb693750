// Package wsconn is the server's end of one WebSocket, shared by the live
// sessions (/ws) and the Realtime endpoint: exactly one reader (the
// handler goroutine) and one writer goroutine fed by a bounded queue, after
// gorilla/websocket's chat example. Enqueueing never blocks — a session's
// clock must not wait on a client — and a client that lets the queue fill
// is disconnected rather than allowed to stall its session or grow the
// server's memory.
package wsconn

import (
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/zap"
)

// Options bound one connection.
type Options struct {
	WriteWait  time.Duration // to write one message
	PongWait   time.Duration // silence (no message, no pong) before the connection is dead; pings go at 9/10 of it
	CloseGrace time.Duration // for the client to answer a close frame
	SendQueue  int           // messages queued for the client
	// SlowReason is the close reason (1013) for a client that let the
	// queue fill.
	SlowReason string
	// Pool, if set, takes back the buffers of messages enqueued as pooled
	// once they are written.
	Pool *sync.Pool
}

// Conn is one WebSocket with a bounded send queue.
type Conn struct {
	ws   *websocket.Conn
	log  *zap.Logger
	opts Options

	send      chan msg
	closing   chan struct{} // closed once a close is under way
	closeOnce sync.Once
	done      chan struct{} // closed when the writer has exited
	closeCode atomic.Int32  // the close code sent (0: none yet)
	// closeSent is closed once the close frame is written (or failed);
	// Drop waits for it, so a close sent just before is not cut off.
	closeSent chan struct{}
}

type msg struct {
	kind   int // websocket.TextMessage, BinaryMessage or CloseMessage
	data   []byte
	pooled *[]byte // goes back to Options.Pool once written
}

// New wraps ws. The reader's deadline moves on with every pong; the caller
// moves it on with every message it reads.
func New(ws *websocket.Conn, log *zap.Logger, opts Options) *Conn {
	c := &Conn{ws: ws, log: log, opts: opts, send: make(chan msg, opts.SendQueue),
		closing: make(chan struct{}), done: make(chan struct{}), closeSent: make(chan struct{})}
	ws.SetPongHandler(func(string) error { return ws.SetReadDeadline(time.Now().Add(opts.PongWait)) })
	return c
}

// WS returns the underlying connection, for its reader.
func (c *Conn) WS() *websocket.Conn { return c.ws }

// Done is closed when the writer has exited.
func (c *Conn) Done() <-chan struct{} { return c.done }

// CloseCode is the close code the server sent (0: none yet).
func (c *Conn) CloseCode() int { return int(c.closeCode.Load()) }

// WriteLoop writes queued messages and pings until a close.
func (c *Conn) WriteLoop() {
	ping := time.NewTicker(c.opts.PongWait * 9 / 10)
	defer func() {
		ping.Stop()
		close(c.done)
	}()
	for {
		select {
		case m := <-c.send:
			if m.kind == websocket.CloseMessage {
				c.closeWith(m.data, true)
				return
			}
			_ = c.ws.SetWriteDeadline(time.Now().Add(c.opts.WriteWait))
			err := c.ws.WriteMessage(m.kind, m.data)
			if m.pooled != nil && c.opts.Pool != nil {
				*m.pooled = m.data[:0]
				c.opts.Pool.Put(m.pooled)
			}
			if err != nil {
				c.log.Debug("write failed", zap.Error(err))
				c.Drop()
				return
			}
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.opts.WriteWait)); err != nil {
				c.log.Debug("ping failed", zap.Error(err))
				c.Drop()
				return
			}
		case <-c.closing:
			return
		}
	}
}

// Enqueue queues a message for the writer; pooled, if not nil, is data's
// buffer, handed back to Options.Pool once written. A full queue means the
// client cannot keep up: it is disconnected and Enqueue reports false, as
// it does once a close is under way.
func (c *Conn) Enqueue(kind int, data []byte, pooled *[]byte) bool {
	if c.Closed() {
		return false
	}
	select {
	case c.send <- msg{kind: kind, data: data, pooled: pooled}:
		return true
	default:
		c.log.Warn("client too slow; disconnecting", zap.Int("queued", len(c.send)))
		c.CloseNow(websocket.CloseTryAgainLater, c.opts.SlowReason)
		return false
	}
}

// SendJSON queues v as a text message.
func (c *Conn) SendJSON(v any) bool {
	b, err := json.Marshal(v)
	if err != nil {
		c.log.Error("encode message", zap.Error(err))
		return false
	}
	return c.Enqueue(websocket.TextMessage, b, nil)
}

// CloseAfterQueue closes the connection once the messages queued before
// it are written (e.g. a summary, then the close).
func (c *Conn) CloseAfterQueue(code int, reason string) {
	if c.Closed() {
		return
	}
	select {
	case c.send <- msg{kind: websocket.CloseMessage, data: CloseData(code, reason)}:
	default:
		c.CloseNow(code, reason)
	}
}

// CloseNow sends a close frame ahead of anything queued, without waiting:
// the writer may be stuck mid-write to this very client, and the caller is
// usually a session's clock, shared with other sessions.
func (c *Conn) CloseNow(code int, reason string) { c.closeWith(CloseData(code, reason), false) }

// closeWith sends the close frame, from the caller's goroutine if sync (the
// writer's own), else from a goroutine of its own.
func (c *Conn) closeWith(data []byte, sync bool) {
	c.closeOnce.Do(func() {
		code, _ := parseClose(data)
		c.closeCode.Store(int32(code))
		close(c.closing)
		write := func() {
			_ = c.ws.WriteControl(websocket.CloseMessage, data, time.Now().Add(c.opts.WriteWait))
			close(c.closeSent)
		}
		if sync {
			write()
		} else {
			go write()
		}
		// Give the client CloseGrace to answer, then drop the connection,
		// which also ends a reader still waiting and a stuck write.
		time.AfterFunc(c.opts.CloseGrace, func() { _ = c.ws.Close() })
	})
}

// Drop closes the connection without a close frame of its own: it is
// already broken, or the close handshake is over. A close frame still being
// written (CloseNow writes it from a goroutine) is waited for first, up to
// WriteWait, so the client gets the reason rather than a bare EOF.
func (c *Conn) Drop() {
	sending := true
	c.closeOnce.Do(func() {
		sending = false
		close(c.closing)
		close(c.closeSent) // none will be: a later Drop has nothing to wait for
	})
	if sending {
		select {
		case <-c.closeSent:
		case <-time.After(c.opts.WriteWait):
		}
	}
	_ = c.ws.Close()
}

// Closed reports whether a close is under way.
func (c *Conn) Closed() bool {
	select {
	case <-c.closing:
		return true
	default:
		return false
	}
}

// CloseData formats a close frame's payload; the reason is cut to fit the
// 125-byte control frame.
func CloseData(code int, reason string) []byte {
	if len(reason) > 120 {
		reason = reason[:120]
	}
	return websocket.FormatCloseMessage(code, reason)
}

func parseClose(data []byte) (int, string) {
	if len(data) < 2 {
		return websocket.CloseNoStatusReceived, ""
	}
	return int(data[0])<<8 | int(data[1]), string(data[2:])
}
