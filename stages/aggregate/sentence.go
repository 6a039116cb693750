// Package aggregate holds aggregate.sentence, which turns a stream of LLM
// tokens into the pieces of text a TTS speaks: whole sentences (or clauses),
// or the whole answer at once for a non-streaming TTS.
package aggregate

import (
	"strconv"

	"github.com/voicesim/voicesim/pipeline"
)

// Config configures aggregate.sentence.
type Config struct {
	// Mode is "sentence" (default): release text at each sentence (or
	// clause) boundary; or "full": hold everything until ResponseDone, for a
	// TTS that needs the whole answer.
	Mode string `yaml:"mode"`
	// Clauses also releases at ", ", "; " and ": ". Default false: Pipecat's
	// SimpleTextAggregator, which the published Daily budget (sentence
	// aggregation 100 ms) was measured with, releases whole sentences.
	Clauses bool `yaml:"clauses"`
	// MinChars is the shortest piece released: a shorter sentence or clause
	// is merged with the next ("Sure!" + "The…"). Default 0, as Pipecat.
	// With clauses, 10–20 avoids feeding the TTS one-word fragments.
	MinChars int `yaml:"min_chars"`
}

// Defaults returns aggregate.sentence's defaults.
func Defaults() *Config { return &Config{Mode: "sentence"} }

// Validate checks the config; errors name the field and value.
func (c *Config) Validate() error {
	if c.Mode != "sentence" && c.Mode != "full" {
		return &pipeline.FieldError{Field: "mode", Value: c.Mode, Reason: "unknown mode (known: sentence, full)"}
	}
	if c.MinChars < 0 {
		return &pipeline.FieldError{Field: "min_chars", Value: strconv.Itoa(c.MinChars), Reason: "must not be negative"}
	}
	return nil
}

// Register adds aggregate.sentence to r.
func Register(r *pipeline.Registry) {
	pipeline.Register(r, "aggregate.sentence", "holds LLM tokens until a sentence (or clause) boundary, or the whole answer, and hands the text to TTS", Defaults, New)
}

// Sentence is the aggregate.sentence stage. It consumes LLMToken and pushes
// AssistantText{Response, Text, Seq: piece index}; on ResponseDone it
// releases what it holds, then forwards the ResponseDone. Everything else is
// forwarded. Interruption/Cancel drop the held text.
type Sentence struct {
	full     bool
	clauses  bool
	minChars int

	buf  []byte // held text of response resp
	scan int    // bytes of buf already ruled out as boundaries
	resp pipeline.ResponseID
	seq  uint64
}

var _ pipeline.Stage = (*Sentence)(nil)

// New builds one aggregate.sentence stage from a validated config.
func New(c *Config) pipeline.Stage {
	return &Sentence{full: c.Mode == "full", clauses: c.Clauses, minChars: c.MinChars, buf: make([]byte, 0, 256)}
}

// Handle aggregates a response's tokens.
func (a *Sentence) Handle(ctx *pipeline.Context, f pipeline.Frame, dir pipeline.Direction) {
	if f.Kind == pipeline.Interruption || f.Kind == pipeline.Cancel {
		if a.resp != 0 && a.resp <= f.Response {
			a.reset(0)
		}
		return
	}
	if dir == pipeline.Downstream {
		switch f.Kind {
		case pipeline.LLMToken:
			a.token(ctx, f)
			return
		case pipeline.ResponseDone:
			if f.Response == a.resp {
				a.flush(ctx)
			}
		}
	}
	ctx.Forward(f, dir)
}

func (a *Sentence) token(ctx *pipeline.Context, f pipeline.Frame) {
	if f.Response != a.resp {
		a.flush(ctx) // a new response: whatever is held belongs to the old one
		a.reset(f.Response)
	}
	a.buf = append(a.buf, f.Text...)
	if a.full {
		return
	}
	for {
		end, resume := boundary(a.buf, a.scan, a.clauses, a.minChars)
		if end == 0 {
			a.scan = resume
			return
		}
		a.push(ctx, a.buf[:end])
		n := copy(a.buf, a.buf[end:])
		a.buf = a.buf[:n]
		a.scan = 0
	}
}

// flush releases everything held.
func (a *Sentence) flush(ctx *pipeline.Context) {
	if long(a.buf, 1) {
		a.push(ctx, a.buf)
	}
	a.buf, a.scan = a.buf[:0], 0
}

func (a *Sentence) push(ctx *pipeline.Context, text []byte) {
	ctx.Push(pipeline.Frame{Kind: pipeline.AssistantText, Response: a.resp, Text: trim(text), At: ctx.Now(), Seq: a.seq})
	a.seq++
}

func (a *Sentence) reset(r pipeline.ResponseID) {
	a.buf, a.scan, a.resp, a.seq = a.buf[:0], 0, r, 0
}

// trim returns b without surrounding whitespace, as a new string.
func trim(b []byte) string {
	lo, hi := 0, len(b)
	for lo < hi && isSpace(b[lo]) {
		lo++
	}
	for hi > lo && isSpace(b[hi-1]) {
		hi--
	}
	return string(b[lo:hi])
}
