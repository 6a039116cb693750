package stt

import (
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/voicesim/voicesim/pipeline"
)

// The simulated recognisers are perfect listeners: the words they return
// are the script's ground truth (the text the input script puts on the
// UserAudio frames flagged FlagSpeechStart / FlagSpeechEnd). What they model
// is *when* those words are available and *how much* of an utterance has
// been heard. The flags are used only for the words, never for timing: the
// timing of an utterance comes from the VAD's SpeechStarted / SpeechStopped.
//
// Words of an utterance still being spoken are revealed in proportion to
// the speech time heard so far, at WordsPerSecond, and never the last word
// before the utterance has ended (a word in progress is not yet
// recognisable). So a turn end in the middle of an utterance (a premature
// endpoint) yields only the words said so far. "Speech time heard" runs from
// the frame holding the true onset to the latest audio received — or to the
// VAD's estimated offset while the VAD believes the user is silent, so a
// mid-utterance pause does not reveal words the user has not said yet.
//
// Turns are committed: a transcript holds the words heard since the last
// committed turn end. If that turn's response is cancelled before the user
// heard any of it (a premature endpoint: the user simply carried on), the
// commit is rolled back and its words are carried into the next turn's
// transcript, so the LLM gets the whole utterance once the user is really
// done. A response the user has heard (PlaybackStarted passed upstream) is
// never rolled back: its words were answered.

// defaultWordsPerSecond is the rate at which words of an unfinished
// utterance are revealed: 2.5 words/s = 150 words/min. Assumption: the
// commonly quoted conversational English speaking rate (~150 wpm); no
// figure in DESIGN.md covers it.
const defaultWordsPerSecond = 2.5

// span is one word's byte range in its utterance's text.
type span struct{ from, to int }

// utterance is one true utterance of the script.
type utterance struct {
	text  string
	words []span
	start time.Duration // capture time of the frame holding the true onset
	ended bool
	// from counts words already in a committed transcript; mark is from
	// before the last commit, restored by a rollback.
	from, mark int
}

func newUtterance(text string, start time.Duration) utterance {
	return utterance{text: text, words: splitWords(text), start: start}
}

// splitWords returns the byte spans of the space-separated words of s.
func splitWords(s string) []span {
	var out []span
	in := false
	from := 0
	for i, r := range s {
		sp := unicode.IsSpace(r)
		switch {
		case !sp && !in:
			in, from = true, i
		case sp && in:
			in = false
			out = append(out, span{from, i})
		}
	}
	if in {
		out = append(out, span{from, len(s)})
	}
	return out
}

// tracker follows what a recogniser has heard: the true utterances (for
// words), the VAD's speech segments (for timing and audio length), and the
// arriving audio.
type tracker struct {
	wordsPerSecond float64
	utts           []utterance

	// audioEnd is the capture time up to which audio has arrived; lag is how
	// late the latest frame arrived after its capture completed (uplink).
	audioEnd time.Duration
	lag      time.Duration

	// The VAD's beliefs. onset is where the uncommitted part of the open
	// segment starts; speech sums closed segments since the last commit.
	speaking bool
	onset    time.Duration
	offset   time.Duration
	speech   time.Duration

	// The last commit, for a rollback, and the latest response heard.
	committed  pipeline.ResponseID
	speechMark time.Duration
	audible    pipeline.ResponseID
}

// audio notes a UserAudio frame arriving at now. It allocates nothing
// unless the frame carries a true utterance boundary.
func (t *tracker) audio(f pipeline.Frame, now time.Duration) {
	end := f.At + f.Duration()
	t.audioEnd = max(t.audioEnd, end)
	t.lag = max(now-end, 0)
	if f.Flags&(pipeline.FlagSpeechStart|pipeline.FlagSpeechEnd) != 0 {
		t.truth(f)
	}
}

func (t *tracker) truth(f pipeline.Frame) {
	if f.Flags&pipeline.FlagSpeechStart != 0 {
		if u := t.open(); u != nil {
			u.ended = true // an utterance ends where the next one begins
		}
		t.utts = append(t.utts, newUtterance(f.Text, f.At))
	}
	if f.Flags&pipeline.FlagSpeechEnd != 0 {
		u := t.open()
		if u == nil { // the stream began mid-utterance
			t.utts = append(t.utts, newUtterance(f.Text, f.At))
			u = &t.utts[len(t.utts)-1]
		}
		if len(u.words) == 0 && f.Text != "" {
			u.text, u.words = f.Text, splitWords(f.Text)
		}
		u.ended = true
	}
}

