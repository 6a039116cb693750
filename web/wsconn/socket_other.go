//go:build !linux

package wsconn

import (
	"errors"
	"syscall"
	"time"
)

// socketsWatchable: pace lanes watch descriptors on Linux only.
const socketsWatchable = false

// SocketReader is not supported here: Socket returns nil.
type SocketReader struct{}

// NewSocketReader returns a reader that fails.
func NewSocketReader(syscall.RawConn) *SocketReader { return &SocketReader{} }

// Read fails: Socket returns nil here, so nothing reads a socket this way.
func (*SocketReader) Read([]byte) (int, error) {
	return 0, errors.New("wsconn: reading a socket from a lane is not supported here")
}

// Arrived is the zero Time: nothing is read.
func (*SocketReader) Arrived() time.Time { return time.Time{} }

// Drain fails, as Read does.
func (r *SocketReader) Drain(func([]byte) error) error {
	_, err := r.Read(nil)
	return err
}
