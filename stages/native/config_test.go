package native

import (
	"errors"
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
	"go.yaml.in/yaml/v3"
)

func TestConfigErrorsNameFieldAndValue(t *testing.T) {
	ms := func(n int) pipeline.Duration { return pipeline.Duration(time.Duration(n) * time.Millisecond) }
	type validator interface{ Validate() error }
	rt := func(mut func(*RealtimeConfig)) validator { c := RealtimeDefaults(); mut(c); return c }
	dx := func(mut func(*DuplexConfig)) validator { c := DuplexDefaults(); mut(c); return c }
	for _, tc := range []struct {
		name         string
		cfg          validator
		field, value string
	}{
		{"realtime defaults", rt(func(*RealtimeConfig) {}), "", ""},
		{"duplex defaults", dx(func(*DuplexConfig) {}), "", ""},
		{"zero codec frame", rt(func(c *RealtimeConfig) { c.CodecFrame = 0 }), "codec_frame", "0s"},
		{"codec frame over 1s", rt(func(c *RealtimeConfig) { c.CodecFrame = ms(1500) }), "codec_frame", "1.5s"},
		{"zero input token", rt(func(c *RealtimeConfig) { c.AudioPerInputToken = 0 }), "audio_per_input_token", "0s"},
		{"negative output token", rt(func(c *RealtimeConfig) { c.AudioPerOutputToken = ms(-50) }), "audio_per_output_token", "-50ms"},
		{"no generation", rt(func(c *RealtimeConfig) { c.TokensPerSecond = 0 }), "tokens_per_second", "0"},
		{"realtime pitch", rt(func(c *RealtimeConfig) { c.VoicePitchHz = 20 }), "voice_pitch_hz", "20"},
		{"no answers", rt(func(c *RealtimeConfig) { c.Answers = nil }), "answers", "[]"},
		{"empty answer", rt(func(c *RealtimeConfig) { c.Answers = []string{"ok", ""} }), "answers[1]", ""},
		{"frame not 20ms multiple", dx(func(c *DuplexConfig) { c.Frame = ms(70) }), "frame", "70ms"},
		{"zero frame", dx(func(c *DuplexConfig) { c.Frame = 0 }), "frame", "0s"},
		{"acoustic delay off the clock", dx(func(c *DuplexConfig) { c.AcousticDelay = ms(100) }), "acoustic_delay", "100ms"},
		{"early start above 1", dx(func(c *DuplexConfig) { c.EarlyStartProbability = 1.5 }), "early_start_probability", "1.5"},
		{"zero interrupt_after", dx(func(c *DuplexConfig) { c.InterruptAfter = 0 }), "interrupt_after", "0s"},
		{"recognition below 0", dx(func(c *DuplexConfig) { c.BackchannelRecognition = -0.1 }), "backchannel_recognition", "-0.1"},
		{"backchannel probability", dx(func(c *DuplexConfig) { c.BackchannelProbability = 2 }), "backchannel_probability", "2"},
		{"backchannel_after", dx(func(c *DuplexConfig) { c.BackchannelAfter = 0 }), "backchannel_after", "0s"},
		{"vad margin", dx(func(c *DuplexConfig) { c.VADMarginDB = 0 }), "vad_margin_db", "0"},
		{"vad floor", dx(func(c *DuplexConfig) { c.VADMinDBFS = 3 }), "vad_min_dbfs", "3"},
		{"codebooks", dx(func(c *DuplexConfig) { c.Codebooks = 0 }), "codebooks", "0"},
		{"backchannel word", dx(func(c *DuplexConfig) { c.BackchannelWords = []string{"yeah", "..."} }), "backchannel_words[1]", "..."},
		{"duplex answers", dx(func(c *DuplexConfig) { c.Answers = []string{} }), "answers", "[]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("got %v; want valid", err)
				}
				return
			}
			var fe *pipeline.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v; want a *pipeline.FieldError", err)
			}
			if fe.Field != tc.field || fe.Value != tc.value {
				t.Errorf("got field %q value %q (%v); want field %q value %q", fe.Field, fe.Value, err, tc.field, tc.value)
			}
		})
	}
}

// TestRegistryDecodes: the stages register, decode YAML strictly over
// their defaults, and report bad values with stage, field and value.
func TestRegistryDecodes(t *testing.T) {
	r := pipeline.NewRegistry()
	Register(r)
	for _, tc := range []struct {
		stage, yaml   string
		field, value  string
		wantErr       bool
		checkDuration func(cfg any) (got, want time.Duration)
	}{
		{stage: RealtimeName, yaml: "ttfa: {p50: 200ms, p95: 400ms}\ntokens_per_second: 60"},
		{stage: DuplexName, yaml: "interrupt_after: 500ms", checkDuration: func(cfg any) (time.Duration, time.Duration) {
			return cfg.(*DuplexConfig).InterruptAfter.D(), 500 * time.Millisecond
		}},
		{stage: DuplexName, yaml: "frame: 70ms", wantErr: true, field: "frame", value: "70ms"},
		{stage: RealtimeName, yaml: "tokens_per_second: -3", wantErr: true, field: "tokens_per_second", value: "-3"},
		{stage: RealtimeName, yaml: "ttfb: 100ms", wantErr: true, field: "ttfb"},
	} {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(tc.yaml), &n); err != nil {
			t.Fatal(err)
		}
		p, err := r.Prepare(tc.stage, &n)
		if !tc.wantErr {
			if err != nil {
				t.Errorf("%s %q: got %v; want ok", tc.stage, tc.yaml, err)
				continue
			}
			if tc.checkDuration != nil {
				if got, want := tc.checkDuration(p.Config); got != want {
					t.Errorf("%s %q: decoded %v; want %v", tc.stage, tc.yaml, got, want)
				}
			}
			if p.New() == nil {
				t.Errorf("%s: New returned nil", tc.stage)
			}
			continue
		}
		var fe *pipeline.FieldError
		if !errors.As(err, &fe) {
			t.Errorf("%s %q: got %v; want a *pipeline.FieldError", tc.stage, tc.yaml, err)
			continue
		}
		if fe.Stage != tc.stage || fe.Field != tc.field || fe.Value != tc.value {
			t.Errorf("%s %q: got stage %q field %q value %q; want %q %q %q", tc.stage, tc.yaml, fe.Stage, fe.Field, fe.Value, tc.stage, tc.field, tc.value)
		}
	}
}

// TestDefaultLatenciesPrintBack: defaults keep their YAML form, floor
// included, so a report shows what was simulated.
func TestDefaultLatenciesPrintBack(t *testing.T) {
	if got, want := RealtimeDefaults().TTFA.String(), "{p50: 300ms, p95: 380ms, floor: 212ms}"; got != want {
		t.Errorf("ttfa prints %q; want %q", got, want)
	}
}
