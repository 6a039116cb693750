package pace

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// wakers runs a test with each way a shard can sleep.
func wakers(t *testing.T, f func(t *testing.T, s func(n int) *Scheduler)) {
	t.Run("default", func(t *testing.T) { f(t, New) })
	t.Run("timer", func(t *testing.T) {
		f(t, func(n int) *Scheduler {
			s := New(n)
			s.newWaker = func() (waker, error) { return newTimerWaker(), nil }
			return s
		})
	})
}

// await waits for ch, failing the test after a generous bound (the wait is
// for correctness, not speed).
func await(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: not within 10 s", what)
	}
}

// firing records one event: its virtual time and the wall time it ran.
type firing struct{ virt, wall time.Duration }

func TestEventsFireInOrderNeverEarly(t *testing.T) {
	wakers(t, func(t *testing.T, newSched func(int) *Scheduler) {
		s := newSched(2)
		const lanes, events = 40, 12
		var mu sync.Mutex
		got := make([][]firing, lanes)
		base := make([]time.Duration, lanes)
		var wg sync.WaitGroup
		for i := range lanes {
			l := s.NewLane(nil)
			defer l.Stop()
			wg.Add(1)
			vc := l.Clock()
			// A chain: each event schedules the next, 1–5 ms later, so the
			// lanes' events interleave on the shards.
			var step func()
			n := 0
			step = func() {
				mu.Lock()
				got[i] = append(got[i], firing{vc.Now(), l.Now()})
				mu.Unlock()
				n++
				if n == events {
					wg.Done()
					return
				}
				vc.AfterFunc(time.Duration(1+(i+n)%5)*time.Millisecond, step)
			}
			l.Do(func() {
				base[i] = vc.Now()
				vc.AfterFunc(time.Duration(i%7)*time.Millisecond, step)
			})
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		await(t, done, "every lane's events")
		mu.Lock()
		defer mu.Unlock()
		for i, fs := range got {
			want := base[i] + time.Duration(i%7)*time.Millisecond
			for n, f := range fs {
				if n > 0 {
					want += time.Duration(1+(i+n)%5) * time.Millisecond
				}
				if f.virt != want {
					t.Fatalf("lane %d event %d at virtual %v, want %v", i, n, f.virt, want)
				}
				if f.wall < f.virt {
					t.Fatalf("lane %d event %d ran at wall %v, before its time %v", i, n, f.wall, f.virt)
				}
			}
		}
	})
}

func TestDoQueuesAnEarlierEvent(t *testing.T) {
	wakers(t, func(t *testing.T, newSched func(int) *Scheduler) {
		s := newSched(1)
		l := s.NewLane(nil)
		defer l.Stop()
		vc := l.Clock()
		late := make(chan struct{})
		l.Do(func() { vc.AfterFunc(time.Hour, func() { close(late) }) })
		// The shard now sleeps for an hour; input from another goroutine
		// schedules something sooner, which must wake it.
		soon := make(chan struct{})
		go l.Do(func() { vc.AfterFunc(2*time.Millisecond, func() { close(soon) }) })
		await(t, soon, "the event scheduled by Do")
		select {
		case <-late:
			t.Fatal("the hour-away event fired")
		default:
		}
	})
}

func TestDoRunsDueEventsBeforeItsWork(t *testing.T) {
	s := New(1)
	l := s.NewLane(nil)
	defer l.Stop()
	vc := l.Clock()
	// Hold the shard away from the lane (inside Do the lane is locked), let
	// an event come due, then check the next Do sees it fired first.
	fired := false
	l.Do(func() {
		vc.AfterFunc(time.Millisecond, func() { fired = true })
		for l.Now() < 3*time.Millisecond {
			runtime.Gosched()
		}
	})
	var sawFired bool
	var at time.Duration
	l.Do(func() { sawFired, at = fired, vc.Now() })
	if !sawFired {
		t.Fatal("Do ran its work before an event that was due")
	}
	if at < 3*time.Millisecond {
		t.Fatalf("Do ran at virtual %v, before the wall-clock time it was called", at)
	}
}

func TestPanicStopsOnlyItsLane(t *testing.T) {
	wakers(t, func(t *testing.T, newSched func(int) *Scheduler) {
		s := newSched(1) // both lanes on one shard: the panic must not stop it
		var got any
		panicked := make(chan struct{})
		bad := s.NewLane(func(r any) { got = r; close(panicked) })
		good := s.NewLane(nil)
		defer good.Stop()
		bad.Do(func() { bad.Clock().AfterFunc(time.Millisecond, func() { panic("stage bug") }) })
		ticks := 0
		done := make(chan struct{})
		var tick func()
		tick = func() {
			ticks++
			if ticks == 10 {
				close(done)
				return
			}
			good.Clock().AfterFunc(2*time.Millisecond, tick)
		}
		good.Do(func() { good.Clock().AfterFunc(time.Millisecond, tick) })
		await(t, panicked, "onPanic")
		await(t, done, "the healthy lane's events after the panic")
		if got != "stage bug" {
			t.Fatalf("onPanic got %v, want the panic value", got)
		}
		if bad.Do(func() {}) {
			t.Fatal("Do on a lane whose event panicked reported true")
		}
		if !bad.Stopped() {
			t.Fatal("the panicked lane is not stopped")
		}
		bad.Stop()
		s.mu.Lock()
		n := s.shards[0].lanes
		s.mu.Unlock()
		if n != 1 {
			t.Fatalf("shard counts %d lanes, want 1 (the healthy one)", n)
		}
	})
}

func TestPanicInDoReachesTheCaller(t *testing.T) {
	s := New(1)
	l := s.NewLane(nil)
	func() {
		defer func() {
			if r := recover(); r != "input bug" {
				t.Fatalf("recovered %v, want the panic from Do", r)
			}
		}()
		l.Do(func() { panic("input bug") })
	}()
	if l.Do(func() {}) {
		t.Fatal("Do after a panicking Do reported true")
	}
	l.Stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.shards[0].lanes; n != 0 {
		t.Fatalf("shard still counts %d lanes after the only one panicked and stopped", n)
	}
}

func TestStopPreventsLaterEvents(t *testing.T) {
	wakers(t, func(t *testing.T, newSched func(int) *Scheduler) {
		s := newSched(1)
		stopped := s.NewLane(nil)
		var mu sync.Mutex
		fired := false
		stopped.Do(func() {
			stopped.Clock().AfterFunc(5*time.Millisecond, func() { mu.Lock(); fired = true; mu.Unlock() })
		})
		stopped.Stop()
		stopped.Stop() // twice is fine
		// A witness on the same shard, due well after the stopped event.
		w := s.NewLane(nil)
		defer w.Stop()
		done := make(chan struct{})
		w.Do(func() { w.Clock().AfterFunc(20*time.Millisecond, func() { close(done) }) })
		await(t, done, "the witness")
		mu.Lock()
		defer mu.Unlock()
		if fired {
			t.Fatal("an event fired after its lane stopped")
		}
	})
}

func TestShardsStopWhenIdleAndRestart(t *testing.T) {
	wakers(t, func(t *testing.T, newSched func(int) *Scheduler) {
		base := runtime.NumGoroutine()
		s := newSched(3)
		for round := range 3 {
			var ls []*Lane
			for range 9 {
				ls = append(ls, s.NewLane(nil))
			}
			if n := runtime.NumGoroutine(); n > base+3 {
				t.Fatalf("round %d: %d goroutines with 9 lanes on 3 shards, want at most %d", round, n, base+3)
			}
			for i, sh := range s.shards {
				if sh.lanes != 3 {
					t.Fatalf("round %d: shard %d has %d lanes, want 3 (least loaded first)", round, i, sh.lanes)
				}
			}
			done := make(chan struct{})
			ls[8].Do(func() { ls[8].Clock().AfterFunc(time.Millisecond, func() { close(done) }) })
			await(t, done, fmt.Sprintf("round %d event", round))
			for _, l := range ls {
				l.Stop()
			}
			deadline := time.Now().Add(10 * time.Second)
			for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
				runtime.Gosched()
			}
			if n := runtime.NumGoroutine(); n > base {
				t.Fatalf("round %d: %d goroutines after every lane stopped, want %d", round, n, base)
			}
		}
	})
}

