package pipeline_test

import (
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
)

// jitterChain is a wire that delays most frames by up to 200 ms and one in
// ten by 0.8–2 s (so frames overtake each other, and some are held longer
// than a pool remembers),
// then a stage that
// checks every frame still holds the samples it was sent with: a buffer
// reused while held shows up as a frame with another frame's pattern.
func jitterChain(t *testing.T, delivered *int) []pipeline.Named {
	wire := pipeline.StageFunc(func(ctx *pipeline.Context, f pipeline.Frame, dir pipeline.Direction) {
		frames := ctx.Rand().IntN(10) // most frames: up to 200 ms
		if ctx.Rand().IntN(10) == 0 {
			frames = 40 + ctx.Rand().IntN(61) // some: 0.8–2 s, past what a pool remembers
		}
		d := time.Duration(frames) * pipeline.FrameDuration
		ctx.AfterFrame(d, f, func(f pipeline.Frame) { ctx.Forward(f, dir) })
	})
	check := pipeline.StageFunc(func(ctx *pipeline.Context, f pipeline.Frame, dir pipeline.Direction) {
		for i, v := range f.Audio {
			if v != pattern(f.Seq, i) {
				t.Fatalf("frame %d sample %d = %d, want %d: its storage was reused while the session held it", f.Seq, i, v, pattern(f.Seq, i))
			}
		}
		*delivered++
	})
	return []pipeline.Named{{Name: "wire", Stage: wire}, {Name: "check", Stage: check}}
}

func pattern(seq uint64, i int) int16 { return int16(seq*7919 + uint64(i)) }

// feedPatterns feeds n frames 20 ms apart into s, each in storage from p
// (shown to got, if set) filled with its own pattern, and runs the
// session to the end.
func feedPatterns(t *testing.T, s *pipeline.Session, p *pipeline.FramePool, n int, got func([]int16)) {
	t.Helper()
	var seq uint64
	var tick func()
	tick = func() {
		b := p.Get()
		if len(b) != pipeline.FrameSamples {
			t.Fatalf("Get returned %d samples", len(b))
		}
		if got != nil {
			got(b)
		}
		for i := range b {
			b[i] = pattern(seq, i)
		}
		s.Input(pipeline.Frame{Kind: pipeline.UserAudio, Seq: seq, At: s.Now(), Audio: b})
		seq++
		if int(seq) < n {
			s.AfterFunc(pipeline.FrameDuration, tick)
		}
	}
	s.AfterFunc(0, tick)
	s.Clock().(*pipeline.VirtualClock).Run()
}

// TestFramePoolNeverReusesAHeldBuffer: under a wire that holds some frames
// for up to 2 s and reorders them, every frame arrives with its
// own samples, and the pool still recycles (it does not simply allocate).
func TestFramePoolNeverReusesAHeldBuffer(t *testing.T) {
	var delivered int
	s := pipeline.NewSession(pipeline.Options{Seed: 7}, jitterChain(t, &delivered)...)
	s.Start()
	p := pipeline.NewFramePool(s)
	seen := map[*int16]bool{}
	const n = 3000
	feedPatterns(t, s, p, n, func(b []int16) { seen[&b[0]] = true })
	if delivered != n {
		t.Fatalf("%d frames delivered, want %d", delivered, n)
	}
	if len(seen) > n/2 {
		t.Errorf("%d distinct buffers for %d frames: the pool is not recycling", len(seen), n)
	}
}

// TestFramePoolAllocatesNothingWhenWarm: a session streaming frames
// through a delaying wire allocates no sample storage once the pool has
// warmed up.
func TestFramePoolAllocatesNothingWhenWarm(t *testing.T) {
	wire := &delayWire{d: 100 * time.Millisecond}
	sink := pipeline.StageFunc(func(*pipeline.Context, pipeline.Frame, pipeline.Direction) {})
	s := pipeline.NewSession(pipeline.Options{}, pipeline.Named{Name: "wire", Stage: wire}, pipeline.Named{Name: "sink", Stage: sink})
	s.Start()
	p := pipeline.NewFramePool(s)
	vc := s.Clock().(*pipeline.VirtualClock)
	step := func() {
		b := p.Get()
		b[0] = 1
		s.Input(pipeline.Frame{Kind: pipeline.UserAudio, At: s.Now(), Audio: b})
		vc.RunUntil(s.Now() + pipeline.FrameDuration)
	}
	for range 200 {
		step()
	}
	if a := testing.AllocsPerRun(500, step); a != 0 {
		t.Errorf("%.1f allocations per frame once warm, want 0", a)
	}
}

// delayWire delays every downstream frame by d, allocating nothing.
type delayWire struct {
	d   time.Duration
	ctx *pipeline.Context
	out func(pipeline.Frame)
}

func (w *delayWire) Start(ctx *pipeline.Context) {
	w.ctx = ctx
	w.out = func(f pipeline.Frame) { ctx.Push(f) }
}

func (w *delayWire) Handle(ctx *pipeline.Context, f pipeline.Frame, _ pipeline.Direction) {
	ctx.AfterFrame(w.d, f, w.out)
}

// keeper holds every frame for a second in its own state, as a jitter
// buffer does, reports them as a Holder, and checks each still has its
// samples when it lets it go.
type keeper struct {
	t      *testing.T
	ctx    *pipeline.Context
	kept   []pipeline.Frame
	checks int
}

func (k *keeper) Start(ctx *pipeline.Context) { k.ctx = ctx }

func (k *keeper) Handle(ctx *pipeline.Context, f pipeline.Frame, _ pipeline.Direction) {
	k.kept = append(k.kept, f)
	ctx.After(time.Second, k.release)
}

func (k *keeper) release() {
	f := k.kept[0]
	k.kept = k.kept[1:]
	for i, v := range f.Audio {
		if v != pattern(f.Seq, i) {
			k.t.Fatalf("kept frame %d sample %d = %d, want %d: its storage was reused while a Holder held it", f.Seq, i, v, pattern(f.Seq, i))
		}
	}
	k.checks++
}

func (k *keeper) EachHeld(fn func([]int16)) {
	for _, f := range k.kept {
		fn(f.Audio)
	}
}

// TestFramePoolRespectsHolders: storage a stage keeps past Handle and
// reports (a jitter buffer) is not handed out again while it is kept.
func TestFramePoolRespectsHolders(t *testing.T) {
	k := &keeper{t: t}
	s := pipeline.NewSession(pipeline.Options{}, pipeline.Named{Name: "keep", Stage: k})
	s.Start()
	p := pipeline.NewFramePool(s)
	const n = 500
	feedPatterns(t, s, p, n, nil)
	if k.checks != n {
		t.Fatalf("%d frames checked, want %d", k.checks, n)
	}
}
