// Package native simulates native audio-token speech-to-speech models: one
// model that hears the user's audio as codec tokens and answers with audio
// tokens, with no separate speech-to-text, LLM or text-to-speech stage.
//
//   - native.realtime is turn-based, in the style of GPT-4o and the OpenAI
//     Realtime API: an upstream turn detector (server VAD) ends the user's
//     turn, then the model answers with streamed audio, and a barge-in is
//     reconciled by truncating the answer to what the client played
//     (conversation.item.truncate).
//   - native.duplex is full duplex, in the style of Kyutai's Moshi: it
//     listens and speaks at once on a fixed 80 ms frame clock (the Mimi
//     codec's 12.5 Hz), decides by itself when to take the turn, and yields
//     when the user talks over it.
//
// Both answer with real audio from the shared synthesiser
// (pipeline/audio.Synth), in 20 ms PCM16 frames.
package native

import (
	"math"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/pipeline/audio"
	"go.yaml.in/yaml/v3"
)

// Stage names.
const (
	RealtimeName = "native.realtime"
	DuplexName   = "native.duplex"
)

// Counter and mark names this package reports.
const (
	CountAudioTokensIn  = "native.audio_tokens_in"
	CountAudioTokensOut = "native.audio_tokens_out"
	CountUnderruns      = "native.underruns"
	CountEarlyStarts    = "native.early_starts"
	CountBackchannels   = "native.backchannels" // the model's own "mm-hm"s
	// MarkAudioEndMs is stamped when a truncated answer is reconciled:
	// Value is audio_end_ms as conversation.item.truncate defines it.
	MarkAudioEndMs = "native.audio_end_ms"
)

// Register adds the native stages to r.
func Register(r *pipeline.Registry) {
	pipeline.Register(r, RealtimeName,
		"turn-based speech-to-speech model (GPT-4o realtime style): audio tokens in, streamed audio out, truncation on barge-in",
		RealtimeDefaults, NewRealtime)
	pipeline.Register(r, DuplexName,
		"full-duplex speech-to-speech model (Moshi style): listens and speaks on an 80 ms frame clock, takes and yields the turn itself",
		DuplexDefaults, NewDuplex)
}

// defaultAnswers is the small answer bank used when the input script has no
// scripted reply. A function, not a package variable, so no caller can
// mutate another's defaults.
func defaultAnswers() []string {
	return []string{
		"Sure. Tomorrow in Paris looks mild and mostly sunny, with a high of around eighteen degrees and a light breeze in the afternoon.",
		"I can help with that. Let me walk you through it step by step, starting with the first thing you need to check.",
		"Good question. The short answer is yes, but there are a couple of details worth knowing before you decide.",
		"Okay, I have booked a table for two at eight tonight. You will get a confirmation message in a minute.",
		"That depends on what you need most. If speed matters, take the first option; if cost matters, the second is better.",
	}
}

// chooseAnswer returns the scripted reply to the user's transcript if the
// input script has one, else an answer from the bank drawn from the
// session's random source.
func chooseAnswer(ctx *pipeline.Context, transcript string, bank []string) string {
	if transcript != "" {
		if reply, ok := ctx.Reply(transcript); ok && reply != "" {
			return reply
		}
	}
	return bank[ctx.Rand().IntN(len(bank))]
}

// voice speaks answers as whole frames, caching them: a model's answers
// repeat across the runs of a scenario, and padding a cached clip would
// copy it every time. Safe for concurrent use; clips are read-only.
type voice struct {
	synth *audio.Synth
	mu    sync.RWMutex
	clips map[string][]int16
}

func newVoice(s *audio.Synth) *voice { return &voice{synth: s, clips: map[string][]int16{}} }

// speak returns text's audio zero-padded to whole pipeline frames.
func (v *voice) speak(text string) []int16 {
	v.mu.RLock()
	c, ok := v.clips[text]
	v.mu.RUnlock()
	if ok {
		return c
	}
	c = padToFrames(v.synth.Speak(text).Samples)
	c = c[:len(c):len(c)]
	v.mu.Lock()
	if len(v.clips) < speechCacheEntries {
		v.clips[text] = c
	}
	v.mu.Unlock()
	return c
}

// padToFrames zero-pads samples to a whole number of pipeline frames, so
// every frame the model emits is exactly 20 ms.
func padToFrames(s []int16) []int16 {
	n := audio.Frames(len(s)) * pipeline.FrameSamples
	if n == len(s) {
		return s
	}
	out := make([]int16, n)
	copy(out, s) // never append: s may be a shared, cached clip
	return out
}

