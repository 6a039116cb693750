package scenarios

import (
	"math"

	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/stages/catalog"
)

// Counter names the stages use for what costs money.
const (
	countTextIn    = "llm.tokens_in"
	countTextOut   = "llm.tokens_out"
	countAudioIn   = "native.audio_tokens_in"
	countAudioOut  = "native.audio_tokens_out"
	countTTSChars  = "tts.chars"
	countTTSAudio  = "tts.audio_ms"
	countUserAudio = "user.audio_ms"
	countNativeOut = "native.audio_ms_out"
)

// cost prices an architecture's usage per conversation. A preset without
// prices has unknown cost — reported as such, never as zero.
func cost(pr *catalog.Prices, agg *pipeline.Aggregate, runs int) *Cost {
	if runs == 0 {
		return nil
	}
	per := func(name string) float64 { return float64(agg.Counts[name]) / float64(runs) }
	c := &Cost{
		TextTokensIn: per(countTextIn), TextTokensOut: per(countTextOut),
		AudioTokensIn: per(countAudioIn), AudioTokensOut: per(countAudioOut),
		TTSCharacters:  per(countTTSChars),
		AudioSecondsIn: per(countUserAudio) / 1000, AudioSecondsOut: (per(countTTSAudio) + per(countNativeOut)) / 1000,
	}
	if pr == nil {
		return c
	}
	c.Known = true
	c.Source = pr.Source
	usd := c.TextTokensIn/1000*pr.TextInPer1K + c.TextTokensOut/1000*pr.TextOutPer1K +
		c.AudioTokensIn/1000*pr.AudioInPer1K + c.AudioTokensOut/1000*pr.AudioOutPer1K +
		c.AudioSecondsIn/60*pr.AudioInPerMin + c.AudioSecondsOut/60*pr.AudioOutPerMin +
		c.TTSCharacters/1000*pr.TTSPer1KChars
	c.PerConversation = round6(usd)
	c.Per1KConversations = round6(usd * 1000)
	return c
}

func round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }
