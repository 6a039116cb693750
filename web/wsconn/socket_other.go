//go:build !linux

package wsconn

import (
	"errors"
	"syscall"
)

// socketsWatchable: pace lanes watch descriptors on Linux only.
const socketsWatchable = false

// ReadSocket is not supported here: Socket returns nil.
func ReadSocket(syscall.RawConn, []byte) (int, error) {
	return 0, errors.New("wsconn: reading a socket from a lane is not supported here")
}
