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
// peer that stops reading; once more than backlog bytes wait, Write fails
// with ErrBacklogFull and so does every Write after it.
//
// In the common case, a socket with room, a Write is one write(2) on the
// caller's goroutine, as with c itself. c must expose its descriptor
// (syscall.Conn, as *net.TCPConn does); otherwise c is returned as it is.
func NonBlocking(c net.Conn, backlog int) net.Conn {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return c
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return c
	}
	return &nbConn{Conn: c, raw: raw, max: backlog}
}

type nbConn struct {
	net.Conn
	raw syscall.RawConn
	max int

	mu       sync.Mutex
	pending  []byte // written out by the flusher, in order
	flushing bool   // a flusher is running: new bytes queue behind it
	err      error  // sticky
}

func (c *nbConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	if !c.flushing {
		n, err := c.tryWrite(b)
		if err != nil {
			c.err = err
			return n, err
		}
		if n == len(b) {
			return n, nil
		}
		c.pending = append(c.pending[:0], b[n:]...)
		c.flushing = true
		go c.flush()
		return len(b), nil
	}
	if len(c.pending)+len(b) > c.max {
		c.err = fmt.Errorf("%w (%d bytes waiting)", ErrBacklogFull, len(c.pending))
		return 0, c.err
	}
	c.pending = append(c.pending, b...)
	return len(b), nil
}

// tryWrite makes one non-blocking write(2) of b; a full socket writes
// nothing and is no error.
func (c *nbConn) tryWrite(b []byte) (int, error) {
	var n int
	var werr error
	err := c.raw.Write(func(fd uintptr) bool {
		for {
			n, werr = syscall.Write(int(fd), b)
			if werr != syscall.EINTR {
				return true // done, or would block: never wait here
			}
		}
	})
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

// flush writes the backlog out with blocking writes until it is empty or a
// write fails.
func (c *nbConn) flush() {
	var buf []byte
	for {
		c.mu.Lock()
		if len(c.pending) == 0 || c.err != nil {
			c.flushing = false
			c.mu.Unlock()
			return
		}
		buf, c.pending = c.pending, buf[:0]
		c.mu.Unlock()
		if _, err := c.Conn.Write(buf); err != nil {
			c.mu.Lock()
			c.err = err
			c.flushing = false
			c.mu.Unlock()
			return
		}
	}
}

func (c *nbConn) Unwrap() net.Conn { return c.Conn }
