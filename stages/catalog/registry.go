package catalog

import (
	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/stages/aggregate"
	"github.com/voicesim/voicesim/stages/llm"
	"github.com/voicesim/voicesim/stages/native"
	"github.com/voicesim/voicesim/stages/network"
	"github.com/voicesim/voicesim/stages/playout"
	"github.com/voicesim/voicesim/stages/stt"
	"github.com/voicesim/voicesim/stages/tts"
	"github.com/voicesim/voicesim/stages/turn"
	"github.com/voicesim/voicesim/stages/vad"
)

// Registry returns a new registry holding every stage voicesim ships.
func Registry() *pipeline.Registry {
	r := pipeline.NewRegistry()
	for _, register := range []func(*pipeline.Registry){
		network.Register, vad.Register, turn.Register, stt.Register, llm.Register,
		aggregate.Register, tts.Register, playout.Register, native.Register,
	} {
		register(r)
	}
	return r
}
