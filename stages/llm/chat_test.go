package llm_test

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/stages/llm"
)

const (
	question = "what time is it"
	answer   = "It's a quarter past ten, and the sun is out." // 13 tokens
)

// TestTokenTiming: with constant latencies the first token comes TTFT after
// the request and token k at first + k/rate, to the nanosecond; the
// response ends with the last token.
func TestTokenTiming(t *testing.T) {
	toks := llm.Tokenize(answer)
	cases := []struct {
		name    string
		cfg     string
		rate    float64
		ttft    time.Duration
		wantIn  int64
		history bool
	}{
		{"50 tok/s", "ttft: 300ms\ntokens_per_second: 50\n", 50, 300 * ms, 500 + 4, false},
		{"120 tok/s", "ttft: 450ms\ntokens_per_second: 120\ncontext_tokens: 0\n", 120, 450 * ms, 4, false},
		// prefill: (500 + 4) input tokens at 1000 tok/s adds 504 ms
		{"prefill", "ttft: 100ms\ntokens_per_second: 100\nprefill_tokens_per_second: 1000\n", 100, 604 * ms, 504, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, build(t, tc.cfg), pipeline.Options{Replies: replies(map[string]string{question: answer})})
			req := time.Second
			h.final(req, 7, question)
			h.VC.Run()

			started := h.Of(pipeline.ResponseStarted)
			if len(started) != 1 || started[0].At != req || started[0].F.Response != 7 {
				t.Errorf("ResponseStarted %v; want one for r7 at %v", started, req)
			}
			got := h.Of(pipeline.LLMToken)
			if len(got) != len(toks) {
				t.Fatalf("got %d tokens; want %d", len(got), len(toks))
			}
			var text strings.Builder
			for k, g := range got {
				want := req + tc.ttft + time.Duration(math.Round(float64(k)*1e9/tc.rate))
				if g.At != want || g.F.Seq != uint64(k) || g.F.Response != 7 || g.F.Text != toks[k] {
					t.Errorf("token %d: r%d #%d %q at %v; want r7 #%d %q at %v", k, g.F.Response, g.F.Seq, g.F.Text, g.At, k, toks[k], want)
				}
				text.WriteString(g.F.Text)
			}
			if text.String() != answer {
				t.Errorf("tokens spell %q; want the scripted reply %q", text.String(), answer)
			}
			last := got[len(got)-1].At
			done := h.Of(pipeline.ResponseDone)
			if len(done) != 1 || done[0].At != last || done[0].F.Response != 7 {
				t.Errorf("ResponseDone %v; want one for r7 at %v", done, last)
			}
			tl := h.S.Timeline()
			for _, m := range []struct {
				name string
				At   time.Duration
			}{{pipeline.MarkLLMRequest, req}, {pipeline.MarkLLMFirstToken, req + tc.ttft}, {pipeline.MarkLLMDone, last}, {pipeline.MarkResponseText, last}} {
				if got, ok := tl.First(m.name, 7); !ok || got.At != m.At {
					t.Errorf("mark %s at %v (found %v); want %v", m.name, got.At, ok, m.At)
				}
			}
			if m, _ := tl.First(pipeline.MarkResponseText, 7); m.Text != answer {
				t.Errorf("response.text %q; want %q", m.Text, answer)
			}
			c := h.S.Counters()
			if c["llm.tokens_in"] != tc.wantIn || c["llm.tokens_out"] != int64(len(toks)) {
				t.Errorf("tokens in/out = %d/%d; want %d/%d", c["llm.tokens_in"], c["llm.tokens_out"], tc.wantIn, len(toks))
			}
		})
	}
}

