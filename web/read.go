package web

import (
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
	"github.com/voicesim/voicesim/web/wsconn"
	"github.com/voicesim/voicesim/web/wsframe"
	"go.uber.org/zap"
)

// How a session reads its client. wsframe parses frames from whatever
// bytes arrive, fed by one of two drivers:
//
//   - the handler goroutine, with blocking reads: until the session has
//     started (its lane exists), and for good on a TLS connection or where
//     the scheduler cannot watch sockets;
//   - the session's lane: once started on a plain TCP socket (Linux), the
//     lane's shard watches the socket and reads it in its own wakeups
//     (pace.Lane.Watch), so a 20 ms frame costs no goroutine hand-off —
//     under load, those hand-offs were the server's timing tail. The
//     handler goroutine then only waits for the end.
//
// Either way messages are handled as before; gorilla/websocket does the
// upgrade and the writing, and never reads.
type reader struct {
	p       *wsframe.Parser
	buf     []byte          // the goroutine driver's reads
	raw     syscall.RawConn // the socket, if the lane may read it; nil if not
	sock    *wsconn.SocketReader
	onBytes func([]byte) error // bytesRead, bound once

	// The rest is the lane driver's, in the lane.
	inLane   bool          // the lane reads: input runs in it directly
	dead     error         // the parser's error: bytes are discarded until the client goes
	heard    time.Duration // lane time of the last bytes read
	closedAt time.Duration // lane time the close was first seen under way; -1: not yet
	over     bool
	done     chan struct{} // closed when the lane has stopped reading
	laneGone chan struct{} // closed if the lane stops while it reads (a panic)
}

// watchdogEvery is how often a lane that reads its socket looks for a
// client gone silent, or one that leaves a close unanswered.
const watchdogEvery = 250 * time.Millisecond

func (l *live) initReader() {
	l.rd = reader{
		p:        wsframe.NewParser(wsframe.Options{Masked: true, MaxMessage: l.srv.cfg.Limits.MaxMessage}),
		buf:      make([]byte, 4096),
		closedAt: -1,
		done:     make(chan struct{}),
		laneGone: make(chan struct{}),
	}
	if !l.srv.cfg.ReadOnGoroutines {
		l.rd.raw = wsconn.Socket(l.c.WS().NetConn())
	}
	l.onMessage = l.message
	l.rd.onBytes = l.bytesRead
}

// read reads the client until the connection ends: on this goroutine, or
// by the lane once it has taken over.
func (l *live) read() {
	if !l.readOnGoroutine() {
		return
	}
	select {
	case <-l.rd.done:
	case <-l.rd.laneGone:
		// The lane stopped on a panic, mid-read: the parser's state is
		// not to be trusted. Discard until the client goes (the close
		// grace ends it), so the error and the close are written first.
		discard(l.c.WS().NetConn())
	}
}

// readOnGoroutine reads on the caller's goroutine. It returns false when
// the connection has ended, true when the session's lane has taken over.
func (l *live) readOnGoroutine() bool {
	conn := l.c.WS().NetConn()
	for {
		_ = conn.SetReadDeadline(time.Now().Add(l.srv.cfg.Limits.PongWait))
		n, err := conn.Read(l.rd.buf)
		if n > 0 && l.feed(l.rd.buf[:n]) {
			return false
		}
		if err != nil {
			l.readEnded(err)
			return false
		}
		if l.handOver() {
			return true
		}
	}
}

// handOver passes reading to the lane, once the session has started on a
// socket its shard can watch.
func (l *live) handOver() bool {
	if l.rd.raw == nil || !l.started.Load() || l.c.Closed() || l.rd.dead != nil {
		return false
	}
	fd := -1
	if err := l.rd.raw.Control(func(u uintptr) { fd = int(u) }); err != nil {
		l.rd.raw = nil
		return false
	}
	_ = l.c.WS().NetConn().SetReadDeadline(time.Time{}) // the watchdog keeps time now
	if !l.lane.Do(func() {
		l.rd.inLane, l.rd.heard = true, l.lane.Now()
		l.s.AfterFunc(watchdogEvery, l.watchdog)
	}) {
		return false
	}
	l.rd.sock = wsconn.NewSocketReader(l.rd.raw)
	if err := l.lane.Watch(fd, l.readReady); err != nil {
		l.log.Debug("socket not watchable; reading on a goroutine", zap.Error(err))
		l.rd.raw = nil
		l.lane.Do(func() { l.rd.inLane = false })
		return false
	}
	return true
}

// readReady reads what the socket holds, in the lane (the shard found it
// readable), before the lane runs to now (pace.Lane.Watch).
func (l *live) readReady() {
	if l.rd.over {
		return
	}
	l.rd.heard = l.lane.Now()
	switch err := l.rd.sock.Drain(l.rd.onBytes); {
	case err == nil:
	case errors.Is(err, errReadOver):
		l.stopReading(nil)
	default:
		l.lane.Arrived(time.Time{}) // the end is seen now
		l.stopReading(err)
	}
}

