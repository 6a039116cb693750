package aggregate

import (
	"bytes"
	"unicode"
	"unicode/utf8"
)

// Sentence boundaries. Text is released at ". ", "! ", "? " (a run of
// terminal punctuation, closing quotes or brackets included, followed by
// whitespace), at a newline, or — with clauses — at ", ", "; ", ": ".
//
// A sentence end is confirmed only once the next non-space character has
// arrived, as Pipecat's SimpleTextAggregator does (it "waits for lookahead"
// before releasing a sentence). In a token stream that is the token after
// the punctuation (" How"): one inter-token interval, ~8 ms at 120 tokens/s.
// The lookahead is what avoids false boundaries:
//
//   - decimals and times ("3.5", "10:30", "1,000"): no whitespace follows;
//   - titles ("Dr. Patel", "Mr.", "St.", "vs."): never a sentence end;
//   - initials and dotted abbreviations ("J. Smith", "e.g.", "U.S.", "p.m."):
//     never a sentence end;
//   - a period followed by a lowercase word ("etc. and", "approx. ten"):
//     not a sentence end;
//   - list numbers at the start of a line ("1. First"): not a sentence end.
//
// Clause boundaries need only the whitespace after the punctuation.

// titles are abbreviations that precede a name, never ending a sentence.
var titles = [...]string{"mr", "mrs", "ms", "dr", "prof", "st", "mt", "sr", "jr", "vs", "rev", "gen", "sgt", "capt", "lt", "col", "gov", "sen", "rep"}

func isTerminal(c byte) bool { return c == '.' || c == '!' || c == '?' }
func isClause(c byte) bool   { return c == ',' || c == ';' || c == ':' }
func isCloser(c byte) bool   { return c == '"' || c == '\'' || c == ')' || c == ']' || c == '}' }
func isSpace(c byte) bool    { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// boundary returns the end of the first releasable piece of b (scanning
// from byte from), or 0 if none is confirmed yet; resume is where to resume
// scanning when more text arrives.
func boundary(b []byte, from int, clauses bool, minChars int) (end, resume int) {
	for i := from; i < len(b); i++ {
		c := b[i]
		if c == '\n' {
			if long(b[:i], max(minChars, 1)) {
				return i + 1, 0
			}
			continue
		}
		if !isTerminal(c) && !(clauses && isClause(c)) {
			continue
		}
		j, terminal, clause := punctRun(b, i, clauses)
		switch {
		case j == len(b):
			return 0, i // need what follows the run
		case !isSpace(b[j]):
			i = j - 1 // "3.5", "10:30": not a boundary
			continue
		}
		if terminal {
			k := j
			for k < len(b) && isSpace(b[k]) {
				k++
			}
			if k == len(b) {
				return 0, i // need the next word
			}
			if sentenceEnd(b, i, k) && long(b[:j], minChars) {
				return j, 0
			}
		}
		if clause && long(b[:j], minChars) {
			return j, 0
		}
		i = j - 1
	}
	return 0, len(b)
}

// Closing curly quotes, UTF-8.
var (
	rdquo = []byte("”")
	rsquo = []byte("’")
)

// punctRun returns the end of the run of punctuation and closing quotes or
// brackets starting at b[i], and whether it holds terminal or (when clauses
// count) clause punctuation.
func punctRun(b []byte, i int, clauses bool) (j int, terminal, clause bool) {
	for j = i; j < len(b); j++ {
		c := b[j]
		switch {
		case isTerminal(c):
			terminal = true
		case isClause(c):
			clause = clause || clauses
		case isCloser(c):
		case bytes.HasPrefix(b[j:], rdquo) || bytes.HasPrefix(b[j:], rsquo):
			j += len(rdquo) - 1
		default:
			return j, terminal, clause
		}
	}
	return j, terminal, clause
}

// sentenceEnd decides whether the terminal punctuation at b[i] ends a
// sentence, given that the next word starts at b[k].
func sentenceEnd(b []byte, i, k int) bool {
	if r, _ := utf8.DecodeRune(b[k:]); unicode.IsLower(r) {
		return false
	}
	if b[i] != '.' {
		return true // ! or ?
	}
	// The word before the period: letters, digits and inner dots.
	w := i
	for w > 0 {
		r, n := utf8.DecodeLastRune(b[:w])
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.') {
			break
		}
		w -= n
	}
	word := b[w:i]
	switch {
	case len(word) == 0:
		return true
	case bytes.IndexByte(word, '.') >= 0: // dotted: e.g, U.S, p.m
		return false
	case utf8.RuneCount(word) == 1 && unicode.IsLetter(first(word)): // an initial
		return false
	case isTitle(word):
		return false
	case allDigits(word) && lineStart(b, w):
		return false // a list number
	}
	return true
}

func first(w []byte) rune {
	r, _ := utf8.DecodeRune(w)
	return r
}

func isTitle(word []byte) bool {
	for _, t := range titles {
		if len(word) != len(t) {
			continue
		}
		match := true
		for k := range len(t) {
			if word[k]|0x20 != t[k] {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

func allDigits(w []byte) bool {
	for _, c := range w {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// lineStart reports whether only whitespace precedes b[w] on its line.
func lineStart(b []byte, w int) bool {
	for k := w - 1; k >= 0; k-- {
		if b[k] == '\n' {
			return true
		}
		if !isSpace(b[k]) {
			return false
		}
	}
	return true
}

// long reports whether b, trimmed, has at least n characters (and is not
// empty).
func long(b []byte, n int) bool {
	lo, hi := 0, len(b)
	for lo < hi && isSpace(b[lo]) {
		lo++
	}
	for hi > lo && isSpace(b[hi-1]) {
		hi--
	}
	return hi > lo && utf8.RuneCount(b[lo:hi]) >= n
}
