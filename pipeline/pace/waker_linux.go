//go:build linux

package pace

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// epollWaker sleeps on an epoll set holding a timerfd and the lanes'
// watched descriptors. The set itself is polled through Go's netpoller
// (an epoll descriptor is readable while any of its members is ready), with
// a runtime read deadline at the timer's instant (see the package comment):
// whichever notices first wakes the shard, and one wakeup serves every
// socket and timer that is ready.
type epollWaker struct {
	ep     int
	f      *os.File // ep, for the netpoller
	rc     syscall.RawConn
	tfd    int
	events [128]unix.EpollEvent
	ready  []int32
	buf    [8]byte
	closed bool
	// take, bound once for the file's Control and Read, so a wait
	// allocates nothing; n is what it took.
	takeFn func(uintptr)
	waitFn func(uintptr) bool
	n      int
}

func newWaker() (waker, error) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	tfd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		_ = unix.Close(ep)
		return nil, fmt.Errorf("timerfd_create: %w", err)
	}
	w := &epollWaker{ep: ep, tfd: tfd}
	w.takeFn = func(uintptr) { w.n = w.take() }
	w.waitFn = func(uintptr) bool { w.n = w.take(); return w.n > 0 }
	fail := func(what string, err error) (waker, error) {
		_ = unix.Close(tfd)
		if w.f != nil {
			_ = w.f.Close()
		} else {
			_ = unix.Close(ep)
		}
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(tfd)}
	if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, tfd, &ev); err != nil {
		return fail("epoll_ctl timerfd", err)
	}
	if err := unix.SetNonblock(ep, true); err != nil {
		return fail("epoll set non-blocking", err)
	}
	w.f = os.NewFile(uintptr(ep), "pace-epoll")
	// A file the netpoller cannot watch has no deadlines.
	if err := w.f.SetReadDeadline(time.Time{}); err != nil {
		return fail("epoll is not pollable", err)
	}
	if w.rc, err = w.f.SyscallConn(); err != nil {
		return fail("epoll raw conn", err)
	}
	return w, nil
}

func (w *epollWaker) arm(d time.Duration) {
	if w.closed {
		return
	}
	if d >= forever {
		_ = unix.TimerfdSettime(w.tfd, 0, &unix.ItimerSpec{}, nil)
		_ = w.f.SetReadDeadline(time.Time{})
		return
	}
	d = max(d, 1) // a zero it_value would disarm the timer
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}
	_ = unix.TimerfdSettime(w.tfd, 0, &spec, nil)
	_ = w.f.SetReadDeadline(time.Now().Add(d))
}

// poll takes whatever the set has ready, without sleeping. It looks
// through the file's Control, which holds the descriptor open meanwhile: a
// closed set's number may already be another shard's.
func (w *epollWaker) poll() ([]int32, bool) {
	w.n = 0
	if err := w.rc.Control(w.takeFn); err != nil {
		w.closeTimer()
		return nil, false
	}
	return w.collect(w.n), true
}

// wait is poll, sleeping in the netpoller only when nothing is ready: no
// event is lost between a look and a sleep, because the netpoller's own
// registration of the set is edge-triggered and remembers a wakeup that
// came in between.
func (w *epollWaker) wait() ([]int32, bool) {
	if ready, ok := w.poll(); !ok || len(ready) > 0 {
		return ready, ok
	}
	w.n = 0
	err := w.rc.Read(w.waitFn)
	if errors.Is(err, os.ErrClosed) {
		w.closeTimer()
		return nil, false
	}
	return w.collect(w.n), true // err: the deadline, the timer's backstop
}

// take reads up to len(events) ready descriptors into events.
func (w *epollWaker) take() int {
	for {
		n, err := unix.EpollWait(w.ep, w.events[:], 0)
		if err != unix.EINTR {
			return max(n, 0)
		}
	}
}

// collect lists the sockets among the first n events; the timerfd is
// cleared (the shard's heap, not the timer, says which lanes are due).
func (w *epollWaker) collect(n int) []int32 {
	w.ready = w.ready[:0]
	for _, ev := range w.events[:n] {
		if ev.Fd == int32(w.tfd) { // never a socket's: the timerfd is open while the set is
			_, _ = unix.Read(w.tfd, w.buf[:])
			continue
		}
		w.ready = append(w.ready, ev.Fd)
	}
	return w.ready
}

// watch adds fd, level-triggered: a lane that leaves bytes unread is told
// again at the next wait.
func (w *epollWaker) watch(fd int) error {
	if w.closed {
		return errWakerClosed
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(fd)}
	if err := unix.EpollCtl(w.ep, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return fmt.Errorf("pace: watch descriptor %d: %w", fd, err)
	}
	return nil
}

func (w *epollWaker) unwatch(fd int) {
	if w.closed {
		return // the set is gone, and its number may be another's by now
	}
	// ENOENT or EBADF: already gone with its descriptor.
	_ = unix.EpollCtl(w.ep, unix.EPOLL_CTL_DEL, fd, nil)
}

// close closes the set; the shard's goroutine, which reads the timerfd,
// closes that when it sees the set gone.
func (w *epollWaker) close() {
	if !w.closed {
		w.closed = true
		_ = w.f.Close()
	}
}

func (w *epollWaker) closeTimer() {
	if w.tfd >= 0 {
		_ = unix.Close(w.tfd)
		w.tfd = -1
	}
}
