package llm_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/stages/llm"
)

// TestHistoryKeepsWhatWasHeard: the assistant side of the history is
// truncated to what the playout reports heard; an answer cut before any of
// it played is left out, and its user words are not duplicated when the
// STT carries them into the next transcript. The second request's input
// tokens count exactly that history.
func TestHistoryKeepsWhatWasHeard(t *testing.T) {
	const (
		q1 = "what time is it"
		q2 = "and tomorrow"
	)
	type up struct {
		At time.Duration
		F  pipeline.Frame
	}
	start := pipeline.Frame{Kind: pipeline.PlaybackStarted, Response: 1}
	cases := []struct {
		name      string
		interrupt bool
		ups       []up
		second    string // transcript of the second request
		want      []llm.Message
	}{
		{
			name: "played to the end",
			ups: []up{{1500 * ms, start},
				{3 * time.Second, pipeline.Frame{Kind: pipeline.PlaybackStopped, Response: 1, Text: answer, Value: 2000}}},
			second: q2,
			want:   []llm.Message{{"user", q1, 1}, {"assistant", answer, 1}, {"user", q2, 2}},
		},
		{
			name: "barge-in, playout reports the heard text", interrupt: true,
			ups: []up{{1500 * ms, start},
				{2100 * ms, pipeline.Frame{Kind: pipeline.PlaybackStopped, Response: 1, Text: "It's a quarter", Value: 600}}},
			second: q2,
			want:   []llm.Message{{"user", q1, 1}, {"assistant", "It's a quarter", 1}, {"user", q2, 2}},
		},
		{
			name: "barge-in, playout reports only ms played", interrupt: true,
			// 1.2 s × 2.5 words/s = 3 words
			ups: []up{{1500 * ms, start},
				{2100 * ms, pipeline.Frame{Kind: pipeline.PlaybackStopped, Response: 1, Value: 1200}}},
			second: q2,
			want:   []llm.Message{{"user", q1, 1}, {"assistant", "It's a quarter", 1}, {"user", q2, 2}},
		},
		{
			name: "barge-in, playout has not reported", interrupt: true,
			ups:    []up{{1500 * ms, start}},
			second: q2,
			want:   []llm.Message{{"user", q1, 1}, {"user", q2, 2}},
		},
		{
			name: "cancelled unheard, words carried over", interrupt: true,
			second: q1 + " in Tokyo",
			want:   []llm.Message{{"user", q1 + " in Tokyo", 2}},
		},
		{
			name: "cancelled unheard, new words", interrupt: true,
			second: q2,
			want:   []llm.Message{{"user", q1, 1}, {"user", q2, 2}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			chat := build(t, "ttft: 300ms\ntokens_per_second: 50\ncontext_tokens: 100\n")
			h := newHarness(t, chat, pipeline.Options{Replies: replies(map[string]string{q1: answer})})
			h.final(time.Second, 1, q1)
			if tc.interrupt {
				h.Send(2*time.Second, pipeline.Frame{Kind: pipeline.Interruption, Response: 1})
			}
			for _, u := range tc.ups {
				h.SendUp(u.At, u.F)
			}
			h.VC.RunUntil(5 * time.Second)
			in1 := h.S.Counters()["llm.tokens_in"]
			h.final(5*time.Second, 2, tc.second)
			h.VC.RunUntil(5 * time.Second)

			got := chat.History()
			// The second answer is a bank answer, still being generated:
			// compare what precedes it.
			if n := len(got); n > 0 && got[n-1].Role == "assistant" && got[n-1].Response == 2 {
				got = got[:n-1]
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("history\n got %v\nwant %v", got, tc.want)
			}
			// tokens_in of the second request: context + earlier history + transcript.
			wantIn := int64(100)
			for _, m := range tc.want {
				wantIn += int64(llm.CountTokens(m.Text))
			}
			if got := h.S.Counters()["llm.tokens_in"] - in1; got != wantIn {
				t.Errorf("second request tokens_in = %d; want %d", got, wantIn)
			}
			if len(h.Up) != len(tc.ups) {
				t.Errorf("%d playback frames forwarded upstream; want %d", len(h.Up), len(tc.ups))
			}
		})
	}
}

// TestHistoryNeverHoldsUnheardWords runs many barge-ins at random points:
// every assistant message in the history is a prefix of what was reported
// heard.
func TestHistoryNeverHoldsUnheardWords(t *testing.T) {
	chat := build(t, "ttft: 200ms\ntokens_per_second: 80\n")
	h := newHarness(t, chat, pipeline.Options{Seed: 5})
	cut := map[pipeline.ResponseID]bool{}
	for i := range 20 {
		r := pipeline.ResponseID(i + 1)
		t0 := time.Duration(i) * 10 * time.Second
		h.final(t0, r, "question number "+strings.Repeat("x", i+1))
		h.SendUp(t0+400*ms, pipeline.Frame{Kind: pipeline.PlaybackStarted, Response: r})
		if i%2 == 0 {
			at := t0 + 400*ms + time.Duration(i)*150*ms
			h.Send(at, pipeline.Frame{Kind: pipeline.Interruption, Response: r})
			// i/2 words heard, at 2.5 words/s
			h.SendUp(at+50*ms, pipeline.Frame{Kind: pipeline.PlaybackStopped, Response: r, Value: float64(i/2) * 400})
			cut[r] = true
		}
	}
	h.VC.Run()
	for _, m := range chat.History() {
		if m.Role != "assistant" {
			continue
		}
		full, _ := h.S.Timeline().First(pipeline.MarkResponseText, m.Response)
		if !strings.HasPrefix(full.Text, m.Text) {
			t.Errorf("r%d history %q is not a prefix of the answer %q", m.Response, m.Text, full.Text)
		}
		if cut[m.Response] && len(strings.Fields(m.Text)) != int(m.Response-1)/2 {
			t.Errorf("r%d history keeps %d words; want the %d heard", m.Response, len(strings.Fields(m.Text)), (m.Response-1)/2)
		}
	}
}
