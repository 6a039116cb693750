package llm

import (
	"strings"
	"unicode"

	"github.com/voicesim/voicesim/pipeline"
)

// The conversation history is what the next request sends: each exchange's
// user transcript and the assistant text the user actually heard. An answer
// cut off by a barge-in keeps only its heard part — the text of the
// PlaybackStopped the client's playout sends upstream (or, if it reports
// only milliseconds played, that many seconds × heard_words_per_second
// words). Until the playout reports, an interrupted answer counts as
// unheard: history must not hold words the user never heard.
//
// An exchange cancelled before any of it played (a premature endpoint: the
// user simply carried on) is unanswered. If the next transcript begins with
// its user text — the STT carried the words over — it is dropped, so the
// user's words appear once.

// Message is one entry of the conversation history.
type Message struct {
	Role     string // "user" or "assistant"
	Text     string
	Response pipeline.ResponseID
}

// exchange is one request and its answer.
type exchange struct {
	r          pipeline.ResponseID
	user       string
	userTokens int
	full       string // the answer as generated
	said       string // the part of it the history keeps
	saidTokens int
	audible    bool // playback started at the client
	heardKnown bool // the playout reported what was heard
	cancelled  bool
}

// setSaid sets what the history keeps of e's answer.
func (c *Chat) setSaid(e *exchange, s string) {
	n := CountTokens(s)
	c.histTokens += n - e.saidTokens
	e.said, e.saidTokens = s, n
}

// remember appends an exchange to the history.
func (c *Chat) remember(e exchange) {
	c.histTokens += e.userTokens + e.saidTokens
	c.history = append(c.history, e)
}

// History returns the conversation so far, oldest first. Assistant turns
// nobody heard are left out.
func (c *Chat) History() []Message {
	out := make([]Message, 0, 2*len(c.history))
	for _, e := range c.history {
		if e.user != "" {
			out = append(out, Message{Role: "user", Text: e.user, Response: e.r})
		}
		if e.said != "" {
			out = append(out, Message{Role: "assistant", Text: e.said, Response: e.r})
		}
	}
	return out
}

func (c *Chat) exchange(r pipeline.ResponseID) *exchange {
	for i := len(c.history) - 1; i >= 0; i-- {
		if c.history[i].r == r {
			return &c.history[i]
		}
	}
	return nil
}

func (c *Chat) audible(r pipeline.ResponseID) {
	if e := c.exchange(r); e != nil {
		e.audible = true
	}
}

// heard truncates an answer to what its PlaybackStopped says was heard.
func (c *Chat) heard(f pipeline.Frame) {
	e := c.exchange(f.Response)
	if e == nil {
		return
	}
	e.heardKnown = true
	if f.Text != "" {
		c.setSaid(e, f.Text)
		return
	}
	c.setSaid(e, wordsPrefix(e.full, int(f.Value/1000*c.heardWPS)))
}

// forgetUnanswered drops the last exchange if it was cancelled unheard and
// the new transcript repeats its user text.
func (c *Chat) forgetUnanswered(transcript string) {
	n := len(c.history)
	if n == 0 {
		return
	}
	e := &c.history[n-1]
	if e.cancelled && !e.audible && e.said == "" && strings.HasPrefix(transcript, e.user) {
		c.histTokens -= e.userTokens + e.saidTokens
		c.history = c.history[:n-1]
	}
}

// wordsPrefix returns the first n words of s, with their punctuation.
func wordsPrefix(s string, n int) string {
	if n <= 0 {
		return ""
	}
	in := false
	for i, r := range s {
		sp := unicode.IsSpace(r)
		if sp && in {
			n--
			if n == 0 {
				return s[:i]
			}
		}
		in = !sp
	}
	return s
}
