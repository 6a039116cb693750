//go:build linux

package wsconn

import (
	"errors"
	"io"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// socketsWatchable: pace lanes watch descriptors on Linux.
const socketsWatchable = true

// SocketReader makes non-blocking reads of a socket (see Socket), for a
// reader woken by readiness (pace.Lane.Watch) rather than one that waits.
// It asks the kernel to stamp what the socket receives (SO_TIMESTAMPNS),
// so a reader that gets to its socket late still knows when the bytes
// came (Arrived). It is for one goroutine at a time, and allocates
// nothing per read.
type SocketReader struct {
	raw     syscall.RawConn
	fn      func(uintptr) // read, bound once
	buf     []byte
	n       int
	err     error
	arrived time.Time

	// recvmsg(2)'s arguments, kept here so that passing them to the
	// kernel allocates nothing.
	msg unix.Msghdr
	iov unix.Iovec
	oob [64]byte
}

// NewSocketReader returns a reader of raw. If the kernel will not stamp
// the socket's input, Arrived is the zero Time.
func NewSocketReader(raw syscall.RawConn) *SocketReader {
	r := &SocketReader{raw: raw}
	r.fn = r.read
	r.msg.Iov, r.msg.Control = &r.iov, &r.oob[0]
	r.msg.SetIovlen(1)
	_ = raw.Control(func(fd uintptr) {
		_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	})
	return r
}

// Read makes one read of the socket into buf: syscall.EAGAIN when there
// is nothing to read, 0 bytes and no error at the end of the stream. The
// descriptor is held open for the call (RawConn.Control), so a connection
// closed meanwhile fails the read rather than reading another's socket.
func (r *SocketReader) Read(buf []byte) (int, error) {
	r.buf, r.n, r.err = buf, 0, nil
	err := r.raw.Control(r.fn)
	r.buf = nil
	if err != nil {
		return 0, err
	}
	return max(r.n, 0), r.err
}

// Arrived is when the last byte of the last read reached the socket, as
// the kernel stamped it (the zero Time if it did not): a read that takes
// several writes' bytes at once gets the latest one's instant.
func (r *SocketReader) Arrived() time.Time { return r.arrived }

// read is recvmsg(2) with room for the receive timestamp.
func (r *SocketReader) read(fd uintptr) {
	r.arrived = time.Time{}
	if len(r.buf) == 0 {
		return
	}
	r.iov.Base = &r.buf[0]
	r.iov.SetLen(len(r.buf))
	defer func() { r.iov.Base = nil }() // not to keep the caller's buffer
	for {
		r.msg.SetControllen(len(r.oob)) // the kernel sets it to what it wrote
		n, _, errno := unix.Syscall(unix.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&r.msg)), 0)
		switch errno {
		case unix.EINTR:
			continue
		case 0:
			r.n, r.err = int(n), nil
			r.arrived = receiveStamp(r.oob[:min(int(r.msg.Controllen), len(r.oob))])
		default:
			r.n, r.err = -1, errno
		}
		return
	}
}

// receiveStamp finds the SCM_TIMESTAMPNS message among a recvmsg's
// control messages.
func receiveStamp(oob []byte) time.Time {
	for len(oob) >= unix.CmsgLen(0) {
		h, data, rest, err := unix.ParseOneSocketControlMessage(oob)
		if err != nil {
			return time.Time{}
		}
		if h.Level == unix.SOL_SOCKET && h.Type == unix.SCM_TIMESTAMPNS && len(data) >= int(unsafe.Sizeof(unix.Timespec{})) {
			ts := (*unix.Timespec)(unsafe.Pointer(&data[0]))
			return time.Unix(ts.Unix())
		}
		oob = rest
	}
	return time.Time{}
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
