//go:build linux

package wsconn

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// socketsWatchable: pace lanes watch descriptors on Linux.
const socketsWatchable = true

// SocketReader makes non-blocking reads of a socket (see Socket), for a
// reader woken by readiness (pace.Lane.Watch) rather than one that waits.
// It is for one goroutine at a time, and allocates nothing per read.
type SocketReader struct {
	raw syscall.RawConn
	fn  func(uintptr) // read, bound once
	buf []byte
	n   int
	err error
}

// NewSocketReader returns a reader of raw.
func NewSocketReader(raw syscall.RawConn) *SocketReader {
	r := &SocketReader{raw: raw}
	r.fn = r.read
	return r
}

// Read makes one read(2) into buf: syscall.EAGAIN when there is nothing
// to read, 0 bytes and no error at the end of the stream. The descriptor
// is held open for the call (RawConn.Control), so a connection closed
// meanwhile fails the read rather than reading another's socket.
func (r *SocketReader) Read(buf []byte) (int, error) {
	r.buf, r.n, r.err = buf, 0, nil
	err := r.raw.Control(r.fn)
	r.buf = nil
	if err != nil {
		return 0, err
	}
	return max(r.n, 0), r.err
}

func (r *SocketReader) read(fd uintptr) {
	for {
		r.n, r.err = unix.Read(int(fd), r.buf)
		if r.err != unix.EINTR {
			return
		}
	}
}
