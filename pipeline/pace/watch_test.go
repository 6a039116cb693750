//go:build linux

package pace

import (
	"errors"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// pipe returns a pipe whose read end is watched; the test closes both.
func pipe(t *testing.T) (r, w *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close(); _ = w.Close() })
	return r, w
}

// readSome reads at most n bytes from the watched descriptor without
// waiting, as a lane's ready does.
func readSome(t *testing.T, f *os.File, n int) int {
	var got int
	rc, err := f.SyscallConn()
	if err != nil {
		t.Error(err)
		return 0
	}
	_ = rc.Read(func(fd uintptr) bool {
		buf := make([]byte, n)
		got, _ = readFD(int(fd), buf)
		return true
	})
	return max(got, 0)
}

func fdOf(t *testing.T, f *os.File) int {
	t.Helper()
	var fd int
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Control(func(u uintptr) { fd = int(u) }); err != nil {
		t.Fatal(err)
	}
	return fd
}

// holdShard holds the only shard of s in another lane's event until the
// returned channel is closed (by the test, or at its end).
func holdShard(t *testing.T, s *Scheduler) (release chan struct{}) {
	t.Helper()
	blocker := s.NewLane(nil)
	held, release := make(chan struct{}), make(chan struct{})
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release) // the test failed while holding
		}
		blocker.Stop()
	})
	blocker.Do(func() {
		blocker.Clock().AfterFunc(0, func() {
			close(held)
			<-release
		})
	})
	await(t, held, "the blocking event")
	return release
}

