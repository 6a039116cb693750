package llm

import (
	"slices"
	"strings"
	"testing"
)

func TestTokenize(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"Hello, world!", []string{"Hello", ",", " world", "!"}},
		{"I'm sure it's fine.", []string{"I", "'m", " sure", " it", "'s", " fine", "."}},
		{"Dr. Patel at 10:30.", []string{"Dr", ".", " Patel", " at", " 10", ":", "30", "."}},
		{"about 1.08 dollars", []string{"about", " 1", ".", "08", " dollars"}},
		{"internationalization works", []string{"inte", "rnat", "iona", "liza", "tion", " works"}},
		{"a  b\n\nc", []string{"a", " ", " b", "\n\n", "c"}},
		{"1234567", []string{"123", "456", "7"}},
		{"café olé", []string{"café", " olé"}},
		{"", nil},
	}
	for _, tc := range cases {
		got := Tokenize(tc.in)
		if len(got) == 0 {
			got = nil
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("Tokenize(%q) = %q; want %q", tc.in, got, tc.want)
		}
		if n := CountTokens(tc.in); n != len(tc.want) {
			t.Errorf("CountTokens(%q) = %d; want %d", tc.in, n, len(tc.want))
		}
		if j := strings.Join(got, ""); j != tc.in {
			t.Errorf("tokens of %q join to %q", tc.in, j)
		}
	}
}

// TestTokensPerWord: on the response bank the approximation gives the
// documented ~1.3 tokens per word, and tokens always rebuild the text.
func TestTokensPerWord(t *testing.T) {
	toks, words := 0, 0
	for _, s := range bank {
		ts := Tokenize(s)
		if strings.Join(ts, "") != s {
			t.Errorf("tokens of %q do not rebuild it", s)
		}
		toks += len(ts)
		words += len(strings.Fields(s))
	}
	ratio := float64(toks) / float64(words)
	t.Logf("%d tokens / %d words = %.3f", toks, words, ratio)
	if ratio < 1.2 || ratio > 1.4 {
		t.Errorf("tokens per word = %.3f; want 1.3 ± 0.1", ratio)
	}
}
