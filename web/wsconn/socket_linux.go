//go:build linux

package wsconn

import (
	"errors"
	"io"
	"sync"
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

// drainBufs hold one read for the length of its handling: the caller's fn
// keeps what it needs of it (a parser, the part of a split frame).
var drainBufs = sync.Pool{New: func() any {
	b := make([]byte, 16<<10)
	return &b
}}

// Drain reads what the socket holds, handing each read to fn, until the
// socket would block (nil), fn fails (its error), or the stream ends
// (io.EOF) or fails. A read that does not fill the buffer most likely
// emptied the socket, so Drain returns then; if bytes came meanwhile, a
// level-triggered watch reports the socket again.
func (r *SocketReader) Drain(fn func([]byte) error) error {
	bp := drainBufs.Get().(*[]byte)
	defer drainBufs.Put(bp)
	buf := *bp
	for {
		n, err := r.Read(buf)
		switch {
		case errors.Is(err, syscall.EAGAIN):
			return nil
		case err != nil:
			return err
		case n == 0:
			return io.EOF
		}
		if err := fn(buf[:n]); err != nil {
			return err
		}
		if n < len(buf) {
			return nil
		}
	}
}
