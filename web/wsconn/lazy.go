package wsconn

import (
	"bufio"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// LazyDeadlines wraps c so that moving a deadline later by less than slack
// is not passed on to c. gorilla/websocket sets the write deadline before
// every frame it writes, and a reader moves its read deadline on with every
// message; at fifty 20 ms frames a second per session each move re-arms a
// runtime timer, which costs more than the frame. Wrapped, a deadline comes
// due up to slack before the time last asked for, never after it; a
// deadline moved earlier, or cleared, is passed on at once.
func LazyDeadlines(c net.Conn, slack time.Duration) net.Conn {
	return &lazyConn{Conn: c, slack: slack}
}

type lazyConn struct {
	net.Conn
	slack time.Duration

	mu     sync.Mutex
	rd, wd time.Time // what c holds
}

func (c *lazyConn) SetReadDeadline(t time.Time) error  { return c.move(true, t) }
func (c *lazyConn) SetWriteDeadline(t time.Time) error { return c.move(false, t) }

// move sets the read or the write deadline to t, unless the one held may
// stand for it.
func (c *lazyConn) move(read bool, t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	held := &c.wd
	if read {
		held = &c.rd
	}
	if c.keep(*held, t) {
		return nil
	}
	*held = t
	if read {
		return c.Conn.SetReadDeadline(t)
	}
	return c.Conn.SetWriteDeadline(t)
}

func (c *lazyConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rd, c.wd = t, t
	return c.Conn.SetDeadline(t)
}

// keep reports whether the deadline held may stand for want: both set, and
// want no earlier than held and less than slack after it.
func (c *lazyConn) keep(held, want time.Time) bool {
	return !held.IsZero() && !want.IsZero() && !want.Before(held) && want.Sub(held) < c.slack
}

// Upgrade is u.Upgrade with the hijacked connection made NonBlocking, with
// no bound of its own (Conn bounds it, message by message), and wrapped by
// LazyDeadlines, with a tenth of the shorter of the connection's waits
// (Options.WriteWait, Options.PongWait) as the slack. New takes only a
// connection upgraded here.
func Upgrade(u *websocket.Upgrader, w http.ResponseWriter, r *http.Request, h http.Header, writeWait, pongWait time.Duration) (*websocket.Conn, error) {
	return u.Upgrade(lazyHijacker{ResponseWriter: w, slack: min(writeWait, pongWait) / 10}, r, h)
}

type lazyHijacker struct {
	http.ResponseWriter
	slack time.Duration
}

func (w lazyHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	return LazyDeadlines(NonBlocking(c, 0), w.slack), brw, nil
}

// backlogOf finds the NonBlocking layer of a connection from Upgrade.
func backlogOf(c net.Conn) *nbConn {
	for {
		switch t := c.(type) {
		case *nbConn:
			return t
		case *lazyConn:
			c = t.Conn
		default:
			return nil
		}
	}
}

func (c *lazyConn) Unwrap() net.Conn { return c.Conn }
