//go:build linux

package wsconn

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// socketsWatchable: pace lanes watch descriptors on Linux.
const socketsWatchable = true

// ReadSocket makes one non-blocking read(2) of raw into buf: syscall.EAGAIN
// when there is nothing to read, 0 bytes and no error at the end of the
// stream. For a reader woken by readiness (pace.Lane.Watch), not one that
// waits.
func ReadSocket(raw syscall.RawConn, buf []byte) (int, error) {
	var n int
	var rerr error
	err := raw.Control(func(fd uintptr) {
		for {
			n, rerr = unix.Read(int(fd), buf)
			if rerr != unix.EINTR {
				return
			}
		}
	})
	if err != nil {
		return 0, err
	}
	return max(n, 0), rerr
}