// TestWatchReadsInTheLane: ready runs inside the lane, after the events
// due once it says its input is from now (Arrived with no instant), and
// again for as long as bytes are left unread (level-triggered).
func TestWatchReadsInTheLane(t *testing.T) {
	s := New(1)
	l := s.NewLane(nil)
	defer l.Stop()
	r, w := pipe(t)
	// Hold the shard while an event of l comes due and its input arrives,
	// so both are found in the same wakeup.
	release := holdShard(t, s)
	var eventRan, sawEvent bool
	l.Do(func() { l.Clock().AfterFunc(0, func() { eventRan = true }) })
	total, calls := 0, 0
	done := make(chan struct{})
	err := l.Watch(fdOf(t, r), func() {
		l.Arrived(time.Time{})
		if calls == 0 {
			sawEvent = eventRan // no race: the lane is locked
		}
		calls++
		total += readSome(t, r, 2) // two bytes a call: the rest must be offered again
		if total == 10 {
			close(done)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("0123456789")); err != nil {
		t.Fatal(err)
	}
	close(release)
	await(t, done, "ten bytes read two at a time")
	l.Do(func() {
		if !sawEvent {
			t.Error("ready ran before the event due ahead of it")
		}
		if calls < 5 {
			t.Errorf("ready called %d times for 10 bytes read 2 at a time", calls)
		}
	})
}

// TestInputPrecedesLaterEvents: input read late, but stamped with when it
// came, is handled at that instant on the lane's clock — before the
// lane's events due after it, though they were due before the shard got
// to the socket — and those events still fire, after it, in the same
// wakeup.
func TestInputPrecedesLaterEvents(t *testing.T) {
	s := New(1)
	l := s.NewLane(nil)
	defer l.Stop()
	r, w := pipe(t)
	release := holdShard(t, s)

	var order []string
	var inputAt, eventAt time.Duration
	done := make(chan struct{})
	arrived := time.Now()
	if _, err := w.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	// An event due 20 ms after the input came, while the shard is held.
	l.Do(func() {
		l.Clock().AfterFunc(20*time.Millisecond, func() {
			order = append(order, "event")
			eventAt = l.Clock().Now()
		})
	})
	err := l.Watch(fdOf(t, r), func() {
		if readSome(t, r, 1) == 0 {
			return
		}
		l.Arrived(arrived)
		order = append(order, "input")
		inputAt = l.Clock().Now()
		close(done)
	})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(40 * time.Millisecond) // the event and the input both wait
	close(release)
	await(t, done, "the input")
	l.Do(func() {
		if len(order) != 2 || order[0] != "input" || order[1] != "event" {
			t.Fatalf("handled %v; want the input, then the event due after it", order)
		}
		if eventAt-inputAt < 15*time.Millisecond {
			t.Errorf("input at %v, the event due 20 ms later at %v", inputAt, eventAt)
		}
	})
}

// TestArrivedNeverGoesBack: an instant before the clock's own time, or
// after now, is taken as the nearest instant the lane can use.
func TestArrivedNeverGoesBack(t *testing.T) {
	s := New(1)
	l := s.NewLane(nil)
	defer l.Stop()
	l.Do(func() {
		before := l.Clock().Now()
		l.Arrived(time.Now().Add(-time.Hour))
		if got := l.Clock().Now(); got != before {
			t.Errorf("an arrival an hour ago moved the clock from %v to %v", before, got)
		}
		l.Arrived(time.Now().Add(time.Hour))
		if got, now := l.Clock().Now(), l.Now(); got > now {
			t.Errorf("an arrival an hour ahead moved the clock to %v, past now (%v)", got, now)
		}
	})
}

// TestUnwatchStopsReady: after Unwatch, and after Stop, bytes arriving on
// the descriptor call nothing; the shard goes on serving other lanes.
func TestUnwatchStopsReady(t *testing.T) {
	for _, how := range []string{"unwatch", "stop"} {
		t.Run(how, func(t *testing.T) {
			s := New(1) // one shard: a stray call would come from the same loop
			gone, other := s.NewLane(nil), s.NewLane(nil)
			defer gone.Stop()
			defer other.Stop()
			r1, w1 := pipe(t)
			r2, w2 := pipe(t)
			var stray atomic.Int32
			if err := gone.Watch(fdOf(t, r1), func() { stray.Add(1) }); err != nil {
				t.Fatal(err)
			}
			if how == "unwatch" {
				gone.Unwatch()
			} else {
				gone.Stop()
			}
			got := make(chan struct{}, 2)
			if err := other.Watch(fdOf(t, r2), func() { readSome(t, r2, 1); got <- struct{}{} }); err != nil {
				t.Fatal(err)
			}
			_, _ = w1.Write([]byte("x"))
			_, _ = w2.Write([]byte("a"))
			<-got
			// A second round trip on the same shard: the wakeup that saw
			// both descriptors ready has finished.
			_, _ = w2.Write([]byte("b"))
			<-got
			if n := stray.Load(); n != 0 {
				t.Fatalf("ready called %d times after %s", n, how)
			}
		})
	}
}

// TestPanicInReadyStopsOnlyItsLane: a panic reading one session's socket
// reaches onPanic, stops that lane and unwatches it; the others go on.
func TestPanicInReadyStopsOnlyItsLane(t *testing.T) {
	s := New(1)
	panicked := make(chan any, 1)
	bad := s.NewLane(func(r any) { panicked <- r })
	good := s.NewLane(nil)
	defer good.Stop()
	r1, w1 := pipe(t)
	r2, w2 := pipe(t)
	if err := bad.Watch(fdOf(t, r1), func() { panic("decoder bug") }); err != nil {
		t.Fatal(err)
	}
	got := make(chan struct{}, 1)
	if err := good.Watch(fdOf(t, r2), func() { readSome(t, r2, 1); got <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	_, _ = w1.Write([]byte("x"))
	select {
	case v := <-panicked:
		if v != "decoder bug" {
			t.Fatalf("onPanic got %v", v)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no onPanic within 10 s")
	}
	if !bad.Stopped() {
		t.Fatal("the lane whose ready panicked is not stopped")
	}
	s.shards[0].mu.Lock()
	_, still := s.shards[0].watched[int32(fdOf(t, r1))]
	s.shards[0].mu.Unlock()
	if still {
		t.Fatal("the stopped lane's descriptor is still watched (its unread byte would spin the shard)")
	}
	_, _ = w2.Write([]byte("a"))
	await(t, got, "the healthy lane's input after the panic")
}

func TestWatchRefusals(t *testing.T) {
	s := New(1)
	s.newWaker = func() (waker, error) { return newTimerWaker(), nil }
	l := s.NewLane(nil)
	r, _ := pipe(t)
	if err := l.Watch(fdOf(t, r), func() {}); !errors.Is(err, ErrWatchUnsupported) {
		t.Fatalf("Watch on a timer-only shard: %v, want ErrWatchUnsupported", err)
	}
	l.Stop()

	s = New(1)
	l = s.NewLane(nil)
	defer l.Stop()
	if err := l.Watch(fdOf(t, r), func() {}); err != nil {
		t.Fatal(err)
	}
	if err := l.Watch(fdOf(t, r), func() {}); err == nil {
		t.Fatal("a second Watch on the same lane was accepted")
	}
}

func readFD(fd int, b []byte) (int, error) { return unix.Read(fd, b) }

// armCounter counts how often a shard sets its waker's alarm.
type armCounter struct {
	waker
	arms atomic.Int32
}

func (c *armCounter) arm(d time.Duration) { c.arms.Add(1); c.waker.arm(d) }

// TestInputKeepsTheAlarm: wakeups for input, with the same event still
// first in the queue, leave the alarm as it is (no timerfd_settime and
// runtime deadline per read), and the event still fires when it is due.
func TestInputKeepsTheAlarm(t *testing.T) {
	s := New(1)
	var counter *armCounter
	s.newWaker = func() (waker, error) {
		w, err := newWaker()
		if err != nil {
			return nil, err
		}
		counter = &armCounter{waker: w}
		return counter, nil
	}
	l := s.NewLane(nil)
	defer l.Stop()
	r, w := pipe(t)
	const due = 300 * time.Millisecond
	fired := make(chan time.Duration, 1)
	l.Do(func() { l.Clock().AfterFunc(due, func() { fired <- l.Now() }) })
	const inputs = 20
	got := make(chan struct{}, inputs)
	if err := l.Watch(fdOf(t, r), func() {
		if readSome(t, r, 1) > 0 {
			got <- struct{}{}
		}
	}); err != nil {
		t.Fatal(err)
	}
	arms := counter.arms.Load()
	for i := range inputs {
		if _, err := w.Write([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-got:
		case <-time.After(10 * time.Second):
			t.Fatalf("input %d not read within 10 s", i)
		}
	}
	if n := counter.arms.Load() - arms; n > 2 {
		t.Errorf("%d wakeups for input set the alarm %d times; want it kept", inputs, n)
	}
	select {
	case at := <-fired:
		if at < due {
			t.Errorf("event due at %v fired at %v", due, at)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the event never fired after the input wakeups")
	}
}