// BenchmarkWakeLateness measures how late lanes' events run on the wall
// clock: N lanes each with a chain of events 1–5 ms apart, for a second.
// It reports the lateness quantiles for each way a shard can sleep.
func BenchmarkWakeLateness(b *testing.B) {
	for _, kind := range []string{"timerfd", "timer"} {
		for _, lanes := range []int{1, 100, 1000} {
			b.Run(fmt.Sprintf("%s/lanes=%d", kind, lanes), func(b *testing.B) {
				for range b.N {
					s := New(0)
					if kind == "timer" {
						s.newWaker = func() (waker, error) { return newTimerWaker(), nil }
					}
					late := measureLateness(b, s, lanes)
					slices.Sort(late)
					q := func(p float64) float64 {
						return float64(late[min(len(late)-1, int(p*float64(len(late))))]) / 1e3
					}
					b.ReportMetric(q(0.5), "late-p50-µs")
					b.ReportMetric(q(0.99), "late-p99-µs")
					b.ReportMetric(q(1), "late-max-µs")
				}
			})
		}
	}
}

func measureLateness(b *testing.B, s *Scheduler, lanes int) []time.Duration {
	var mu sync.Mutex
	var late []time.Duration
	var wg sync.WaitGroup
	all := make([]*Lane, lanes)
	for i := range lanes {
		l := s.NewLane(nil)
		all[i] = l
		vc := l.Clock()
		wg.Add(1)
		n := 0
		var step func()
		step = func() {
			d := l.Now() - vc.Now()
			mu.Lock()
			late = append(late, d)
			mu.Unlock()
			if n++; vc.Now() > time.Second {
				wg.Done()
				return
			}
			vc.AfterFunc(time.Duration(1000+(i*7919+n*104729)%4000)*time.Microsecond, step)
		}
		l.Do(func() { vc.AfterFunc(time.Duration(i%20)*time.Millisecond, step) })
	}
	wg.Wait()
	for _, l := range all {
		l.Stop()
	}
	if len(late) == 0 {
		b.Fatal("no events fired")
	}
	return late
}

func TestIdleShardWakesForNewWork(t *testing.T) {
	wakers(t, func(t *testing.T, newSched func(int) *Scheduler) {
		s := newSched(1)
		l := s.NewLane(nil)
		defer l.Stop()
		vc := l.Clock()
		// One event, so the shard fires the lane, then finds nothing queued
		// and sleeps with no alarm set.
		first := make(chan struct{})
		l.Do(func() { vc.AfterFunc(time.Millisecond, func() { close(first) }) })
		await(t, first, "the first event")
		for range 3 {
			next := make(chan struct{})
			go l.Do(func() { vc.AfterFunc(2*time.Millisecond, func() { close(next) }) })
			await(t, next, "an event queued while the shard slept with nothing to do")
		}
	})
}
