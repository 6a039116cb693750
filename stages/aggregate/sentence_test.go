package aggregate_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/pipeline/pipetest"
	"github.com/voicesim/voicesim/stages/aggregate"
)

const ms = time.Millisecond

// tokenRE splits text roughly like an LLM tokenizer: words and numbers with
// their leading space, punctuation on its own.
var tokenRE = regexp.MustCompile(`\s?[\p{L}\p{N}]+|\s?[^\s\p{L}\p{N}]|\s+`)

type rec = pipetest.Rec

// harness is the shared stage harness, with this package's helpers.
type harness struct{ *pipetest.Harness }

func newHarness(t testing.TB, cfg string) *harness {
	t.Helper()
	p, err := pipetest.Prepare(t, aggregate.Register, "aggregate.sentence", cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{pipetest.New(t, "agg", p.New(), pipeline.Options{})}
}

// stream sends text as tokens of response r, one every 10 ms from t0, then
// ResponseDone; it returns the tokens' times.
func (h *harness) stream(t0 time.Duration, r pipeline.ResponseID, text string) []time.Duration {
	var at []time.Duration
	for k, tok := range tokenRE.FindAllString(text, -1) {
		t := t0 + time.Duration(k)*10*ms
		h.Send(t, pipeline.Frame{Kind: pipeline.LLMToken, Response: r, Seq: uint64(k), Text: tok})
		at = append(at, t)
	}
	h.Send(at[len(at)-1]+10*ms, pipeline.Frame{Kind: pipeline.ResponseDone, Response: r})
	return at
}

func (h *harness) texts() []string {
	var out []string
	for _, r := range h.Down {
		if r.F.Kind == pipeline.AssistantText {
			out = append(out, r.F.Text)
		}
	}
	return out
}

func TestPieces(t *testing.T) {
	cases := []struct {
		name, cfg, text string
		want            []string
	}{
		{"sentences", "", "Hello there. How are you? I am fine!",
			[]string{"Hello there.", "How are you?", "I am fine!"}},
		{"decimal", "", "It costs 3.5 dollars. Okay.",
			[]string{"It costs 3.5 dollars.", "Okay."}},
		{"title and time", "", "Your meeting is with Dr. Patel at 10:30. It is short.",
			[]string{"Your meeting is with Dr. Patel at 10:30.", "It is short."}},
		{"dotted abbreviation", "", "Expect rain after 4 p.m., so take an umbrella. Bye!",
			[]string{"Expect rain after 4 p.m., so take an umbrella.", "Bye!"}},
		{"initial", "", "It was J. Smith who called. He left.",
			[]string{"It was J. Smith who called.", "He left."}},
		{"lowercase after period", "", "Apples, pears, etc. and more. Done.",
			[]string{"Apples, pears, etc. and more.", "Done."}},
		{"number ends a sentence", "", "The answer is 42. Next question.",
			[]string{"The answer is 42.", "Next question."}},
		{"closing quote", "", `He said "hi." Then he left.`,
			[]string{`He said "hi."`, "Then he left."}},
		{"ellipsis", "", "Well... I think so. Yes.",
			[]string{"Well...", "I think so.", "Yes."}},
		{"list", "", "Steps:\n1. Boil water.\n2. Add pasta.",
			[]string{"Steps:", "1. Boil water.", "2. Add pasta."}},
		{"clauses", "clauses: true\n", "Sure, I can do that; first, tell me: when?",
			[]string{"Sure,", "I can do that;", "first,", "tell me:", "when?"}},
		{"clauses, thousands", "clauses: true\n", "About 1,000 people came, I think.",
			[]string{"About 1,000 people came,", "I think."}},
		{"clauses, min_chars", "clauses: true\nmin_chars: 10\n", "Sure, I can do that; first, tell me: when?",
			[]string{"Sure, I can do that;", "first, tell me:", "when?"}},
		{"min_chars merges a short sentence", "min_chars: 20\n", "Sure! The weather is sunny today. Bye.",
			[]string{"Sure! The weather is sunny today.", "Bye."}},
		{"full", "mode: full\n", "Hello there. How are you?",
			[]string{"Hello there. How are you?"}},
		{"no punctuation", "", "just some words", []string{"just some words"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.cfg)
			h.stream(0, 1, tc.text)
			h.VC.Run()
			if got := h.texts(); !slices.Equal(got, tc.want) {
				t.Errorf("pieces\n got %q\nwant %q", got, tc.want)
			}
			if got := strings.Join(h.texts(), " "); strings.Join(strings.Fields(got), " ") != strings.Join(strings.Fields(tc.text), " ") {
				t.Errorf("pieces lose or add text: %q", got)
			}
		})
	}
}

// TestLookaheadAcrossWhitespaceToken: when whitespace arrives as a token of
// its own, the decision waits for the word after it.
func TestLookaheadAcrossWhitespaceToken(t *testing.T) {
	cases := []struct {
		toks []string
		want []string
	}{
		{[]string{"Pears", " etc", ".", " ", "and", " more", "."}, []string{"Pears etc. and more."}},
		{[]string{"Pears", " etc", ".", " ", "And", " more", "."}, []string{"Pears etc.", "And more."}},
	}
	for _, tc := range cases {
		h := newHarness(t, "")
		for k, tok := range tc.toks {
			h.Send(time.Duration(k)*ms, pipeline.Frame{Kind: pipeline.LLMToken, Response: 1, Text: tok})
		}
		h.Send(time.Second, pipeline.Frame{Kind: pipeline.ResponseDone, Response: 1})
		h.VC.Run()
		if got := h.texts(); !slices.Equal(got, tc.want) {
			t.Errorf("tokens %q released %q; want %q", tc.toks, got, tc.want)
		}
	}
}

