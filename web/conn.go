package web

import (
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/voicesim/voicesim/pipeline"
	"go.uber.org/zap"
)

// Limits bound what one connection may cost. The zero value of a field
// means its default.
type Limits struct {
	// WriteWait is the time allowed to write one message (default 10 s).
	WriteWait time.Duration
	// PongWait is how long the connection may stay silent — no message and
	// no pong — before it is considered dead (default 30 s). Pings go out
	// at 9/10 of it, so a live client always answers in time.
	PongWait time.Duration
	// StartWait is how long a client has to send its start message
	// (default 10 s): an idle socket must not hold a session slot.
	StartWait time.Duration
	// MaxMessage is the largest message read, text or binary (default
	// 64 KiB). Larger messages close the connection (1009).
	MaxMessage int
	// MaxAudioMs is the most audio one binary message may carry (default
	// 200 ms); the pipeline works in 20 ms frames and a client sending more
	// at once is not streaming in real time.
	MaxAudioMs int
	// SendQueue bounds the messages queued for a client (default 1024,
	// ~20 s of audio). A client that falls that far behind is disconnected
	// rather than allowed to stall its session or grow the server's memory.
	SendQueue int
	// MaxErrors is how many protocol errors a session tolerates before it
	// is closed (default 100).
	MaxErrors int
	// CloseGrace is how long to wait for the client's close reply before
	// dropping the connection (default 2 s).
	CloseGrace time.Duration
}

func (l Limits) withDefaults() Limits {
	set := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	set(&l.WriteWait, 10*time.Second)
	set(&l.PongWait, 30*time.Second)
	set(&l.StartWait, 10*time.Second)
	set(&l.CloseGrace, 2*time.Second)
	seti := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	seti(&l.MaxMessage, 64<<10)
	seti(&l.MaxAudioMs, 200)
	seti(&l.SendQueue, 1024)
	seti(&l.MaxErrors, 100)
	return l
}

// wsConn is one WebSocket with exactly one reader (the session's handler
// goroutine) and one writer goroutine fed by a bounded queue, after
// gorilla/websocket's chat example. Enqueueing never blocks: the session's
// event loop must not wait on a client.
type wsConn struct {
	ws     *websocket.Conn
	log    *zap.Logger
	limits Limits

	send      chan outMsg
	closing   chan struct{} // closed once a close is under way
	closeOnce sync.Once
	done      chan struct{} // closed when the writer has exited
	// closeCode is the close code the server sent (0: none yet).
	closeCode atomic.Int32
}

type outMsg struct {
	kind int // websocket.TextMessage, BinaryMessage or CloseMessage
	data []byte
	// pooled data goes back to audioBufs once written.
	pooled *[]byte
}

// audioBufs recycles the buffers of outgoing audio frames: fifty a second
// per session would otherwise be garbage, and collection pauses are what
// lengthen the tail of the server's timing under load.
var audioBufs = sync.Pool{New: func() any {
	b := make([]byte, 0, AudioHeaderSize+2*960)
	return &b
}}

func newConn(ws *websocket.Conn, log *zap.Logger, limits Limits) *wsConn {
	c := &wsConn{ws: ws, log: log, limits: limits,
		send: make(chan outMsg, limits.SendQueue), closing: make(chan struct{}), done: make(chan struct{})}
	// The reader's deadline moves on with every message and every pong.
	ws.SetPongHandler(func(string) error {
		return ws.SetReadDeadline(time.Now().Add(limits.PongWait))
	})
	return c
}

