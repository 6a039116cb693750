package scenarios

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/pipeline/audio"
	"github.com/voicesim/voicesim/stages/catalog"
	"go.yaml.in/yaml/v3"
)

// Scenario is a scripted conversation and how to run it: which
// architectures, how many seeded runs, under what noise and network.
type Scenario struct {
	Name          string     `yaml:"name"`
	Description   string     `yaml:"description"`
	Architectures []ArchSpec `yaml:"architectures"`
	Runs          int        `yaml:"runs"`
	Seed          uint64     `yaml:"seed"`
	// Network names a network profile applied to both legs of every
	// architecture (e.g. poor-mobile); empty keeps each preset's own.
	Network string `yaml:"network"`
	Noise   *Noise `yaml:"noise"`
	// Voice configures synthesised user speech (turns given as `synth`).
	Voice        *Voice `yaml:"voice"`
	Conversation []Turn `yaml:"conversation"`

	// File is the scenario's path; Dir resolves its audio files.
	File string `yaml:"-"`
	Dir  string `yaml:"-"`

	lines map[string]int // field path → line, for errors found after decoding
}

// ArchSpec picks an architecture: a preset name, optionally relabelled and
// with per-stage config overrides, or an inline list of stages (then Label
// is required). A bare string is a preset name.
type ArchSpec struct {
	Preset    string               `yaml:"preset"`
	Label     string               `yaml:"label"`
	Overrides map[string]yaml.Node `yaml:"overrides"`
	// Stages defines the architecture inline, like a preset's stage list.
	Stages []catalog.StageSpec `yaml:"stages"`
	Kind   string              `yaml:"kind"`
}

// UnmarshalYAML accepts "cascaded-streaming" or {preset: …, overrides: …}.
func (a *ArchSpec) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		a.Preset = n.Value
		return nil
	}
	type plain ArchSpec
	var p plain
	if err := pipeline.DecodeStrict(n, &p); err != nil {
		return err
	}
	*a = ArchSpec(p)
	return nil
}

// Name is the label reports use.
func (a ArchSpec) Name() string {
	if a.Label != "" {
		return a.Label
	}
	return a.Preset
}

// Noise is background sound at the user's microphone.
type Noise struct {
	Kind string `yaml:"kind"` // white | pink | brown
	// Level is the noise's RMS level in dBFS (e.g. -45). Speech in the
	// shipped clips sits near -20 dBFS active level.
	Level float64 `yaml:"level_dbfs"`
}

// Voice configures the synthesiser used for `synth` turns.
type Voice struct {
	PitchHz            float64 `yaml:"pitch_hz"`
	SyllablesPerSecond float64 `yaml:"syllables_per_second"`
	LevelDBFS          float64 `yaml:"level_dbfs"`
}

// Turn is one thing the user says. Exactly one of Audio or Synth gives the
// speech; at most one timing field places it (default: the first turn at
// 500 ms, later turns 800 ms after the answer stops playing).
type Turn struct {
	// Audio is a file (MP3 or WAV), or a list of files and {pause: 900ms}
	// entries joined into one utterance with mid-utterance pauses.
	Audio Segments `yaml:"audio"`
	// Synth is text spoken by the built-in synthesiser.
	Synth string `yaml:"synth"`
	// Text is the true transcript; Reply the scripted answer.
	Text  string `yaml:"text"`
	Reply string `yaml:"reply"`
	// Backchannel marks a short acknowledgement that must not interrupt.
	Backchannel bool `yaml:"backchannel"`

	At          *pipeline.Duration `yaml:"at"`           // from session start
	AfterUser   *pipeline.Duration `yaml:"after_user"`   // after the previous utterance ends
	AfterAnswer *pipeline.Duration `yaml:"after_answer"` // after the answer stops playing
	IntoAnswer  *pipeline.Duration `yaml:"into_answer"`  // into the answer's audio (a backchannel)
	BargeIn     *pipeline.Duration `yaml:"barge_in"`     // into the answer's audio, meant to interrupt
	// Wait bounds how long a turn placed relative to an answer waits for it.
	Wait pipeline.Duration `yaml:"wait"`

	line int
}

// Segment is a file or a pause within an utterance.
type Segment struct {
	File  string
	Pause time.Duration
	line  int
}

// Segments is an utterance's audio: one file or a list.
type Segments []Segment

// UnmarshalYAML accepts "file.mp3" or [file.mp3, {pause: 900ms}, file2.mp3].
func (s *Segments) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*s = Segments{{File: n.Value, line: n.Line}}
		return nil
	case yaml.SequenceNode:
		var out Segments
		for _, c := range n.Content {
			switch c.Kind {
			case yaml.ScalarNode:
				out = append(out, Segment{File: c.Value, line: c.Line})
			case yaml.MappingNode:
				if len(c.Content) != 2 || c.Content[0].Value != "pause" {
					return &pipeline.FieldError{Line: c.Line, Field: "audio", Reason: "a list entry is a file name or {pause: 900ms}"}
				}
				var d pipeline.Duration
				if err := c.Content[1].Decode(&d); err != nil {
					return err
				}
				if d <= 0 {
					return &pipeline.FieldError{Line: c.Line, Field: "audio.pause", Value: d.String(), Reason: "a pause must be positive"}
				}
				out = append(out, Segment{Pause: d.D(), line: c.Line})
			default:
				return &pipeline.FieldError{Line: c.Line, Field: "audio", Reason: "a list entry is a file name or {pause: 900ms}"}
			}
		}
		*s = out
		return nil
	}
	return &pipeline.FieldError{Line: n.Line, Field: "audio", Reason: "want a file name or a list of files and pauses"}
}

