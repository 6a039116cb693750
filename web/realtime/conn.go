package realtime

import (
	"encoding/json"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/zap"
)

// conn is one WebSocket with exactly one reader (the handler goroutine) and
// one writer goroutine fed by a bounded queue. Enqueueing never blocks: the
// session's loop must not wait on a client. A client that lets the queue
// fill is disconnected.
type conn struct {
	ws   *websocket.Conn
	log  *zap.Logger
	lim  Limits
	send chan outMsg

	closing   chan struct{} // closed once a close is under way
	closeOnce sync.Once
	done      chan struct{} // closed when the writer has exited
}

type outMsg struct {
	close bool // data is a close frame's payload
	data  []byte
}

func newConn(ws *websocket.Conn, log *zap.Logger, lim Limits) *conn {
	c := &conn{ws: ws, log: log, lim: lim, send: make(chan outMsg, lim.SendQueue),
		closing: make(chan struct{}), done: make(chan struct{})}
	ws.SetPongHandler(func(string) error { return ws.SetReadDeadline(time.Now().Add(lim.PongWait)) })
	return c
}

// writeLoop writes queued messages and pings until a close.
func (c *conn) writeLoop() {
	ping := time.NewTicker(c.lim.PongWait * 9 / 10)
	defer func() {
		ping.Stop()
		close(c.done)
	}()
	for {
		select {
		case m := <-c.send:
			if m.close {
				c.closeWith(m.data)
				return
			}
			_ = c.ws.SetWriteDeadline(time.Now().Add(c.lim.WriteWait))
			if err := c.ws.WriteMessage(websocket.TextMessage, m.data); err != nil {
				c.log.Debug("realtime write failed", zap.Error(err))
				c.drop()
				return
			}
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.lim.WriteWait)); err != nil {
				c.log.Debug("realtime ping failed", zap.Error(err))
				c.drop()
				return
			}
		case <-c.closing:
			return
		}
	}
}

// sendJSON queues an event. It reports false if the connection is closing
// or the client is too slow (which closes it).
func (c *conn) sendJSON(v any) bool {
	b, err := json.Marshal(v)
	if err != nil {
		c.log.Error("realtime encode event", zap.Error(err))
		return false
	}
	select {
	case <-c.closing:
		return false
	default:
	}
	select {
	case c.send <- outMsg{data: b}:
		return true
	default:
		c.log.Warn("realtime client too slow; disconnecting", zap.Int("queued", len(c.send)))
		c.closeNow(websocket.CloseTryAgainLater, "client too slow: "+codeSlowClient)
		return false
	}
}

// closeAfterQueue closes once the events queued before it are written.
func (c *conn) closeAfterQueue(code int, reason string) {
	select {
	case <-c.closing:
		return
	case c.send <- outMsg{close: true, data: closeData(code, reason)}:
	default:
		c.closeNow(code, reason)
	}
}

// closeNow sends a close frame at once, ahead of anything queued.
func (c *conn) closeNow(code int, reason string) { c.closeWith(closeData(code, reason)) }

func (c *conn) closeWith(data []byte) {
	c.closeOnce.Do(func() {
		close(c.closing)
		_ = c.ws.WriteControl(websocket.CloseMessage, data, time.Now().Add(c.lim.WriteWait))
		// Give the client CloseGrace to answer, then drop the connection,
		// which also ends a reader still waiting.
		time.AfterFunc(c.lim.CloseGrace, func() { _ = c.ws.Close() })
	})
}

// drop closes the connection without a close frame: it is already broken.
func (c *conn) drop() {
	c.closeOnce.Do(func() { close(c.closing) })
	_ = c.ws.Close()
}

func (c *conn) closed() bool {
	select {
	case <-c.closing:
		return true
	default:
		return false
	}
}

// closeData formats a close frame's payload, cut to the 125-byte limit.
func closeData(code int, reason string) []byte {
	if len(reason) > 120 {
		reason = reason[:120]
	}
	return websocket.FormatCloseMessage(code, reason)
}
