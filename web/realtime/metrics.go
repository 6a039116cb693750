package realtime

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/voicesim/voicesim/pipeline"
	"go.uber.org/zap"
)

// TurnReport is one update of a turn's metrics in a Realtime session: what
// the voicesim.turn_metrics event carries and Options.OnTurn receives.
type TurnReport struct {
	Session string `json:"session_id"`
	Preset  string `json:"preset"`
	Model   string `json:"model"`
	// Turn holds the glossary metrics. In a Realtime session the user's
	// speech span is the VAD's estimate (an app sends no ground truth),
	// and the app is taken to play each answer as it is sent, until its
	// conversation.item.truncate says otherwise: voice_to_voice is the
	// server's view, without the app's network and buffering.
	Turn pipeline.TurnMetrics `json:"turn"`
	// ValuesMs repeats Turn.Values in milliseconds.
	ValuesMs map[string]float64 `json:"values_ms"`
}

type turnMetricsEvent struct {
	Type    string `json:"type"`
	EventID string `json:"event_id"`
	TurnReport
}

type metricsState struct {
	sent map[int][]byte // last report sent per turn
}

func (m *metricsState) init()  { m.sent = map[int][]byte{} }
func (m *metricsState) reset() { clear(m.sent) }

// timeline is the session's timeline as metrics see it: where a playback
// report was superseded (a truncate after the nominal end of playback), the
// last report of each kind stands.
func (s *session) timeline() *pipeline.Timeline {
	marks := s.s.Timeline().Marks
	type key struct {
		name string
		r    pipeline.ResponseID
	}
	last := map[key]int{}
	for i, m := range marks {
		switch m.Name {
		case pipeline.MarkClientPlayedEnd, pipeline.MarkHeard, "native.audio_end_ms":
			last[key{m.Name, m.Response}] = i
		}
	}
	tl := &pipeline.Timeline{Marks: make([]pipeline.Mark, 0, len(marks))}
	for i, m := range marks {
		if j, ok := last[key{m.Name, m.Response}]; ok && j != i {
			continue
		}
		tl.Marks = append(tl.Marks, m)
	}
	return tl
}

// flushMetrics sends, logs and hands on every turn whose metrics changed.
func (s *session) flushMetrics() {
	for _, tm := range s.timeline().Turns() {
		rep := TurnReport{Session: s.id, Preset: s.preset.Name, Model: s.cfg.Model, Turn: tm, ValuesMs: map[string]float64{}}
		for k, v := range tm.Values {
			rep.ValuesMs[k] = float64(v) / float64(time.Millisecond)
		}
		b, err := json.Marshal(rep)
		if err != nil {
			s.log.Error("realtime encode turn metrics", zap.Error(err))
			return
		}
		if bytes.Equal(b, s.met.sent[tm.Turn]) {
			continue
		}
		s.met.sent[tm.Turn] = b
		s.send(turnMetricsEvent{Type: TypeTurnMetrics, EventID: s.nextEventID(), TurnReport: rep})
		fields := []zap.Field{zap.String("preset", s.preset.Name), zap.Int("turn", tm.Turn), zap.Uint32("response", uint32(tm.Response)),
			zap.Bool("answered", tm.Answered), zap.Bool("barge_in", tm.BargeIn), zap.Bool("truncated", tm.Truncated),
			zap.Float64("played_ms", tm.PlayedMs)}
		for _, name := range []string{pipeline.MetricVoiceToVoice, pipeline.MetricEndpointing, pipeline.MetricNativeTTFA,
			pipeline.MetricSTTFinal, pipeline.MetricLLMTTFT, pipeline.MetricTTSTTFB, pipeline.MetricBargeInStop, pipeline.MetricOvertalk} {
			if v, ok := tm.Values[name]; ok {
				fields = append(fields, zap.Duration(name, v))
			}
		}
		s.log.Info("realtime turn metrics", fields...)
		if s.h.opts.OnTurn != nil {
			s.h.opts.OnTurn(rep)
		}
	}
}
