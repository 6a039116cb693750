package llm

import (
	"math"
	"time"

	"github.com/voicesim/voicesim/pipeline"
)

// Chat is the llm.chat stage.
//
// On TranscriptFinal{r} it stamps llm.request, pushes ResponseStarted{r},
// and TTFT later stamps llm.first_token and streams the answer as
// LLMToken{r, Seq} — token k at first token + k / rate (plus jitter, if
// configured) — then stamps llm.done, pushes ResponseDone{r} and records the
// answer's text (response.text). The answer is the script's reply to the
// transcript (ctx.Reply) or else one of a built-in bank of answers.
// Counters: llm.tokens_in (context_tokens + history + transcript per
// request) and llm.tokens_out (tokens streamed).
type Chat struct {
	ttft          pipeline.Latency
	rate          Rate
	jitter        float64
	contextTokens int
	prefill       float64
	heardWPS      float64

	ctx     *pipeline.Context
	streams []stream
	history []exchange
	// histTokens is the history's size in tokens, kept up to date.
	histTokens int
	// lastBank is 1 + the index of the last bank answer given (0: none).
	lastBank int
	emitFn   func(pipeline.Frame)
}

var (
	_ pipeline.Stage   = (*Chat)(nil)
	_ pipeline.Starter = (*Chat)(nil)
)

// stream is one answer being generated.
type stream struct {
	r      pipeline.ResponseID
	text   string
	tokens []string
	next   int           // tokens emitted so far
	t0     time.Duration // first token time
	rate   float64       // tokens per second
	off    float64       // seconds after t0 of the next token, with jitter
}

// New builds one llm.chat stage from a validated config.
func New(c *Config) pipeline.Stage {
	ttft, rate := c.Resolved()
	return &Chat{
		ttft: ttft, rate: rate, jitter: c.TokenJitter,
		contextTokens: c.ContextTokens, prefill: c.PrefillTokensPerSecond, heardWPS: c.HeardWordsPerSecond,
	}
}

// Start binds the stage's callbacks.
func (c *Chat) Start(ctx *pipeline.Context) {
	c.ctx = ctx
	c.emitFn = c.emit
}

// Handle consumes TranscriptFinal, watches playback reports going upstream
// (forwarding them) and forwards everything else.
func (c *Chat) Handle(ctx *pipeline.Context, f pipeline.Frame, dir pipeline.Direction) {
	switch {
	case f.Kind == pipeline.Interruption || f.Kind == pipeline.Cancel:
		c.stop(ctx, f.Response)
		return
	case dir == pipeline.Upstream && f.Kind == pipeline.PlaybackStarted:
		c.audible(f.Response)
	case dir == pipeline.Upstream && f.Kind == pipeline.PlaybackStopped:
		c.heard(f)
	case dir == pipeline.Downstream && f.Kind == pipeline.TranscriptFinal:
		c.request(ctx, f)
		return
	}
	ctx.Forward(f, dir)
}

func (c *Chat) request(ctx *pipeline.Context, f pipeline.Frame) {
	r := f.Response
	ctx.Mark(pipeline.MarkLLMRequest)
	c.forgetUnanswered(f.Text)
	in := c.contextTokens + c.histTokens + CountTokens(f.Text)
	ctx.Count("llm.tokens_in", int64(in))
	ctx.Push(pipeline.Frame{Kind: pipeline.ResponseStarted, Response: r, At: ctx.Now()})

	text, ok := ctx.Reply(f.Text)
	if !ok {
		text = c.bankAnswer()
	}
	tokens := Tokenize(text)
	ttft := c.ttft.Sample(ctx.Rand())
	if c.prefill > 0 {
		ttft += time.Duration(math.Round(float64(in) / c.prefill * 1e9))
	}
	c.remember(exchange{
		r: r, user: f.Text, userTokens: CountTokens(f.Text),
		full: text, said: text, saidTokens: len(tokens),
	})
	c.streams = append(c.streams, stream{r: r, text: text, tokens: tokens, t0: ctx.Now() + ttft, rate: c.rate.Sample(ctx.Rand())})
	first := pipeline.Frame{Kind: pipeline.ResponseDone, Response: r}
	if len(tokens) > 0 {
		first = pipeline.Frame{Kind: pipeline.LLMToken, Response: r, Text: tokens[0]}
	}
	ctx.AfterFrame(ttft, first, c.emitFn)
}

