package pace

import "time"

// forever: an alarm this far off is no alarm.
const forever = never / 2

// timerWaker sleeps on a Go timer: where there is no timerfd, or it cannot
// be polled.
type timerWaker struct {
	t      *time.Timer
	done   chan struct{}
	closed bool
}

func newTimerWaker() waker {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &timerWaker{t: t, done: make(chan struct{})}
}

func (w *timerWaker) arm(d time.Duration) {
	if w.closed {
		return
	}
	if d >= forever {
		w.t.Stop()
		return
	}
	w.t.Reset(max(d, 0))
}

func (w *timerWaker) wait() ([]int32, bool) {
	select {
	case <-w.t.C:
		return nil, true
	case <-w.done:
		return nil, false
	}
}

func (w *timerWaker) poll() ([]int32, bool) {
	select {
	case <-w.done:
		return nil, false
	default:
		return nil, true
	}
}

func (w *timerWaker) watch(int) error { return ErrWatchUnsupported }
func (w *timerWaker) unwatch(int)     {}

func (w *timerWaker) close() {
	if !w.closed {
		w.closed = true
		w.t.Stop()
		close(w.done)
	}
}