// Load reads and validates a scenario file. Errors name the file, line and
// field: unknown fields, missing or corrupt audio, impossible timings.
func Load(file string) (*Scenario, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", file, err)
	}
	return Parse(data, file)
}

// Parse decodes and validates a scenario. Audio files resolve relative to
// file's folder, then to the embedded assets.
func Parse(data []byte, file string) (*Scenario, error) {
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	sc := &Scenario{}
	if err := pipeline.DecodeStrict(&doc, sc); err != nil {
		return nil, pipeline.InFile(err, file)
	}
	sc.File, sc.Dir = file, filepath.Dir(file)
	root := doc.Content[0]
	sc.lines = map[string]int{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		sc.lines[root.Content[i].Value] = root.Content[i].Line
		if root.Content[i].Value == "conversation" && root.Content[i+1].Kind == yaml.SequenceNode {
			for j, c := range root.Content[i+1].Content {
				if j < len(sc.Conversation) {
					sc.Conversation[j].line = c.Line
				}
				for k := 0; k+1 < len(c.Content); k += 2 {
					sc.lines[fmt.Sprintf("conversation[%d].%s", j, c.Content[k].Value)] = c.Content[k].Line
				}
			}
		}
	}
	if err := sc.validate(); err != nil {
		return nil, err
	}
	return sc, nil
}

func (sc *Scenario) fail(field string, line int, value, reason string) error {
	if line == 0 {
		line = sc.lines[strings.SplitN(field, ".", 2)[0]]
	}
	return &pipeline.FieldError{File: sc.File, Line: line, Field: field, Value: value, Reason: reason}
}

func (sc *Scenario) validate() error {
	if sc.Name == "" {
		return sc.fail("name", 1, "", "a scenario needs a name")
	}
	if sc.Runs < 0 {
		return sc.fail("runs", 0, fmt.Sprint(sc.Runs), "must not be negative")
	}
	if sc.Runs == 0 {
		sc.Runs = 100
	}
	if len(sc.Architectures) == 0 {
		sc.Architectures = []ArchSpec{{Preset: "cascaded-streaming"}, {Preset: "native-gpt4o"}}
	}
	labels := map[string]bool{}
	for i, a := range sc.Architectures {
		f := fmt.Sprintf("architectures[%d]", i)
		switch {
		case len(a.Stages) > 0 && a.Preset != "":
			return sc.fail(f, 0, a.Preset, "give a preset or an inline stage list, not both")
		case len(a.Stages) > 0 && a.Label == "":
			return sc.fail(f, 0, "", "an inline architecture needs a label")
		case len(a.Stages) == 0 && a.Preset == "":
			return sc.fail(f, 0, "", "give a preset name or an inline stage list")
		case len(a.Stages) > 0 && len(a.Overrides) > 0:
			return sc.fail(f, 0, "", "an inline architecture has its configs in its stages: overrides are for presets")
		}
		if labels[a.Name()] {
			return sc.fail(f, 0, a.Name(), "two architectures with the same name: give one a label")
		}
		labels[a.Name()] = true
	}
	if sc.Noise != nil {
		switch sc.Noise.Kind {
		case audio.NoiseWhite, audio.NoisePink, audio.NoiseBrown:
		default:
			return sc.fail("noise.kind", 0, sc.Noise.Kind, "want white, pink or brown")
		}
		if sc.Noise.Level >= 0 || sc.Noise.Level < -100 {
			return sc.fail("noise.level_dbfs", 0, fmt.Sprint(sc.Noise.Level), "want a level in dBFS between -100 and 0")
		}
	}
	if len(sc.Conversation) == 0 {
		return sc.fail("conversation", 0, "", "a scenario needs at least one user turn")
	}
	for i, t := range sc.Conversation {
		f := fmt.Sprintf("conversation[%d]", i)
		if (len(t.Audio) == 0) == (t.Synth == "") {
			return sc.fail(f, t.line, "", "give exactly one of audio or synth")
		}
		n := 0
		timings := []struct {
			name string
			d    *pipeline.Duration
		}{{"at", t.At}, {"after_user", t.AfterUser}, {"after_answer", t.AfterAnswer}, {"into_answer", t.IntoAnswer}, {"barge_in", t.BargeIn}}
		for _, tm := range timings {
			if tm.d != nil {
				n++
				if *tm.d < 0 {
					field := f + "." + tm.name
					return sc.fail(field, sc.lines[field], tm.d.String(), "a timing must not be negative")
				}
			}
		}
		if n > 1 {
			return sc.fail(f, t.line, "", "give at most one of at, after_user, after_answer, into_answer, barge_in")
		}
		if i == 0 && (t.AfterAnswer != nil || t.IntoAnswer != nil || t.BargeIn != nil) {
			return sc.fail(f, t.line, "", "the first turn cannot be placed relative to an answer: there is none yet")
		}
		if t.Backchannel && t.BargeIn != nil {
			return sc.fail(f, t.line, "", "a backchannel is not a barge-in: use into_answer")
		}
		if t.IntoAnswer != nil && !t.Backchannel {
			return sc.fail(f, t.line, "", "into_answer places a backchannel; for a turn meant to interrupt use barge_in")
		}
		if len(t.Audio) > 0 {
			if t.Audio[0].File == "" || t.Audio[len(t.Audio)-1].File == "" {
				return sc.fail(f+".audio", t.line, "", "an utterance must start and end with speech, not a pause")
			}
		}
	}
	return nil
}