// errReadOver: the client's close frame has come.
var errReadOver = errors.New("client closed")

// bytesRead handles what the lane read (Drain's fn, bound once as
// reader.onBytes) at the instant its bytes reached the socket, which a
// busy shard may read milliseconds later: a frame's audio enters the
// session, and its simulated latencies start, when it came, so the
// server's own read delay is not added to what the user hears.
func (l *live) bytesRead(b []byte) error {
	l.lane.Arrived(l.rd.sock.Arrived())
	if l.feed(b) {
		return errReadOver
	}
	return nil
}

// watchdog, in the lane while it reads, closes a client silent past
// PongWait (pings go out at 9/10 of it, so a live client has answered),
// and stops reading once a close has gone CloseGrace unanswered.
func (l *live) watchdog() {
	if !l.rd.inLane || l.rd.over {
		return
	}
	lim := l.srv.cfg.Limits
	now := l.lane.Now()
	switch {
	case l.c.Closed():
		if l.rd.closedAt < 0 {
			l.rd.closedAt = now
		}
		if now-l.rd.closedAt >= lim.CloseGrace {
			l.stopReading(nil)
			return
		}
	case now-l.rd.heard >= lim.PongWait:
		l.log.Info("client silent past the read deadline; closing", zap.Duration("pong_wait", lim.PongWait))
		l.c.Close(websocket.CloseGoingAway, "no message or pong within the read deadline")
		l.rd.closedAt = now
	}
	l.s.AfterFunc(watchdogEvery, l.watchdog)
}

// stopReading ends the lane's reading and lets the handler goroutine
// finish the session.
func (l *live) stopReading(err error) {
	if l.rd.over {
		return
	}
	l.rd.over = true
	l.lane.Unwatch()
	if err != nil {
		l.readEnded(err)
	}
	close(l.rd.done)
}

// feed parses bytes read and handles the messages in them. It reports
// true once the client's close frame has come: reading is over.
func (l *live) feed(b []byte) bool {
	if l.rd.dead != nil {
		return false // discarding until the client goes
	}
	err := l.rd.p.Feed(b, l.onMessage)
	var ce *websocket.CloseError
	var pe *wsframe.ProtocolError
	switch {
	case err == nil:
		return false
	case errors.As(err, &ce):
		l.log.Debug("client closed", zap.Int("code", ce.Code), zap.String("reason", ce.Text))
		return true
	case errors.As(err, &pe) && pe.Code == websocket.CloseMessageTooBig:
		max := l.srv.cfg.Limits.MaxMessage
		l.log.Info("message too large; closing", zap.Int("limit", max))
		msg := fmt.Sprintf("message larger than %d bytes", max)
		l.c.sendError(CodeMessageTooLarge, msg, true)
		l.c.Close(websocket.CloseMessageTooBig, msg)
	case errors.As(err, &pe):
		l.log.Info("websocket protocol error; closing", zap.Int("code", pe.Code), zap.String("reason", pe.Reason))
		l.c.Close(pe.Code, pe.Reason)
	default:
		l.log.Error("read failed", zap.Error(err))
		l.c.Close(websocket.CloseInternalServerErr, "internal error")
	}
	l.rd.dead = err
	return false
}

// message acts on one frame: control frames as gorilla/websocket's default
// handlers do, data messages by the session's protocol (until a close is
// under way: then the client is only waited for).
func (l *live) message(m wsframe.Message) error {
	switch m.Op {
	case wsframe.Ping:
		l.c.Send(websocket.PongMessage, m.Data)
		return nil
	case wsframe.Pong:
		return nil
	case wsframe.Close:
		code, reason := wsframe.CloseCode(m.Data)
		l.c.AnswerClose(code) // a no-op if our own close went first
		return &websocket.CloseError{Code: code, Text: reason}
	}
	if l.c.Closed() {
		return nil
	}
	l.handle(int(m.Op), m.Data)
	return nil
}

// readEnded logs why reading stopped, and closes a client gone silent.
func (l *live) readEnded(err error) {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		l.log.Info("client silent past the read deadline; closing", zap.Duration("pong_wait", l.srv.cfg.Limits.PongWait))
		l.c.Close(websocket.CloseGoingAway, "no message or pong within the read deadline")
	case errors.Is(err, io.EOF) || l.c.Closed():
		l.log.Debug("connection closed", zap.Error(err))
	default:
		l.log.Info("read failed", zap.Error(err))
	}
}

// discard reads until the connection fails.
func discard(c net.Conn) { _, _ = io.Copy(io.Discard, c) }