// TestInterruptionStopsTokens: after an interruption nothing of the
// response is pushed; what was generated is recorded and the unheard answer
// stays out of the history.
func TestInterruptionStopsTokens(t *testing.T) {
	for _, kind := range []pipeline.Kind{pipeline.Interruption, pipeline.Cancel} {
		t.Run(kind.String(), func(t *testing.T) {
			chat := build(t, "ttft: 300ms\ntokens_per_second: 50\n")
			h := newHarness(t, chat, pipeline.Options{Replies: replies(map[string]string{question: answer})})
			h.final(time.Second, 1, question)
			cut := 1350 * ms // tokens at 1.30, 1.32, 1.34 are out
			h.Send(cut, pipeline.Frame{Kind: kind, Response: 1})
			h.VC.Run()
			for _, r := range h.Down {
				if r.F.Response == 1 && r.At > cut {
					t.Errorf("pushed %v at %v after the %v at %v", r.F, r.At, kind, cut)
				}
			}
			if n := len(h.Of(pipeline.LLMToken)); n != 3 {
				t.Errorf("%d tokens out; want 3", n)
			}
			tl := h.S.Timeline()
			if _, ok := tl.First(pipeline.MarkLLMDone, 1); ok {
				t.Error("llm.done stamped for a cut response")
			}
			if m, _ := tl.First(pipeline.MarkResponseText, 1); m.Text != "It's a" {
				t.Errorf("response.text %q; want the generated part %q", m.Text, "It's a")
			}
			if got, want := chat.History(), []llm.Message{{Role: "user", Text: question, Response: 1}}; !slices.Equal(got, want) {
				t.Errorf("history %v; want %v", got, want)
			}
			if h.S.Pending() != 0 {
				t.Errorf("%d events pending", h.S.Pending())
			}
		})
	}
}

// TestBankAnswers: without a scripted reply the answer comes from the bank,
// the same one for the same seed.
func TestBankAnswers(t *testing.T) {
	run := func(seed uint64) string {
		h := newHarness(t, build(t, "ttft: 10ms\ntokens_per_second: 1000\n"), pipeline.Options{Seed: seed, Replies: replies(nil)})
		h.final(0, 1, "tell me something")
		h.VC.Run()
		m, _ := h.S.Timeline().First(pipeline.MarkResponseText, 1)
		return m.Text
	}
	a, b := run(3), run(3)
	if a != b {
		t.Errorf("same seed gave %q and %q", a, b)
	}
	if a == "" || !strings.Contains(llm.BankText(), a) {
		t.Errorf("answer %q is not from the bank", a)
	}
	seen := map[string]bool{}
	for seed := range uint64(20) {
		seen[run(seed)] = true
	}
	if len(seen) < 5 {
		t.Errorf("20 seeds gave only %d distinct answers", len(seen))
	}

	// Within a session, an answer is never repeated straight away.
	h := newHarness(t, build(t, "ttft: 10ms\ntokens_per_second: 1000\n"), pipeline.Options{Seed: 1})
	for i := range 40 {
		h.final(time.Duration(i)*time.Second, pipeline.ResponseID(i+1), "tell me something")
	}
	h.VC.Run()
	prev := ""
	for i := range 40 {
		m, _ := h.S.Timeline().First(pipeline.MarkResponseText, pipeline.ResponseID(i+1))
		if m.Text == prev {
			t.Errorf("answer %d repeats answer %d: %q", i+1, i, m.Text)
		}
		prev = m.Text
	}
}

// TestJitterKeepsOrderAndMeanRate: with per-token jitter the intervals vary
// but tokens stay in order and the mean rate holds.
func TestJitterKeepsOrderAndMeanRate(t *testing.T) {
	long := strings.Repeat("the cat sat on the mat ", 100) // 600 tokens
	h := newHarness(t, build(t, "ttft: 0s\ntokens_per_second: 100\ntoken_jitter: 0.5\n"), pipeline.Options{Seed: 9, Replies: replies(map[string]string{"go": long})})
	h.final(0, 1, "go")
	h.VC.Run()
	got := h.Of(pipeline.LLMToken)
	distinct := map[time.Duration]bool{}
	for k := 1; k < len(got); k++ {
		d := got[k].At - got[k-1].At
		if d < 0 {
			t.Fatalf("token %d before token %d", k, k-1)
		}
		distinct[d] = true
	}
	if len(distinct) < 10 {
		t.Errorf("only %d distinct intervals; jitter not applied", len(distinct))
	}
	span := got[len(got)-1].At - got[0].At
	want := time.Duration(len(got)-1) * 10 * ms
	if span < want*9/10 || span > want*11/10 {
		t.Errorf("stream took %v; want %v ±10%% (mean rate 100 tok/s)", span, want)
	}
}
