package native

import (
	"errors"
	"slices"
	"testing"

	"github.com/voicesim/voicesim/pipeline"
	"go.yaml.in/yaml/v3"
)

// TestVoiceFieldsAreTopLevel: both stages take voice_pitch_hz and answers
// as keys of their own config, decoded strictly, validated with the stage
// named, printed back at the top level, and provisioned into one voice
// that every session of the stage shares.
func TestVoiceFieldsAreTopLevel(t *testing.T) {
	r := pipeline.NewRegistry()
	Register(r)
	prepare := func(stage, src string) (pipeline.Prepared, error) {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(src), &n); err != nil {
			t.Fatal(err)
		}
		return r.Prepare(stage, &n)
	}
	for _, tc := range []struct {
		stage string
		voice func(pipeline.Prepared) (cfg *VoiceConfig, session *voice)
	}{
		{RealtimeName, func(p pipeline.Prepared) (*VoiceConfig, *voice) {
			return &p.Config.(*RealtimeConfig).VoiceConfig, p.New().(*Realtime).voice
		}},
		{DuplexName, func(p pipeline.Prepared) (*VoiceConfig, *voice) {
			return &p.Config.(*DuplexConfig).VoiceConfig, p.New().(*Duplex).voice
		}},
	} {
		t.Run(tc.stage, func(t *testing.T) {
			p, err := prepare(tc.stage, "voice_pitch_hz: 300\nanswers: [Hello there.]")
			if err != nil {
				t.Fatalf("got %v; want ok", err)
			}
			cfg, session := tc.voice(p)
			if cfg.VoicePitchHz != 300 || !slices.Equal(cfg.Answers, []string{"Hello there."}) {
				t.Errorf("decoded pitch %v answers %q; want 300, [Hello there.]", cfg.VoicePitchHz, cfg.Answers)
			}
			if cfg.voice == nil || session != cfg.voice {
				t.Errorf("session voice %p, provisioned %p; want the provisioned one, shared", session, cfg.voice)
			}
			y, err := yaml.Marshal(p.Config)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := yaml.Unmarshal(y, &m); err != nil {
				t.Fatal(err)
			}
			if m["voice_pitch_hz"] != 300 || m["voiceconfig"] != nil || m["VoiceConfig"] != nil {
				t.Errorf("printed config %s; want voice_pitch_hz: 300 at the top level", y)
			}
			for _, bad := range []struct{ src, field, value string }{
				{"voice_pitch_hz: 20", "voice_pitch_hz", "20"},
				{"answers: []", "answers", "[]"},
				{"answers: [ok, '']", "answers[1]", ""},
				{"VoiceConfig: {voice_pitch_hz: 300}", "VoiceConfig", ""},
			} {
				_, err := prepare(tc.stage, bad.src)
				var fe *pipeline.FieldError
				if !errors.As(err, &fe) {
					t.Errorf("%q: got %v; want a *pipeline.FieldError", bad.src, err)
					continue
				}
				if fe.Stage != tc.stage || fe.Field != bad.field || fe.Value != bad.value {
					t.Errorf("%q: got stage %q field %q value %q; want %q %q %q", bad.src, fe.Stage, fe.Field, fe.Value, tc.stage, bad.field, bad.value)
				}
			}
		})
	}
}
