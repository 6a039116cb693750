package web

import (
	"errors"
	"testing"
)

// FuzzDecodeText: no client message can panic the decoder, and every
// refusal is a protocol error with a code and a message for the client.
func FuzzDecodeText(f *testing.F) {
	for _, s := range []string{
		`{"type":"start","preset":"cascaded-streaming","overrides":{"turn.silence":{"silence":"300ms"}}}`,
		`{"type":"start","stages":[{"stage":"vad.energy","config":{}}],"label":"x"}`,
		`{"type":"truth","name":"user.speech_end","sample":48000,"turn":0,"text":"hi"}`,
		`{"type":"playback","event":"stopped","response":3,"t_ms":1200.5,"played_ms":800}`,
		`{"type":"stop"}`, `{"type":`, `[]`, `null`, `{"type":null}`, `{"type":"truth","sample":-1}`,
		`{"type":"start","audio":{"sample_rate":48000}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		msg, err := decodeText(data)
		if err == nil {
			if msg == nil {
				t.Fatalf("%q: no message and no error", data)
			}
			return
		}
		var pe *protoError
		if !errors.As(err, &pe) || pe.code == "" || pe.msg == "" {
			t.Fatalf("%q: error %v is not a protocol error with a code and message", data, err)
		}
	})
}