// bankAnswer draws a built-in answer, never the same one twice in a row.
func (c *Chat) bankAnswer() string {
	var i int
	if c.lastBank == 0 {
		i = c.ctx.Rand().IntN(len(bank))
	} else if i = c.ctx.Rand().IntN(len(bank) - 1); i >= c.lastBank-1 {
		i++
	}
	c.lastBank = i + 1
	return bank[i]
}

// emit pushes one scheduled token (or the end of an empty answer) and
// schedules the next.
func (c *Chat) emit(f pipeline.Frame) {
	i := c.find(f.Response)
	if i < 0 {
		return
	}
	s := &c.streams[i]
	if f.Kind == pipeline.ResponseDone {
		c.finish(i)
		return
	}
	now := c.ctx.Now()
	if s.next == 0 {
		c.ctx.Mark(pipeline.MarkLLMFirstToken)
	}
	f.At = now
	c.ctx.Push(f)
	c.ctx.Count("llm.tokens_out", 1)
	s.next++
	if s.next == len(s.tokens) {
		c.finish(i)
		return
	}
	var off float64
	if c.jitter > 0 {
		s.off += max(1+c.jitter*c.ctx.Rand().NormFloat64(), 0) / s.rate
		off = s.off
	} else {
		off = float64(s.next) / s.rate // no accumulated rounding
	}
	at := s.t0 + time.Duration(math.Round(off*1e9))
	c.ctx.AfterFrame(at-now, pipeline.Frame{Kind: pipeline.LLMToken, Response: s.r, Seq: uint64(s.next), Text: s.tokens[s.next]}, c.emitFn)
}

// finish ends stream i: llm.done, ResponseDone, response.text.
func (c *Chat) finish(i int) {
	s := c.streams[i]
	c.ctx.MarkFor(pipeline.MarkLLMDone, s.r)
	c.ctx.Push(pipeline.Frame{Kind: pipeline.ResponseDone, Response: s.r, At: c.ctx.Now(), Value: float64(len(s.tokens))})
	c.ctx.MarkText(pipeline.MarkResponseText, s.r, s.text, 0)
	c.streams = append(c.streams[:i], c.streams[i+1:]...)
}

// stop drops the streams of responses up to r (the session has cancelled
// their timers) and records what they had generated, then truncates the
// cut answers' history to what the user is known to have heard.
func (c *Chat) stop(ctx *pipeline.Context, r pipeline.ResponseID) {
	cut := func(id pipeline.ResponseID) {
		e := c.exchange(id)
		if e == nil {
			return
		}
		e.cancelled = true
		if !e.heardKnown {
			// Nothing is known to have been heard yet; the playout's
			// PlaybackStopped, if audio was playing, will say what was.
			c.setSaid(e, "")
		}
	}
	kept := c.streams[:0]
	for _, s := range c.streams {
		if s.r > r {
			kept = append(kept, s)
			continue
		}
		ctx.MarkText(pipeline.MarkResponseText, s.r, s.generated(), 0)
		if e := c.exchange(s.r); e != nil {
			e.full = s.generated()
		}
		if s.r != r {
			cut(s.r)
		}
	}
	clear(c.streams[len(kept):])
	c.streams = kept
	cut(r)
}

// generated returns the text streamed so far: tokens are contiguous
// substrings of the answer, so it is a prefix of it.
func (s *stream) generated() string {
	n := 0
	for _, t := range s.tokens[:s.next] {
		n += len(t)
	}
	return s.text[:n]
}

func (c *Chat) find(r pipeline.ResponseID) int {
	for i := range c.streams {
		if c.streams[i].r == r {
			return i
		}
	}
	return -1
}
