package wsconn

import (
	"net"
	"syscall"
)

// Socket returns c's socket, if reading it directly reads the WebSocket's
// bytes: a plain TCP connection under wsconn's own wrappers, on a system
// where a pace lane can watch it (see ReadSocket). A TLS connection has a
// socket too, but of ciphertext; it gets nil, as does anything else.
func Socket(c net.Conn) syscall.RawConn {
	if !socketsWatchable {
		return nil
	}
	tc, ok := Unwrap(c).(*net.TCPConn)
	if !ok {
		return nil
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	return raw
}

// Unwrap returns the connection beneath wsconn's wrappers (LazyDeadlines,
// NonBlocking).
func Unwrap(c net.Conn) net.Conn {
	for {
		u, ok := c.(interface{ Unwrap() net.Conn })
		if !ok {
			return c
		}
		c = u.Unwrap()
	}
}
