package scenarios

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/voicesim/voicesim/stages/catalog"
)

// TestBadScenarios: each broken file gives an error naming the file, the
// line where it is known, the field and the problem.
func TestBadScenarios(t *testing.T) {
	cases := []struct {
		file string
		want []string
	}{
		{"unknown-field.yaml", []string{"unknown-field.yaml:2", "field convresation", "unknown field", "conversation"}},
		{"missing-audio.yaml", []string{"missing-audio.yaml:3", "conversation[0].audio", "no-such-file.mp3", "no such file"}},
		{"corrupt-audio.yaml", []string{"corrupt-audio.yaml:3", "corrupt.mp3", "mp3"}},
		{"truncated-wav.yaml", []string{"truncated-wav.yaml:3", "truncated.wav"}},
		{"barge-in-first.yaml", []string{"barge-in-first.yaml:3", "conversation[0]", "first turn"}},
		{"two-timings.yaml", []string{"two-timings.yaml:4", "conversation[1]", "at most one"}},
		{"negative-timing.yaml", []string{"negative-timing.yaml:4", "-2s", "negative"}},
		{"audio-and-synth.yaml", []string{"audio-and-synth.yaml:3", "exactly one of audio or synth"}},
		{"bad-noise.yaml", []string{"bad-noise.yaml:2", "noise.kind", "purple", "pink"}},
		{"unknown-preset.yaml", []string{"bad/unknown-preset.yaml", "cascaded-streamin", "unknown preset", "cascaded-streaming"}},
		{"bad-override.yaml", []string{"stage turn.semantic", "field dealy", "unknown field", "delay"}},
		{"override-missing-stage.yaml", []string{"override for stage turn.silence", "does not have", "turn.semantic"}},
		{"bad-duration.yaml", []string{"bad-duration.yaml:4", "soon", "malformed duration"}},
		{"pause-first.yaml", []string{"pause-first.yaml:3", "start and end with speech"}},
		{"malformed.yaml", []string{"malformed.yaml", "line"}},
		{"inline-no-label.yaml", []string{"inline-no-label.yaml", "architectures[0]", "needs a label"}},
		{"no-turns.yaml", []string{"no-turns.yaml:2", "at least one user turn"}},
		{"does-not-exist.yaml", []string{"does-not-exist.yaml", "no such file"}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			_, err := loadAndPrepare(filepath.Join("testdata", "bad", tc.file))
			if err == nil {
				t.Fatal("got no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

// loadAndPrepare does everything a run does before simulating: parse,
// decode the audio, resolve the architectures.
func loadAndPrepare(file string) (*Scenario, error) {
	sc, err := Load(file)
	if err != nil {
		return nil, err
	}
	if _, err := sc.Mic(map[string]Clip{}); err != nil {
		return nil, err
	}
	reg := catalog.Registry()
	for _, a := range sc.Architectures {
		if _, err := sc.prepare(a, reg); err != nil {
			return nil, err
		}
	}
	return sc, nil
}
