package pipeline

// Stage is one step of a pipeline: it reacts to frames. It may push frames on
// (downstream or upstream), stamp marks, and schedule future work — but only
// through the Context, never by sleeping or starting goroutines.
//
// Interruption and Cancel frames are delivered to every stage so it can
// reset its own state; the session itself cancels the stage's pending work
// for the response, drops the response's queued frames, and forwards the
// frame on. A stage therefore must not forward Interruption or Cancel.
type Stage interface {
	Handle(ctx *Context, f Frame, dir Direction)
}

// StageFunc adapts a function to a Stage, like http.HandlerFunc.
type StageFunc func(ctx *Context, f Frame, dir Direction)

// Handle calls fn.
func (fn StageFunc) Handle(ctx *Context, f Frame, dir Direction) { fn(ctx, f, dir) }

// Starter is implemented by stages that need to act before the first frame,
// e.g. to keep a reference to their Context or start a periodic tick.
type Starter interface {
	Start(ctx *Context)
}

// Transport is implemented by stages that model a wire (a network leg). A
// wire cannot recall what is already on it: an interruption does not cancel
// a transport stage's in-flight frames, and the stage forwards the
// interruption itself, delayed like any frame. Downstream stages drop the
// stale frames when the interruption reaches them.
type Transport interface {
	IsTransport() bool
}

// PassThrough forwards every frame unchanged in its direction. Embed it to
// override only what a stage needs.
type PassThrough struct{}

// Handle forwards f.
func (PassThrough) Handle(ctx *Context, f Frame, dir Direction) {
	if f.Kind == Interruption || f.Kind == Cancel {
		return // the session forwards these
	}
	ctx.Forward(f, dir)
}

var _ Stage = PassThrough{}
var _ Stage = StageFunc(nil)