// writeLoop writes queued messages and pings until a close.
func (c *wsConn) writeLoop() {
	ping := time.NewTicker(c.limits.PongWait * 9 / 10)
	defer func() {
		ping.Stop()
		close(c.done)
	}()
	for {
		select {
		case m := <-c.send:
			if m.kind == websocket.CloseMessage {
				c.writeClose(m.data)
				return
			}
			_ = c.ws.SetWriteDeadline(time.Now().Add(c.limits.WriteWait))
			err := c.ws.WriteMessage(m.kind, m.data)
			if m.pooled != nil {
				*m.pooled = m.data[:0]
				audioBufs.Put(m.pooled)
			}
			if err != nil {
				c.log.Debug("write failed", zap.Error(err))
				c.drop()
				return
			}
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.limits.WriteWait)); err != nil {
				c.log.Debug("ping failed", zap.Error(err))
				c.drop()
				return
			}
		case <-c.closing:
			return
		}
	}
}

// enqueue queues a message for the writer. A full queue means the client
// cannot keep up: it is disconnected and enqueue reports false.
func (c *wsConn) enqueue(kind int, data []byte) bool {
	return c.enqueueMsg(outMsg{kind: kind, data: data})
}

// sendAudio queues an assistant audio frame, encoded in a pooled buffer.
func (c *wsConn) sendAudio(f pipeline.Frame) bool {
	p := audioBufs.Get().(*[]byte)
	return c.enqueueMsg(outMsg{kind: websocket.BinaryMessage, data: appendAudio((*p)[:0], f), pooled: p})
}

func (c *wsConn) enqueueMsg(m outMsg) bool {
	select {
	case <-c.closing:
		return false
	default:
	}
	select {
	case c.send <- m:
		return true
	default:
		c.log.Warn("client too slow; disconnecting", zap.Int("queued", len(c.send)))
		c.closeNow(websocket.CloseTryAgainLater, "client too slow: "+CodeSlowClient)
		return false
	}
}

// sendJSON queues a JSON message.
func (c *wsConn) sendJSON(v any) bool {
	b, err := json.Marshal(v)
	if err != nil {
		c.log.Error("encode message", zap.Error(err))
		return false
	}
	return c.enqueue(websocket.TextMessage, b)
}

// sendError queues an error event.
func (c *wsConn) sendError(code, msg string, fatal bool) bool {
	return c.sendJSON(ErrorEvent{Type: TypeError, Code: code, Message: msg, Fatal: fatal})
}

// closeAfterQueue closes the connection once the messages queued before it
// are written (e.g. a summary, then the close).
func (c *wsConn) closeAfterQueue(code int, reason string) {
	select {
	case <-c.closing:
		return
	default:
	}
	select {
	case c.send <- outMsg{kind: websocket.CloseMessage, data: closeData(code, reason)}:
	default:
		c.closeNow(code, reason)
	}
}

// closeNow sends a close frame at once, ahead of anything queued.
func (c *wsConn) closeNow(code int, reason string) {
	c.closeOnce.Do(func() {
		c.closeCode.Store(int32(code))
		close(c.closing)
		_ = c.ws.WriteControl(websocket.CloseMessage, closeData(code, reason), time.Now().Add(c.limits.WriteWait))
		c.afterClose()
	})
}

func (c *wsConn) writeClose(data []byte) {
	c.closeOnce.Do(func() {
		code, _ := parseClose(data)
		c.closeCode.Store(int32(code))
		close(c.closing)
		_ = c.ws.WriteControl(websocket.CloseMessage, data, time.Now().Add(c.limits.WriteWait))
		c.afterClose()
	})
}

// afterClose gives the client CloseGrace to answer the close frame, then
// drops the connection, which also ends a reader still waiting.
func (c *wsConn) afterClose() {
	time.AfterFunc(c.limits.CloseGrace, func() { _ = c.ws.Close() })
}

// drop closes the connection without a close frame: it is already broken.
func (c *wsConn) drop() {
	c.closeOnce.Do(func() { close(c.closing) })
	_ = c.ws.Close()
}

// closed reports whether a close is under way.
func (c *wsConn) closed() bool {
	select {
	case <-c.closing:
		return true
	default:
		return false
	}
}

// closeData formats a close frame's payload; the reason is cut to fit the
// 125-byte control frame.
func closeData(code int, reason string) []byte {
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
