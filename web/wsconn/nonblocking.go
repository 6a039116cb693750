package wsconn

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
)

// ErrBacklogFull is returned by a NonBlocking connection's Write once the
// peer has left more than its backlog unread.
var ErrBacklogFull = errors.New("wsconn: peer not reading: send backlog full")

// NonBlocking wraps c so that Write never waits for the peer: it writes
// what the socket takes at once and keeps the rest, in order, for a
// goroutine that writes it out as the peer reads (with c's write
// deadline), started only while there is a backlog. So a caller on a
// shared clock — a shard firing many sessions' events — is not held by one
// peer that stops reading. A Write that finds bytes already waiting and
// would take them past backlog fails with ErrBacklogFull, and so does
// every Write after it. A backlog of 0 or less sets no bound: the caller
// bounds what it writes (Conn does, per message, so that a refusal never
// leaves half a WebSocket frame on the wire).
//
// In the common case, a socket with room, a Write is one write(2) on the
// caller's goroutine, as with c itself. That needs c's descriptor
// (syscall.Conn, as *net.TCPConn has) on a Unix system. A connection
// without one — a *tls.Conn, whose Write makes TLS records and may wait —
// cannot be tried without waiting, nor can a socket elsewhere: then every Write goes to the backlog and the goroutine
// writes it out, so writes still never wait, at the cost of a goroutine
// hand-off per write.
func NonBlocking(c net.Conn, backlog int) net.Conn {
	nb := &nbConn{Conn: c, max: backlog}
	if sc, ok := c.(syscall.Conn); ok && writesRaw {
		if raw, err := sc.SyscallConn(); err == nil {
			nb.raw = raw
			nb.writeFn = nb.writeFd
		}
	}
	return nb
}

type nbConn struct {
	net.Conn
	raw syscall.RawConn // nil: no descriptor, every write goes through the backlog
	max int             // ≤ 0: no bound

	mu       sync.Mutex
	pending  []byte        // written out by the flusher, in order
	inflight int           // bytes the flusher is writing now
	flushing bool          // a flusher is running: new bytes queue behind it
	idle     chan struct{} // closed when the flusher exits, if someone waits
	err      error         // sticky
	onFail   func(error)   // told of a write the flusher could not make

	// The write(2) under way, for writeFd (under mu): raw.Write calls
	// writeFn, bound once, so that a write costs no allocation.
	wb      []byte
	wn      int
	werr    error
	writeFn func(fd uintptr) bool
}

func (c *nbConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	if c.flushing {
		if w := c.inflight + len(c.pending); c.max > 0 && w+len(b) > c.max {
			c.err = fmt.Errorf("%w (%d bytes waiting)", ErrBacklogFull, w)
			return 0, c.err
		}
		c.pending = append(c.pending, b...)
		return len(b), nil
	}
	n := 0
	if c.raw != nil {
		var err error
		if n, err = c.tryWrite(b); err != nil {
			c.err = err
			return n, err
		}
		if n == len(b) {
			return n, nil
		}
	}
	c.pending = append(c.pending[:0], b[n:]...)
	c.flushing = true
	go c.flush()
	return len(b), nil
}

// tryWrite makes one non-blocking write(2) of b; a full socket writes
// nothing and is no error. c.mu is held.
func (c *nbConn) tryWrite(b []byte) (int, error) {
	c.wb = b
	err := c.raw.Write(c.writeFn)
	n, werr := c.wn, c.werr
	c.wb, c.werr = nil, nil
	if err != nil {
		return 0, err
	}
	if werr == syscall.EAGAIN {
		return 0, nil
	}
	if werr != nil {
		return 0, &net.OpError{Op: "write", Net: "tcp", Addr: c.RemoteAddr(), Err: werr}
	}
	return max(n, 0), nil
}

// writeFd writes c.wb to fd once, never waiting: done, or would block.
func (c *nbConn) writeFd(fd uintptr) bool {
	for {
		c.wn, c.werr = writeOnce(fd, c.wb)
		if c.werr != syscall.EINTR {
			return true
		}
	}
}

// keptBacklog is the most backlog capacity kept once the backlog is
// written out: a burst should not hold its memory for the connection's
// life.
const keptBacklog = 64 << 10

// flush writes the backlog out with blocking writes until it is empty or a
// write fails.
func (c *nbConn) flush() {
	var buf []byte
	var failed error
	c.mu.Lock()
	for c.err == nil && len(c.pending) > 0 {
		buf, c.pending = c.pending, buf[:0]
		c.inflight = len(buf)
		c.mu.Unlock()
		_, err := c.Conn.Write(buf)
		c.mu.Lock()
		c.inflight = 0
		if err != nil && c.err == nil {
			c.err, failed = err, err
		}
	}
	if c.err == nil && len(c.pending) == 0 {
		c.pending = buf[:0] // written out: the next backlog reuses it
	}
	if c.err != nil || cap(c.pending) > keptBacklog {
		c.pending = nil // nothing more will be written, or a burst's memory
	}
	c.flushing = false
	if c.idle != nil {
		close(c.idle)
		c.idle = nil
	}
	onFail := c.onFail
	c.mu.Unlock()
	if failed != nil && onFail != nil {
		onFail(failed)
	}
}

// notify has f called, on the flusher's goroutine, when a write of the
// backlog fails: the peer took nothing until the write deadline, or the
// connection broke. Nobody may be writing to find out (a Write would
// return the error).
func (c *nbConn) notify(f func(error)) {
	c.mu.Lock()
	c.onFail = f
	c.mu.Unlock()
}

// waiting returns the bytes written but not yet taken by the socket.
func (c *nbConn) waiting() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.inflight + len(c.pending)
}

// drained returns a channel closed once nothing waits: at once if nothing
// does, else when the flusher has written the backlog out or failed.
func (c *nbConn) drained() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.flushing {
		return closedChan
	}
	if c.idle == nil {
		c.idle = make(chan struct{})
	}
	return c.idle
}

var closedChan = func() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}()

// Close closes c; writes fail from then on, and a flusher stuck writing
// to a peer that does not read returns.
func (c *nbConn) Close() error {
	c.mu.Lock()
	if c.err == nil {
		c.err = net.ErrClosed
	}
	c.mu.Unlock()
	return c.Conn.Close()
}

func (c *nbConn) Unwrap() net.Conn { return c.Conn }
