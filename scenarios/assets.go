// Package scenarios holds voicesim's scripted conversations: the scenario
// format, its loader and runner, and the shipped library with its speech.
package scenarios

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/pipeline/audio"
)

//go:embed assets/*.mp3
var assetFS embed.FS

// Clip is user speech ready for the pipeline: 24 kHz mono samples and the
// true speech spans, measured once on the clean clip by the offline
// reference (audio.SpeechSpans), never by the VAD under test.
type Clip struct {
	Name    string
	Samples []int16
	Speech  []audio.Span
}

// Duration returns the clip's length.
func (c Clip) Duration() time.Duration {
	return time.Duration(len(c.Samples)) * time.Second / audio.SampleRate
}

// truthGap merges word gaps into utterance-level spans: a silence shorter
// than this inside a clip is not a pause a turn detector should act on.
const truthGap = 350 * time.Millisecond

// LoadClip decodes a speech file (MP3 or WAV, any rate and channel count)
// to 24 kHz mono and measures its speech. name is looked up first in dir
// (a scenario's folder), then among the embedded assets ("assets/x.mp3").
func LoadClip(dir, name string) (Clip, error) {
	var (
		data []byte
		err  error
	)
	p := name
	if dir != "" && !filepath.IsAbs(name) {
		p = filepath.Join(dir, name)
	}
	data, err = os.ReadFile(p)
	if err != nil {
		emb, embErr := fs.ReadFile(assetFS, path.Clean(filepath.ToSlash(name)))
		if embErr != nil {
			return Clip{}, fmt.Errorf("audio file %s: %w", p, err)
		}
		data = emb
	}
	var c audio.Clip
	switch strings.ToLower(filepath.Ext(name)) {
	case ".mp3":
		c, err = audio.DecodeMP3(bytes.NewReader(data))
	case ".wav":
		c, err = audio.ReadWAV(bytes.NewReader(data))
	default:
		return Clip{}, fmt.Errorf("audio file %s: unsupported format %q (want .mp3 or .wav)", p, filepath.Ext(name))
	}
	if err != nil {
		return Clip{}, fmt.Errorf("audio file %s: %w", p, err)
	}
	c = audio.ToMono24k(c)
	if len(c.Samples) == 0 {
		return Clip{}, fmt.Errorf("audio file %s: no audio samples", p)
	}
	spans := audio.SpeechSpans(c, audio.TruthOptions{MinGap: truthGap})
	if len(spans) == 0 {
		return Clip{}, fmt.Errorf("audio file %s: no speech found in the clip", p)
	}
	return Clip{Name: name, Samples: c.Samples, Speech: spans}, nil
}

// Assets lists the embedded speech files.
func Assets() []string {
	entries, _ := fs.ReadDir(assetFS, "assets")
	var out []string
	for _, e := range entries {
		out = append(out, "assets/"+e.Name())
	}
	return out
}

// Utterance makes a scripted utterance of the clip, with its true speech
// spans, transcript and the answer the assistant should give.
func (c Clip) Utterance(text, reply string) pipeline.Utterance {
	u := pipeline.Utterance{Audio: c.Samples, Text: text, Reply: reply}
	for _, s := range c.Speech {
		u.Speech = append(u.Speech, [2]time.Duration{s.Start, s.End})
	}
	return u
}
