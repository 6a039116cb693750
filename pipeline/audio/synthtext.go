package audio

import (
	"strings"
	"time"
	"unicode"
)

// phrase is a run of words between pauses.
type phrase struct {
	words      []string
	pauseAfter time.Duration
	question   bool
}

// splitPhrases breaks text into lower-case words grouped into phrases at
// punctuation. Between two phrases the strongest punctuation wins: a
// sentence end gives the long pause, a comma (; : — ( )) the short one.
// Apostrophes are elided ("what's" is one word); hyphens and other symbols
// separate words without a pause ("uh-huh" is two words, one breath).
func splitPhrases(text string) []phrase {
	var (
		out      []phrase
		cur      phrase
		word     []rune
		pending  time.Duration // pause owed before the next word
		question bool
	)
	flush := func() {
		if len(word) > 0 {
			cur.words = append(cur.words, string(word))
			word = word[:0]
		}
	}
	for _, r := range text {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if pending > 0 && len(cur.words) > 0 {
				cur.pauseAfter, cur.question = pending, question
				out = append(out, cur)
				cur = phrase{}
			}
			pending, question = 0, false
			word = append(word, unicode.ToLower(r))
		case r == '\'' || r == '’':
			// Elided: contractions and possessives stay one word.
		default:
			flush()
			switch r {
			case '.', '!', '?', '…':
				pending = synthLongPause
				question = r == '?'
			case ',', ';', ':', '—', '–', '(', ')':
				pending = max(pending, synthShortPause)
			}
		}
	}
	flush()
	if len(cur.words) > 0 {
		cur.question = question
		out = append(out, cur)
	}
	return out
}

// syllableSpec is a syllable as read from spelling.
type syllableSpec struct {
	onset, coda consonant
	v0, v1      formants
	stressed    bool
}

// syllabify estimates a word's syllables from its vowel groups (a common
// spelling heuristic, right for most English words to within one), with a
// silent final e ("like" is one syllable, "table" two). Digits and CJK
// characters are a syllable each. A word with no vowels ("hmm", "shh") is
// one syllable.
func syllabify(word string) []syllableSpec {
	rs := []rune(word)
	type group struct{ lo, hi int }
	var groups []group
	for i := 0; i < len(rs); {
		if syllabicRune(rs[i]) {
			groups = append(groups, group{i, i + 1})
			i++
			continue
		}
		if !isVowel(rs, i) {
			i++
			continue
		}
		j := i + 1
		for j < len(rs) && isVowel(rs, j) && !syllabicRune(rs[j]) {
			j++
		}
		groups = append(groups, group{i, j})
		i = j
	}
	if n := len(groups); n > 1 {
		last := groups[n-1]
		if last.lo == len(rs)-1 && rs[last.lo] == 'e' && !(last.lo >= 2 && rs[last.lo-1] == 'l' && !isVowel(rs, last.lo-2)) {
			groups = groups[:n-1]
		}
	}
	if len(groups) == 0 {
		return []syllableSpec{{onset: classifyConsonants(rs), v0: vowelU, v1: vowelU}}
	}
	out := make([]syllableSpec, len(groups))
	prevEnd := 0
	for k, g := range groups {
		sp := syllableSpec{
			onset:    classifyConsonants(rs[prevEnd:g.lo]),
			v0:       vowelFormants(rs[g.lo]),
			v1:       vowelFormants(rs[g.hi-1]),
			stressed: k == 0 && len(groups) > 1,
		}
		if k == len(groups)-1 {
			sp.coda = classifyConsonants(rs[g.hi:])
		}
		out[k] = sp
		prevEnd = g.hi
	}
	return out
}

// syllabicRune reports runes that are a syllable on their own.
func syllabicRune(r rune) bool {
	return unicode.IsDigit(r) || unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

const (
	vowelsA = "aàáâãäåæаяα"
	vowelsE = "eèéêëеэёεη"
	vowelsI = "iìíîïиыιy"
	vowelsO = "oòóôõöøœоω"
	vowelsU = "uùúûüуюου"
)

// isVowel reports whether rs[i] is a vowel letter; y is a consonant before
// a vowel at the start of a word ("yes") and a vowel elsewhere ("my").
func isVowel(rs []rune, i int) bool {
	r := rs[i]
	if syllabicRune(r) {
		return true
	}
	if r == 'y' {
		return !(i == 0 && len(rs) > 1 && isVowel(rs, 1))
	}
	return strings.ContainsRune(vowelsA+vowelsE+vowelsI+vowelsO+vowelsU, r)
}

// vowelFormants maps a vowel letter (or syllabic rune) to formant targets.
func vowelFormants(r rune) formants {
	switch {
	case strings.ContainsRune(vowelsA, r):
		return vowelA
	case strings.ContainsRune(vowelsE, r):
		return vowelE
	case strings.ContainsRune(vowelsI, r):
		return vowelI
	case strings.ContainsRune(vowelsO, r):
		return vowelO
	case strings.ContainsRune(vowelsU, r):
		return vowelU
	}
	// Digits and CJK: vary deterministically by code point so a run of
	// them does not sound like one repeated vowel.
	return [...]formants{vowelA, vowelE, vowelI, vowelO, vowelU}[int(r)%5]
}

// classifyConsonants gives a consonant cluster's dominant sound class:
// any fricative makes it a fricative, else any stop makes it a plosive.
func classifyConsonants(cluster []rune) consonant {
	class := consNone
	for i, r := range cluster {
		switch r {
		case 's', 'z', 'f', 'v', 'x', 'j', 'ç', 'ß', 'ш', 'щ', 'ж', 'с', 'з', 'ф', 'в', 'х':
			return consFricative
		case 'h':
			// Silent after w and g ("what", "night"); fricative otherwise,
			// including the digraphs sh, ch, th, ph.
			if i == 0 || (cluster[i-1] != 'w' && cluster[i-1] != 'g') {
				return consFricative
			}
		case 'p', 't', 'k', 'b', 'd', 'g', 'q', 'c', 'п', 'т', 'к', 'б', 'д', 'г':
			class = consPlosive
		default:
			if class == consNone {
				class = consSonorant
			}
		}
	}
	return class
}
