//go:build linux

package pace

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// fdWaker sleeps on a timerfd read through Go's netpoller, with a runtime
// read deadline at the same instant (see the package comment): whichever
// notices first wakes the shard.
type fdWaker struct {
	fd     int
	f      *os.File
	buf    [8]byte
	closed bool
}

func newWaker() (waker, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("timerfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "pace-timerfd")
	// A file the netpoller cannot watch has no deadlines.
	if err := f.SetReadDeadline(time.Time{}); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("timerfd is not pollable: %w", err)
	}
	return &fdWaker{fd: fd, f: f}, nil
}

func (w *fdWaker) arm(d time.Duration) {
	if w.closed {
		return
	}
	if d >= forever {
		_ = unix.TimerfdSettime(w.fd, 0, &unix.ItimerSpec{}, nil)
		_ = w.f.SetReadDeadline(time.Time{})
		return
	}
	d = max(d, 1) // a zero it_value would disarm the timer
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}
	_ = unix.TimerfdSettime(w.fd, 0, &spec, nil)
	_ = w.f.SetReadDeadline(time.Now().Add(d))
}

func (w *fdWaker) wait() bool {
	_, err := w.f.Read(w.buf[:])
	return !errors.Is(err, os.ErrClosed)
}

func (w *fdWaker) close() {
	if !w.closed {
		w.closed = true
		_ = w.f.Close()
	}
}
