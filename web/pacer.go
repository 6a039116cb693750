package web

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/voicesim/voicesim/pipeline"
)

// pacer runs a session's VirtualClock in real time: its loop fires each
// event when the wall clock reaches the event's time, and input from the
// socket runs (Do) at the wall-clock instant it is handled. A mutex keeps
// the session single-threaded, so stage code sees exactly what it sees
// headless.
//
// Why not pipeline.WallClock: it schedules each timer from the real time
// its parent callback ran, so lateness accumulates along every chain of
// timers. On this project's 2-core VM a Go timer fires ~0.8 ms late at the
// median; an LLM streaming eight tokens to the first sentence, each token a
// timer, then added ~6 ms to a turn's voice_to_voice over the virtual-clock
// result. Here each event is scheduled from its parent's exact virtual
// time, so lateness never accumulates: an event is late only by the
// scheduler's delay in waking the loop for it, and what leaves the server
// late shows in the client's own reports (network_down, playout).
//
// Why input runs on the caller's goroutine rather than being posted to the
// loop: under load every goroutine hand-off waits its turn in the Go
// scheduler's queues; one hop fewer per audio frame measurably shortens
// the tail.
type pacer struct {
	zero time.Time
	kick chan struct{} // the loop's timer must be re-armed earlier
	done chan struct{} // closed when the loop has exited

	mu      sync.Mutex
	vc      *pipeline.VirtualClock
	armed   time.Duration // the instant the loop's timer is set for
	stopped bool
}

func newPacer() *pacer {
	return &pacer{vc: pipeline.NewVirtualClock(), zero: time.Now(), kick: make(chan struct{}, 1),
		done: make(chan struct{}), armed: math.MaxInt64}
}

// Now returns the wall-clock time since the session began. It is safe from
// any goroutine; the session's own time is vc.Now(), under the lock.
func (p *pacer) Now() time.Duration { return time.Since(p.zero) }

// Do runs f with the session locked, after every event due by now. It
// reports false once the session has stopped. A panic in f stops the
// session and is passed on to the caller.
func (p *pacer) Do(f func()) bool {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return false
	}
	kick := false
	func() {
		defer func() {
			if r := recover(); r != nil {
				p.stopped = true
				p.mu.Unlock()
				panic(r)
			}
		}()
		p.vc.RunUntil(p.Now())
		f()
		next, ok := p.vc.Next()
		kick = ok && next < p.armed
	}()
	p.mu.Unlock()
	if kick {
		select {
		case p.kick <- struct{}{}:
		default:
		}
	}
	return true
}

// Loop fires events until ctx is done or an event panics (the panic is
// passed on). Exactly one goroutine may call it.
func (p *pacer) Loop(ctx context.Context) {
	defer close(p.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		wait, ok := p.step()
		if !ok {
			return
		}
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-p.kick:
		case <-ctx.Done():
			p.mu.Lock()
			p.stopped = true
			p.mu.Unlock()
			return
		}
	}
}

// step runs the events due and returns how long until the next one.
func (p *pacer) step() (time.Duration, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return 0, false
	}
	defer func() {
		if r := recover(); r != nil {
			p.stopped = true
			panic(r)
		}
	}()
	p.vc.RunUntil(p.Now())
	p.armed = math.MaxInt64
	next, ok := p.vc.Next()
	if !ok {
		return time.Hour, true
	}
	p.armed = next
	return max(next-p.Now(), 0), true
}
