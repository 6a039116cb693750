//go:build !unix

package wsconn

import "errors"

// writesRaw: elsewhere (Windows sockets are written through overlapped
// I/O) NonBlocking treats every connection as it treats TLS: writes go to
// the backlog, and a goroutine writes them out.
const writesRaw = false

func writeOnce(uintptr, []byte) (int, error) {
	return 0, errors.New("wsconn: raw socket writes are not supported here")
}
