package pipeline

import (
	"errors"
	"math/rand/v2"
	"time"

	"go.uber.org/zap"
)

// Context is a stage's handle on its session: the clock, the random source,
// the timeline, and its neighbours. Each stage of a session has its own.
//
// Work is attributed to a response: while a stage handles a frame of
// response R, or runs a timer scheduled during such handling, its scope is R.
// Timers inherit the scope they were scheduled in, so an interruption of R
// can cancel exactly R's work.
type Context struct {
	s *Session
	n int
}

// Name returns the stage's registered name.
func (c *Context) Name() string { return c.s.nodes[c.n].name }

// Now returns the session time.
func (c *Context) Now() time.Duration { return c.s.clock.Now() }

// Rand returns the session's seeded random source. Stages draw from it in
// event order, so a run is reproducible for its seed.
func (c *Context) Rand() *rand.Rand { return c.s.rng }

// Log returns the session's logger, named for the stage.
func (c *Context) Log() *zap.Logger { return c.s.log.With(zap.String("stage", c.Name())) }

// Scope returns the response the current work belongs to (0 for none).
func (c *Context) Scope() ResponseID {
	if c.s.cur.node != c.n {
		return 0
	}
	return c.s.cur.scope
}

// SetScope attributes the rest of the current work, and timers it schedules,
// to response r. A stage that starts a response calls it after NewResponse.
func (c *Context) SetScope(r ResponseID) {
	if c.s.cur.node == c.n {
		c.s.cur.scope = r
	}
}

// NewResponse allocates the next response ID and makes it the current scope.
func (c *Context) NewResponse() ResponseID {
	r := c.s.newResponse()
	c.SetScope(r)
	return r
}

// Cancelled reports whether response r has been cancelled at this stage.
func (c *Context) Cancelled(r ResponseID) bool {
	return r != 0 && r <= c.s.nodes[c.n].cancelled
}

// After schedules fn to run d from now in the current scope.
func (c *Context) After(d time.Duration, fn func()) Timer {
	return c.s.schedule(c.n, c.Scope(), d, fn, nil, Frame{})
}

// AfterFrame schedules fn(f) d from now in the scope of f's response (or the
// current scope if f has none). Bind fn once (a method value stored on the
// stage) and this allocates nothing: the way to delay frames on a hot path.
func (c *Context) AfterFrame(d time.Duration, f Frame, fn func(Frame)) Timer {
	scope := f.Response
	if scope == 0 {
		scope = c.Scope()
	}
	return c.s.schedule(c.n, scope, d, nil, fn, f)
}

// Push sends f downstream to the next stage.
func (c *Context) Push(f Frame) { c.s.push(c.n, f, Downstream) }

// PushUp sends f upstream to the previous stage.
func (c *Context) PushUp(f Frame) { c.s.push(c.n, f, Upstream) }

// Forward sends f on in direction dir.
func (c *Context) Forward(f Frame, dir Direction) { c.s.push(c.n, f, dir) }

// Interrupt cancels response r from this stage on: this stage's pending work
// for it stops now, and an Interruption frame overtakes queued data
// downstream. The stage that detects a barge-in calls it.
func (c *Context) Interrupt(r ResponseID) {
	c.cancel(Interruption, r)
}

// CancelResponse is Interrupt for a cancellation that is not a barge-in.
func (c *Context) CancelResponse(r ResponseID) {
	c.cancel(Cancel, r)
}

func (c *Context) cancel(k Kind, r ResponseID) {
	if r == 0 {
		return
	}
	name := MarkInterrupted
	if k == Cancel {
		name = MarkCancelled
	}
	c.MarkFor(name, r)
	c.s.cancelAt(c.n, r)
	c.s.enqueue(delivery{to: c.n + 1, f: Frame{Kind: k, Response: r, At: c.Now()}, dir: Downstream, from: c.n})
	if c.s.observe != nil {
		c.s.observe(c.Name(), Frame{Kind: k, Response: r, At: c.Now()}, Downstream)
	}
}

// Mark stamps a mark now, attributed to the current response.
func (c *Context) Mark(name string) {
	c.MarkFor(name, c.Scope())
}

// MarkFor stamps a mark now for response r.
func (c *Context) MarkFor(name string, r ResponseID) {
	c.s.timeline.add(Mark{Name: name, At: c.Now(), Response: r, Turn: -1, Stage: c.Name()})
}

// MarkAt stamps a mark at an explicit time, for a stage that learns of an
// instant after it happened (e.g. when a frame being played will end).
func (c *Context) MarkAt(name string, at time.Duration, r ResponseID, value float64) {
	c.s.timeline.add(Mark{Name: name, At: at, Response: r, Turn: -1, Stage: c.Name(), Value: value})
}

// MarkText stamps a mark now for response r carrying text and a value.
func (c *Context) MarkText(name string, r ResponseID, text string, value float64) {
	c.s.timeline.add(Mark{Name: name, At: c.Now(), Response: r, Turn: -1, Stage: c.Name(), Text: text, Value: value})
}

// Reply returns the scripted answer to a user transcript, if the input
// script has one. An LLM stage uses it in place of generating text.
func (c *Context) Reply(transcript string) (string, bool) {
	if c.s.replies == nil {
		return "", false
	}
	return c.s.replies(transcript)
}

// Count adds n to the session counter name.
func (c *Context) Count(name string, n int64) { c.s.counters[name] += n }

// Fail records a stage error. The session keeps running: a stage that cannot
// go on should stop emitting.
func (c *Context) Fail(err error) {
	if err == nil {
		err = errors.New("unknown error")
	}
	c.s.fail(c.n, err)
}
