package llm

import (
	"unicode"
	"unicode/utf8"
)

// Tokenize splits text roughly as a BPE tokenizer (GPT's cl100k) would,
// without its vocabulary:
//
//   - a word is one token, its leading space included (" world");
//   - words longer than 8 letters are split into 4-letter pieces;
//   - punctuation and symbols are one token each; English contractions
//     ('s 't 're 've 'm 'll 'd) are one token; digits go in runs of up to 3;
//   - other whitespace runs are tokens of their own.
//
// On conversational English this gives ~1.3 tokens per word, OpenAI's rule
// of thumb ("1 token ≈ ¾ of a word"); TestTokensPerWord checks it on the
// response bank. Tokens are substrings of text and concatenate back to it.
func Tokenize(text string) []string {
	out := make([]string, 0, len(text)/4+1)
	for i := 0; i < len(text); {
		j := nextToken(text, i)
		out = append(out, text[i:j])
		i = j
	}
	return out
}

// CountTokens returns len(Tokenize(text)) without allocating.
func CountTokens(text string) int {
	n := 0
	for i := 0; i < len(text); n++ {
		i = nextToken(text, i)
	}
	return n
}

const (
	wholeWord = 8 // letters: a longer word is split…
	wordPiece = 4 // …into pieces of this many letters
	digitRun  = 3 // digits per token
)

// nextToken returns the end of the token starting at byte i of s.
func nextToken(s string, i int) int {
	r, n := utf8.DecodeRuneInString(s[i:])
	if !unicode.IsSpace(r) {
		return unitEnd(s, i)
	}
	if r == ' ' && i+n < len(s) {
		if r2, _ := utf8.DecodeRuneInString(s[i+n:]); !unicode.IsSpace(r2) {
			return unitEnd(s, i+n) // the space leads the unit after it
		}
	}
	j := i + n
	for j < len(s) {
		r2, n2 := utf8.DecodeRuneInString(s[j:])
		if !unicode.IsSpace(r2) {
			break
		}
		j += n2
	}
	if j < len(s) && j-1 > i && s[j-1] == ' ' {
		j-- // leave one space to lead the next unit
	}
	return j
}

// unitEnd returns the end of the word piece, number or symbol at i.
func unitEnd(s string, i int) int {
	r, n := utf8.DecodeRuneInString(s[i:])
	switch {
	case unicode.IsLetter(r):
		prev, _ := utf8.DecodeLastRuneInString(s[:i])
		midWord := i > 0 && unicode.IsLetter(prev)
		j, letters := i, 0
		for j < len(s) {
			r2, n2 := utf8.DecodeRuneInString(s[j:])
			if !unicode.IsLetter(r2) {
				break
			}
			j += n2
			letters++
		}
		if !midWord && letters <= wholeWord {
			return j
		}
		k := i
		for c := 0; c < wordPiece && k < j; c++ {
			_, n2 := utf8.DecodeRuneInString(s[k:])
			k += n2
		}
		return k
	case unicode.IsDigit(r):
		j := i
		for c := 0; c < digitRun && j < len(s); c++ {
			r2, n2 := utf8.DecodeRuneInString(s[j:])
			if !unicode.IsDigit(r2) {
				break
			}
			j += n2
		}
		return j
	case r == '\'' || r == '’':
		if prev, _ := utf8.DecodeLastRuneInString(s[:i]); i > 0 && unicode.IsLetter(prev) {
			if k := contraction(s, i+n); k > 0 {
				return k
			}
		}
	}
	return i + n
}

// contraction returns the end of a contraction suffix starting at i
// ("s" of "'s", "ll" of "'ll"), or 0.
func contraction(s string, i int) int {
	for _, suf := range [...]string{"s", "t", "m", "d", "re", "ve", "ll"} {
		j := i + len(suf)
		if j > len(s) || !equalFoldASCII(s[i:j], suf) {
			continue
		}
		if r, _ := utf8.DecodeRuneInString(s[j:]); j == len(s) || !unicode.IsLetter(r) {
			return j
		}
	}
	return 0
}

func equalFoldASCII(a, b string) bool {
	for k := 0; k < len(a); k++ {
		if a[k]|0x20 != b[k] {
			return false
		}
	}
	return true
}