// heardPrefix returns the words of text the listener heard when playback
// stopped after fraction of the audio, assuming words are spread over the
// audio in proportion to their characters. A word counts as heard only if
// its last character was reached: the cut backs off to a word boundary, so
// the stored transcript never contains a word the user did not hear.
func heardPrefix(text string, fraction float64) string {
	if fraction >= 1 {
		return text
	}
	if !(fraction > 0) {
		return ""
	}
	// The cut, in characters, as a byte offset.
	cut, want := 0, int(fraction*float64(utf8.RuneCountInString(text)))
	for i := 0; i < want && cut < len(text); i++ {
		_, n := utf8.DecodeRuneInString(text[cut:])
		cut += n
	}
	if cut >= len(text) {
		return text
	}
	if text[cut] != ' ' {
		i := strings.LastIndexByte(text[:cut], ' ')
		if i < 0 {
			return ""
		}
		cut = i
	}
	return strings.TrimRight(text[:cut], " ")
}

// answerLog remembers recent answers until the client reports how much of
// each it played.
type answerLog struct {
	recs [answerLogSize]answerRecord
	pos  int
}

// answerLogSize: playback reports arrive at most a few answers late.
const answerLogSize = 8

type answerRecord struct {
	id      pipeline.ResponseID
	text    string
	totalMs float64 // the answer's audio, whole frames
}

func (l *answerLog) add(id pipeline.ResponseID, text string, frames int) {
	l.recs[l.pos%answerLogSize] = answerRecord{id: id, text: text, totalMs: float64(frames) * 20}
	l.pos++
}

// heard reconciles a PlaybackStopped report for an answer in the log: it
// stamps response.heard (Text: the words heard, Value: their fraction of the
// answer's characters, as tts.* does) and returns the report with Text set
// to the words heard, for the stages upstream. cut says playback stopped
// before the end; endMs is then the audio played, in whole milliseconds,
// at most the audio there is.
func (l *answerLog) heard(ctx *pipeline.Context, f pipeline.Frame) (out pipeline.Frame, endMs float64, cut, ok bool) {
	var rec answerRecord
	for _, r := range l.recs {
		if r.id == f.Response && r.id != 0 {
			rec, ok = r, true
		}
	}
	if !ok || rec.totalMs <= 0 {
		return f, 0, false, false
	}
	endMs = math.Round(min(max(f.Value, 0), rec.totalMs))
	cut = endMs < rec.totalMs
	text := heardPrefix(rec.text, endMs/rec.totalMs)
	frac := 1.0
	if n := utf8.RuneCountInString(rec.text); n > 0 {
		frac = float64(utf8.RuneCountInString(text)) / float64(n)
	}
	ctx.MarkText(pipeline.MarkHeard, f.Response, text, frac)
	f.Text = text
	return f, endMs, cut, true
}

// transcript streams an answer's text word by word as its audio is
// produced (response.audio_transcript.delta in the Realtime API).
type transcript struct {
	text string
	pos  int
}

// next returns the next word, with its trailing space, once the audio has
// reached the word's start (fraction of the answer produced); ok is false
// when no word is due yet. It allocates nothing: words are substrings.
func (t *transcript) next(fraction float64) (word string, ok bool) {
	if t.pos >= len(t.text) || float64(t.pos) > fraction*float64(len(t.text)) {
		return "", false
	}
	end := strings.IndexByte(t.text[t.pos:], ' ')
	if end < 0 {
		end = len(t.text)
	} else {
		end += t.pos + 1
	}
	word, t.pos = t.text[t.pos:end], end
	return word, true
}

// pushTranscript emits the words of t due at fraction as AssistantText.
func pushTranscript(ctx *pipeline.Context, t *transcript, r pipeline.ResponseID, fraction float64) {
	for w, ok := t.next(fraction); ok; w, ok = t.next(fraction) {
		ctx.Push(pipeline.Frame{Kind: pipeline.AssistantText, Response: r, At: ctx.Now(), Text: w})
	}
}

// mustLatency parses a latency in its YAML form, for defaults: the parsed
// form keeps its source text, floor included, so reports print it back.
func mustLatency(src string) pipeline.Latency {
	var l pipeline.Latency
	if err := yaml.Unmarshal([]byte(src), &l); err != nil {
		panic("native: bad default latency " + src + ": " + err.Error())
	}
	return l
}

// ceilTokens returns the whole number of tokens needed for x tokens' worth
// of audio, tolerating float error at exact boundaries.
func ceilTokens(x float64) int64 {
	return int64(math.Ceil(x - 1e-9))
}