// piece is one AssistantText as released.
type piece struct {
	at   time.Duration
	r    pipeline.ResponseID
	seq  uint64
	text string
}

// TestReleaseTiming: a sentence is released when the token after its
// terminal punctuation arrives (a clause when the token after the comma
// does); the rest on ResponseDone, which follows it.
func TestReleaseTiming(t *testing.T) {
	// Tokens at 0, 10, … 70 ms: Hello , ␣world . ␣How ␣are ␣you ?
	// and ResponseDone at 80 ms.
	const text = "Hello, world. How are you?"
	cases := []struct {
		cfg  string
		want []piece
	}{
		{"", []piece{{40 * ms, 3, 0, "Hello, world."}, {80 * ms, 3, 1, "How are you?"}}},
		{"clauses: true\n", []piece{{20 * ms, 3, 0, "Hello,"}, {40 * ms, 3, 1, "world."}, {80 * ms, 3, 2, "How are you?"}}},
		{"mode: full\n", []piece{{80 * ms, 3, 0, "Hello, world. How are you?"}}},
	}
	for _, tc := range cases {
		t.Run(tc.cfg, func(t *testing.T) {
			h := newHarness(t, tc.cfg)
			h.stream(0, 3, text)
			h.VC.Run()
			var got []piece
			for _, r := range h.Down {
				if r.F.Kind == pipeline.AssistantText {
					got = append(got, piece{r.At, r.F.Response, r.F.Seq, r.F.Text})
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("released\n got %v\nwant %v", got, tc.want)
			}
			last := h.Down[len(h.Down)-1]
			if last.F.Kind != pipeline.ResponseDone || last.F.Response != 3 || last.At != 80*ms {
				t.Errorf("last frame out %v at %v; want ResponseDone r3 at 80ms, after the text", last.F, last.At)
			}
		})
	}
}

// TestInterruptionDropsHeldText: text held for an interrupted response is
// never released; the next response starts clean.
func TestInterruptionDropsHeldText(t *testing.T) {
	for _, kind := range []pipeline.Kind{pipeline.Interruption, pipeline.Cancel} {
		t.Run(kind.String(), func(t *testing.T) {
			h := newHarness(t, "")
			h.stream(0, 1, "First sentence. And a second one that never ends")
			h.Send(45*ms, pipeline.Frame{Kind: kind, Response: 1})
			h.stream(time.Second, 2, "Hi there.")
			h.VC.Run()
			var got []string
			for _, r := range h.Down {
				if r.F.Kind == pipeline.AssistantText {
					got = append(got, r.F.Text)
					if r.F.Response == 1 && r.At > 45*ms {
						t.Errorf("released %q of response 1 after the %v", r.F.Text, kind)
					}
				}
			}
			if want := []string{"First sentence.", "Hi there."}; !slices.Equal(got, want) {
				t.Errorf("released %q; want %q", got, want)
			}
		})
	}
}

// TestForwardsOtherFrames: what the aggregator does not consume passes in
// its direction.
func TestForwardsOtherFrames(t *testing.T) {
	r := pipeline.NewRegistry()
	aggregate.Register(r)
	p, err := r.Prepare("aggregate.sentence")
	if err != nil {
		t.Fatal(err)
	}
	var down, up []pipeline.Kind
	s := pipeline.NewSession(pipeline.Options{Output: func(f pipeline.Frame, dir pipeline.Direction) {
		if dir == pipeline.Upstream {
			up = append(up, f.Kind)
		} else {
			down = append(down, f.Kind)
		}
	}}, pipeline.Named{Name: "agg", Stage: p.New()})
	s.Input(pipeline.Frame{Kind: pipeline.ResponseStarted, Response: 1})
	s.Input(pipeline.Frame{Kind: pipeline.TranscriptPartial, Text: "hi"})
	s.Input(pipeline.Frame{Kind: pipeline.ResponseDone, Response: 1}) // empty answer
	s.InputUp(pipeline.Frame{Kind: pipeline.PlaybackStopped, Response: 1, Value: 300})
	if want := []pipeline.Kind{pipeline.ResponseStarted, pipeline.TranscriptPartial, pipeline.ResponseDone}; !slices.Equal(down, want) {
		t.Errorf("downstream out %v; want %v", down, want)
	}
	if want := []pipeline.Kind{pipeline.PlaybackStopped}; !slices.Equal(up, want) {
		t.Errorf("upstream out %v; want %v", up, want)
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		src  string
		want []string
	}{
		{"mode: streaming\n", []string{"aggregate.sentence", "field mode", `"streaming"`, "sentence, full"}},
		{"min_chars: -1\n", []string{"field min_chars", `"-1"`}},
		{"clause: true\n", []string{"field clause", "unknown field", "clauses"}},
	}
	for _, tc := range cases {
		_, err := pipetest.Prepare(t, aggregate.Register, "aggregate.sentence", tc.src)
		if err == nil {
			t.Errorf("%q: got nil error", tc.src)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: error %q; want it to contain %q", tc.src, err, w)
			}
		}
	}
}

// BenchmarkToken measures one token through the aggregator (a sentence
// released every ~12 tokens).
func BenchmarkToken(b *testing.B) {
	h := newHarness(b, "")
	toks := tokenRE.FindAllString("The Eiffel Tower is about 330 meters tall. It was finished in 1889 for the World's Fair. ", -1)
	in := h.S.Input // bound once: a method value allocates each time it is made
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		in(pipeline.Frame{Kind: pipeline.LLMToken, Response: 1, Text: toks[i%len(toks)]})
		if len(h.Down) > 1024 {
			h.Down = h.Down[:0]
		}
	}
}