// Mic builds the scripted user for one run: it loads and measures the
// audio (callers cache the result; see Script), and places every turn.
func (sc *Scenario) Mic(clips map[string]Clip) (*pipeline.Mic, error) {
	m := &pipeline.Mic{}
	var synth *audio.Synth
	for i, t := range sc.Conversation {
		f := fmt.Sprintf("conversation[%d]", i)
		var u pipeline.Utterance
		switch {
		case t.Synth != "":
			if synth == nil {
				cfg := audio.SynthConfig{PitchHz: 200, Seed: sc.Seed}
				if v := sc.Voice; v != nil {
					cfg.PitchHz, cfg.SyllablesPerSecond, cfg.LevelDBFS = v.PitchHz, v.SyllablesPerSecond, v.LevelDBFS
				}
				var err error
				if synth, err = audio.NewSynth(cfg); err != nil {
					return nil, sc.fail("voice", 0, "", err.Error())
				}
			}
			c := synth.Speak(t.Synth)
			spans := audio.SpeechSpans(c, audio.TruthOptions{MinGap: truthGap})
			if len(spans) == 0 {
				return nil, sc.fail(f+".synth", t.line, t.Synth, "synthesised no speech")
			}
			u = Clip{Name: "synth", Samples: c.Samples, Speech: spans}.Utterance(t.Synth, t.Reply)
			if t.Text != "" {
				u.Text = t.Text
			}
		default:
			var err error
			if u, err = sc.joinSegments(f, t, clips); err != nil {
				return nil, err
			}
			u.Text, u.Reply = t.Text, t.Reply
		}
		u.Backchannel = t.Backchannel
		u.Wait = t.Wait.D()
		switch {
		case t.At != nil:
			u.Trigger, u.Offset = pipeline.AtTime, t.At.D()
		case t.AfterUser != nil:
			u.Trigger, u.Offset = pipeline.AfterUser, t.AfterUser.D()
		case t.AfterAnswer != nil:
			u.Trigger, u.Offset = pipeline.AfterAssistant, t.AfterAnswer.D()
		case t.IntoAnswer != nil:
			u.Trigger, u.Offset = pipeline.IntoAssistant, t.IntoAnswer.D()
		case t.BargeIn != nil:
			u.Trigger, u.Offset, u.BargeIn = pipeline.IntoAssistant, t.BargeIn.D(), true
		case i == 0:
			u.Trigger, u.Offset = pipeline.AtTime, 500*time.Millisecond
		default:
			u.Trigger, u.Offset = pipeline.AfterAssistant, 800*time.Millisecond
		}
		m.Utterances = append(m.Utterances, u)
	}
	if sc.Noise != nil {
		noise, err := audio.Noise(sc.Noise.Kind, 10*time.Second, sc.Noise.Level, rand.New(rand.NewPCG(sc.Seed, 0x6e6f697365)))
		if err != nil {
			return nil, sc.fail("noise", 0, "", err.Error())
		}
		m.Noise = noise
	}
	return m, m.Validate()
}

// joinSegments concatenates files and pauses into one utterance whose speech
// spans come from each clip's measured speech.
func (sc *Scenario) joinSegments(field string, t Turn, clips map[string]Clip) (pipeline.Utterance, error) {
	var u pipeline.Utterance
	for _, seg := range t.Audio {
		if seg.File == "" {
			u.Audio = append(u.Audio, make([]int16, int(seg.Pause.Seconds()*audio.SampleRate))...)
			continue
		}
		c, ok := clips[seg.File]
		if !ok {
			var err error
			if c, err = LoadClip(sc.Dir, seg.File); err != nil {
				return u, sc.fail(field+".audio", seg.line, seg.File, err.Error())
			}
			clips[seg.File] = c
		}
		off := pipeline.SamplesDuration(len(u.Audio))
		for _, sp := range c.Speech {
			u.Speech = append(u.Speech, [2]time.Duration{off + sp.Start, off + sp.End})
		}
		u.Audio = append(u.Audio, c.Samples...)
	}
	return u, nil
}
