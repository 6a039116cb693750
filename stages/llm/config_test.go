package llm_test

import (
	"strings"
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/pipeline/pipetest"
	"github.com/voicesim/voicesim/stages/llm"
)

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		src  string
		want []string
	}{
		{"tokens_per_second: 0\n", []string{"llm.chat", "field tokens_per_second", `"0"`, "positive"}},
		{"tokens_per_second: -20\n", []string{"field tokens_per_second", `"-20"`, "positive"}},
		{"tokens_per_second: fast\n", []string{"field tokens_per_second", `"fast"`, "number"}},
		{"tokens_per_second: {min: 0, max: 10}\n", []string{"field tokens_per_second.min", `"0"`}},
		{"tokens_per_second: {min: 100, max: 50}\n", []string{"field tokens_per_second.max", `"50"`, "at least min"}},
		{"tokens_per_second: {mean: 120, sd: 10}\n", []string{"field tokens_per_second.sd", "unknown field"}},
		{"profile: claude\n", []string{"llm.chat", "field profile", `"claude"`, "gpt-4o, gpt-4-turbo, gpt-3.5-turbo, fast"}},
		{"ttft: -1ms\n", []string{"field ttft", `"-1ms"`}},
		{"context_tokens: -1\n", []string{"field context_tokens", `"-1"`}},
		{"token_jitter: 2\n", []string{"field token_jitter", `"2"`}},
		{"heard_words_per_second: 0\n", []string{"field heard_words_per_second", `"0"`}},
		{"temperature: 0.7\n", []string{"field temperature", "unknown field", "tokens_per_second"}},
	}
	r := pipeline.NewRegistry()
	llm.Register(r)
	for _, tc := range cases {
		t.Run(strings.TrimSpace(tc.src), func(t *testing.T) {
			_, err := r.Prepare("llm.chat", pipetest.YAML(t, tc.src))
			if err == nil {
				t.Fatal("got nil error; want one")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q; want it to contain %q", err, w)
				}
			}
		})
	}
}

// TestProfiles: each profile resolves to its documented TTFT and rate, and
// explicit fields override it.
func TestProfiles(t *testing.T) {
	cases := []struct {
		src      string
		ttft     string
		rate     string
		meanRate float64
	}{
		{"", "{p50: 450ms, p95: 1s}", "{mean: 120, stddev: 10}", 120},
		{"profile: gpt-4-turbo\n", "{p50: 700ms, p95: 1.6s}", "{min: 50, max: 100}", 75},
		{"profile: gpt-3.5-turbo\n", "{p50: 400ms, p95: 900ms}", "{min: 70, max: 110}", 90},
		{"profile: fast\n", "100ms", "{min: 250, max: 350}", 300},
		{"profile: fast\ntokens_per_second: 40\n", "100ms", "40", 40},
		{"profile: gpt-4-turbo\nttft: {p50: 1s, p95: 3s}\n", "{p50: 1s, p95: 3s}", "{min: 50, max: 100}", 75},
	}
	r := pipeline.NewRegistry()
	llm.Register(r)
	for _, tc := range cases {
		t.Run(strings.TrimSpace(tc.src), func(t *testing.T) {
			p, err := r.Prepare("llm.chat", pipetest.YAML(t, tc.src))
			if err != nil {
				t.Fatal(err)
			}
			ttft, rate := p.Config.(*llm.Config).Resolved()
			if ttft.String() != tc.ttft || rate.String() != tc.rate || rate.Mean() != tc.meanRate {
				t.Errorf("ttft %v, rate %v (mean %v); want %v, %v (mean %v)", ttft, rate, rate.Mean(), tc.ttft, tc.rate, tc.meanRate)
			}
		})
	}
	if d := pipeline.Const(100 * time.Millisecond); d.String() != "100ms" {
		t.Fatalf("Const prints %q", d)
	}
}

// BenchmarkResponse runs one whole bank answer (request, TTFT, every token,
// done) through a session.
func BenchmarkResponse(b *testing.B) {
	h := newHarness(b, build(b, "profile: fast\n"), pipeline.Options{})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h.final(h.S.Now(), pipeline.ResponseID(i+1), "tell me something")
		h.VC.Run()
		h.Down = h.Down[:0]
	}
}