// open returns the utterance still being spoken, if any.
func (t *tracker) open() *utterance {
	if n := len(t.utts); n > 0 && !t.utts[n-1].ended {
		return &t.utts[n-1]
	}
	return nil
}

func (t *tracker) speechStarted(onset time.Duration) {
	if !t.speaking {
		t.speaking, t.onset = true, onset
	}
}

// speechStopped closes the open segment; it reports whether one was open.
func (t *tracker) speechStopped(offset time.Duration) bool {
	was := t.speaking
	if was {
		t.speaking = false
		t.speech += max(offset-t.onset, 0)
	}
	t.offset = offset
	return was
}

// revealed returns how many of u's words have been heard.
func (t *tracker) revealed(u *utterance) int {
	n := len(u.words)
	if u.ended || n == 0 {
		return n
	}
	until := t.audioEnd
	if !t.speaking && t.offset > u.start && t.offset < until {
		until = t.offset
	}
	k := int((until - u.start).Seconds() * t.wordsPerSecond)
	return max(u.from, min(k, n-1))
}

// pendingWords counts the words heard but not yet committed.
func (t *tracker) pendingWords() int {
	n := 0
	for i := range t.utts {
		u := &t.utts[i]
		n += t.revealed(u) - u.from
	}
	return n
}

// pendingText returns the words heard but not yet committed. With one
// utterance pending it is a substring of the script's text (no allocation);
// an utterance heard whole is returned exactly as scripted.
func (t *tracker) pendingText() string {
	var one string
	var b strings.Builder
	parts := 0
	for i := range t.utts {
		u := &t.utts[i]
		k := t.revealed(u)
		if k <= u.from {
			continue
		}
		s := u.text[u.words[u.from].from:u.words[k-1].to]
		if u.from == 0 && k == len(u.words) {
			s = u.text
		}
		switch parts {
		case 0:
			one = s
		case 1:
			b.WriteString(one)
			fallthrough
		default:
			b.WriteByte(' ')
			b.WriteString(s)
		}
		parts++
	}
	if parts > 1 {
		return b.String()
	}
	return one
}

// commit ends the current turn for response r: it returns the turn's
// transcript (or a placeholder naming the speech length when the script
// gave no words) and the speech audio the turn holds, by the VAD.
func (t *tracker) commit(r pipeline.ResponseID) (text string, speech time.Duration) {
	// Utterances transcribed whole by an earlier commit cannot come back.
	kept := t.utts[:0]
	for _, u := range t.utts {
		if !u.ended || u.from < len(u.words) {
			kept = append(kept, u)
		}
	}
	clear(t.utts[len(kept):])
	t.utts = kept

	text = t.pendingText()
	for i := range t.utts {
		u := &t.utts[i]
		u.mark, u.from = u.from, t.revealed(u)
	}
	speech = t.speech
	if t.speaking && t.audioEnd > t.onset {
		speech += t.audioEnd - t.onset
		t.onset = t.audioEnd // the rest of the segment belongs to the next turn
	}
	t.speech, t.speechMark, t.committed = 0, speech, r
	if text == "" {
		text = placeholder(speech)
	}
	return text, speech
}

// heard notes that response r started playing at the client.
func (t *tracker) heard(r pipeline.ResponseID) { t.audible = max(t.audible, r) }

// rollback undoes the commit for response r if r was cancelled before the
// user heard it. It reports whether it did.
func (t *tracker) rollback(r pipeline.ResponseID) bool {
	if r == 0 || r != t.committed || t.audible >= r {
		return false
	}
	for i := range t.utts {
		t.utts[i].from = t.utts[i].mark
	}
	t.speech += t.speechMark
	t.speechMark, t.committed = 0, 0
	return true
}

// placeholder is the transcript of speech the script gave no words for:
// clearly marked, and naming how much speech was heard.
func placeholder(speech time.Duration) string {
	return fmt.Sprintf("[untranscribed speech %.2f s]", speech.Seconds())
}
