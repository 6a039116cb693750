package tts

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/pipeline/audio"
)

// maxRecords bounds how many responses' sentences are kept waiting for a
// playback report (a response cut off before it played gets none).
const maxRecords = 16

// record is what a response's audio is made of: its sentences in order,
// each with the length it occupies in the response's audio (whole frames)
// and the length of its speech.
type record struct {
	id    pipeline.ResponseID
	parts []part
}

type part struct {
	text          string
	audio, speech time.Duration
}

func (r *record) add(text string, audioLen, speech time.Duration) {
	r.parts = append(r.parts, part{text: text, audio: audioLen, speech: speech})
}

func (t *TTS) record(id pipeline.ResponseID) *record {
	for _, r := range t.records {
		if r.id == id {
			return r
		}
	}
	if len(t.records) == maxRecords {
		t.records = append(t.records[:0], t.records[1:]...)
	}
	r := &record{id: id}
	t.records = append(t.records, r)
	return r
}

// stopped fills in a playback report's Text with what the user heard, stamps
// response.heard, and sends the report on upstream (to the LLM, whose
// history should keep only what was heard).
func (t *TTS) stopped(f pipeline.Frame) {
	for i, r := range t.records {
		if r.id != f.Response {
			continue
		}
		played := time.Duration(f.Value * float64(time.Millisecond))
		heard, frac := r.heard(played, t.synth)
		f.Text = heard
		t.ctx.MarkText(pipeline.MarkHeard, f.Response, heard, frac)
		t.records = append(t.records[:i], t.records[i+1:]...)
		break
	}
	t.ctx.Forward(f, pipeline.Upstream)
}

// heard returns the text of the first played of the response's audio and
// its share of the response's text (in characters): every sentence whose
// speech was played in full, then the words of the sentence being played
// whose end had been reached.
func (r *record) heard(played time.Duration, sy *audio.Synth) (string, float64) {
	var b strings.Builder
	add := func(s string) {
		if s == "" {
			return
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s)
	}
	var pos time.Duration
	for _, p := range r.parts {
		if played >= pos+p.speech && (p.speech > 0 || played > pos) {
			add(p.text)
			pos += p.audio
			continue
		}
		if off := played - pos; off > 0 {
			add(spokenPrefix(p.text, off, sy))
		}
		break
	}
	heard := b.String()
	total := 0
	for i, p := range r.parts {
		total += utf8.RuneCountInString(p.text)
		if i > 0 {
			total++ // the joining space
		}
	}
	if total == 0 {
		return heard, 0
	}
	return heard, float64(utf8.RuneCountInString(heard)) / float64(total)
}

// spokenPrefix returns the longest prefix of text, cut at the end of a word,
// whose synthesis lasts no longer than off. The synthesiser lays out the
// same syllables with the same timing for a prefix as for the whole text,
// except that the prefix's last syllable is lengthened as phrase-final, so
// a word counts as heard a fifth of a syllable after it really ended: a
// conservative cut.
func spokenPrefix(text string, off time.Duration, sy *audio.Synth) string {
	heard := ""
	inWord := false
	try := func(end int) bool {
		prefix := text[:end]
		if sy.SpeakDuration(prefix) > off {
			return false
		}
		heard = prefix
		return true
	}
	for i, c := range text {
		w := isWordRune(c)
		if inWord && !w && !try(i) {
			return heard
		}
		inWord = w
	}
	if inWord {
		try(len(text))
	}
	return heard
}

// isWordRune matches the synthesiser's words: letters and digits, with
// apostrophes inside contractions.
func isWordRune(c rune) bool {
	return unicode.IsLetter(c) || unicode.IsDigit(c) || c == '\'' || c == '’'
}
