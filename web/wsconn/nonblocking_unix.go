//go:build unix

package wsconn

import "syscall"

// writesRaw: a socket's descriptor can be written without waiting.
const writesRaw = true

// writeOnce is one write(2) of b to fd.
func writeOnce(fd uintptr, b []byte) (int, error) { return syscall.Write(int(fd), b) }
