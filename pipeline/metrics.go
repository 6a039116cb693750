package pipeline

import (
	"math"
	"sort"
	"time"
)

// Metric names, as the DESIGN glossary defines them. Reports use these.
const (
	MetricVoiceToVoice        = "voice_to_voice"
	MetricEndpointing         = "endpointing"
	MetricSTTFinal            = "stt_final"
	MetricLLMQueue            = "llm_queue"
	MetricLLMTTFT             = "llm_ttft"
	MetricSentenceAggregation = "sentence_aggregation"
	MetricTTSTTFB             = "tts_ttfb"
	MetricNativeTTFA          = "native_ttfa"
	MetricNetworkUp           = "network_up"
	MetricNetworkDown         = "network_down"
	MetricPlayout             = "playout"
	MetricBargeInStop         = "barge_in_stop"
	MetricOvertalk            = "overtalk"
)

// criticalPath lists, in order, the marks a response's first audio passes on
// its way from the true end of user speech to the listener's ear, each with
// the segment it closes. Absent marks are skipped, so the segments present
// always telescope to voice_to_voice exactly.
var criticalPath = []struct{ mark, segment string }{
	{MarkServerSpeechEnd, MetricNetworkUp},
	{MarkTurnEnd, MetricEndpointing},
	{MarkSTTFinal, MetricSTTFinal},
	{MarkLLMRequest, MetricLLMQueue},
	{MarkLLMFirstToken, MetricLLMTTFT},
	{MarkTTSRequest, MetricSentenceAggregation},
	{MarkTTSFirstAudio, MetricTTSTTFB},
	{MarkNativeFirstAudio, MetricNativeTTFA},
	{MarkClientFirstAudio, MetricNetworkDown},
	{MarkClientFirstPlayed, MetricPlayout},
}

// CriticalPath returns the segment names of the critical path, in order.
func CriticalPath() []string {
	out := make([]string, len(criticalPath))
	for i, c := range criticalPath {
		out[i] = c.segment
	}
	return out
}

// Segment is one span of a turn's critical path.
type Segment struct {
	Name  string        `json:"name"`
	Start time.Duration `json:"start_ns"`
	End   time.Duration `json:"end_ns"`
}

// Duration returns the segment's length.
func (s Segment) Duration() time.Duration { return s.End - s.Start }

// TurnMetrics are the measurements of one user turn and the response that
// answered it.
type TurnMetrics struct {
	Turn      int           `json:"turn"`
	Response  ResponseID    `json:"response,omitempty"`
	SpeechEnd time.Duration `json:"speech_end_ns"`
	// Answered is false when no response to this turn was ever heard.
	Answered bool `json:"answered"`
	// Values holds the glossary metrics that apply to this turn.
	Values map[string]time.Duration `json:"values"`
	// Breakdown is the critical path; its segments sum to voice_to_voice.
	Breakdown []Segment `json:"breakdown,omitempty"`

	// PrematureEndpoints counts turn ends detected before the user finished;
	// PrematureAudible counts those whose response was heard before then.
	PrematureEndpoints int `json:"premature_endpoints,omitempty"`
	PrematureAudible   int `json:"premature_audible,omitempty"`

	// Barge-in outcome when this turn began over assistant audio.
	BargeIn            bool `json:"barge_in,omitempty"`
	MissedInterruption bool `json:"missed_interruption,omitempty"`
	// Backchannels during the answer, and how many of them stopped it.
	Backchannels       int `json:"backchannels,omitempty"`
	FalseInterruptions int `json:"false_interruptions,omitempty"`

	// PlayedMs is how much of the answer the user heard; Truncated says the
	// answer was cut off.
	PlayedMs  float64 `json:"played_ms,omitempty"`
	Truncated bool    `json:"truncated,omitempty"`
	// Text is the answer's full text; Heard is the part the user heard,
	// which is what the conversation history must keep after a barge-in.
	Text  string `json:"text,omitempty"`
	Heard string `json:"heard,omitempty"`
}

// Breakdown sum, for checks: it equals Values[voice_to_voice].
func (m TurnMetrics) BreakdownSum() time.Duration {
	var sum time.Duration
	for _, s := range m.Breakdown {
		sum += s.Duration()
	}
	return sum
}

type truthTurn struct {
	start, end time.Duration
	bargeIn    bool
}

type respInfo struct {
	id                     ResponseID
	turnEnd                time.Duration
	firstPlayed, playEnd   time.Duration
	played, ended          bool
	cancelledAt            time.Duration
	cancelled, interrupted bool
	playedMs               float64
}

// Turns computes per-turn metrics from a timeline. Latencies are measured
// from the truth (when the user really stopped speaking), not from what a
// detector believed, so the endpointing wait shows.
//
// A response belongs to the user turn during which its turn end was
// detected. The turn's answer is its first response that was not cancelled,
// or that was cancelled only after the user had begun to hear it once they
// had finished speaking (a barge-in, or a backchannel taken for one). A
// premature endpoint's response, cancelled when the user carries on, is not
// the answer.
func (t *Timeline) Turns() []TurnMetrics {
	turns := map[int]*truthTurn{}
	var backchannels []time.Duration
	for _, m := range t.Marks {
		switch m.Name {
		case MarkUserSpeechStart:
			tt := turnOf(turns, m.Turn)
			tt.start = m.At
			tt.bargeIn = m.Value == 1
		case MarkUserSpeechEnd:
			turnOf(turns, m.Turn).end = m.At
		case MarkUserBackchannel:
			backchannels = append(backchannels, m.At)
		}
	}
	idx := make([]int, 0, len(turns))
	for k := range turns {
		idx = append(idx, k)
	}
	sort.Ints(idx)
	resps := t.responses()

	out := make([]TurnMetrics, 0, len(idx))
	for i, k := range idx {
		tt := turns[k]
		next := time.Duration(math.MaxInt64)
		if i+1 < len(idx) {
			next = turns[idx[i+1]].start
		}
		tm := TurnMetrics{Turn: k, SpeechEnd: tt.end, Values: make(map[string]time.Duration, 16)}
		var answer *respInfo
		for _, r := range resps {
			if r.turnEnd < tt.start || r.turnEnd >= next {
				continue
			}
			if r.turnEnd < tt.end {
				tm.PrematureEndpoints++
				if r.played && r.firstPlayed < tt.end {
					tm.PrematureAudible++
				}
			}
			// The answer is the first response the user got to hear as an
			// answer: never cancelled, or cancelled only after it began
			// playing once the user had finished (a barge-in, or a false
			// interruption by a backchannel). A premature endpoint's
			// response, cancelled before it played or while the user was
			// still talking, is not it.
			if answer == nil && (!r.cancelled || (r.played && r.firstPlayed >= tt.end)) {
				answer = r
			}
		}
		if answer != nil {
			t.measure(&tm, tt, answer)
			for _, b := range backchannels {
				if b < answer.firstPlayed || !answer.played || (answer.ended && b >= answer.playEnd) {
					continue
				}
				tm.Backchannels++
				if answer.interrupted && answer.cancelledAt >= b && answer.cancelledAt < next {
					tm.FalseInterruptions++
				}
			}
		}
		// Did this turn start over a previous answer's audio?
		if i > 0 {
			for _, r := range resps {
				if !r.played || r.firstPlayed > tt.start || r.turnEnd >= tt.start {
					continue
				}
				if r.ended && r.playEnd <= tt.start {
					continue
				}
				tm.BargeIn = true
				if r.interrupted && r.ended {
					tm.Values[MetricBargeInStop] = r.playEnd - tt.start
					tm.Values[MetricOvertalk] = r.playEnd - max(tt.start, r.firstPlayed)
				} else {
					if tt.bargeIn {
						tm.MissedInterruption = true
					}
					if r.ended {
						tm.Values[MetricOvertalk] = r.playEnd - max(tt.start, r.firstPlayed)
					}
				}
			}
			if tt.bargeIn && !tm.BargeIn {
				// Scripted as a barge-in but nothing was playing: no outcome.
				tm.BargeIn = false
			}
		}
		out = append(out, tm)
	}
	return out
}

func turnOf(m map[int]*truthTurn, k int) *truthTurn {
	if tt, ok := m[k]; ok {
		return tt
	}
	tt := &truthTurn{}
	m[k] = tt
	return tt
}

func (t *Timeline) responses() []*respInfo {
	byID := map[ResponseID]*respInfo{}
	var order []*respInfo
	get := func(r ResponseID) *respInfo {
		if ri, ok := byID[r]; ok {
			return ri
		}
		ri := &respInfo{id: r}
		byID[r] = ri
		order = append(order, ri)
		return ri
	}
	for _, m := range t.Marks {
		if m.Response == 0 {
			continue
		}
		switch m.Name {
		case MarkTurnEnd:
			ri := get(m.Response)
			ri.turnEnd = m.At
		case MarkClientFirstPlayed:
			ri := get(m.Response)
			if !ri.played || m.At < ri.firstPlayed {
				ri.firstPlayed, ri.played = m.At, true
			}
		case MarkClientPlayedEnd:
			ri := get(m.Response)
			ri.playEnd, ri.ended, ri.playedMs = m.At, true, m.Value
		case MarkInterrupted, MarkCancelled:
			ri := get(m.Response)
			if !ri.cancelled {
				ri.cancelled, ri.cancelledAt = true, m.At
				ri.interrupted = m.Name == MarkInterrupted
			}
		}
	}
	// Only responses that began with a detected turn end are answers.
	out := order[:0]
	for _, r := range order {
		if _, ok := t.First(MarkTurnEnd, r.id); ok {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].turnEnd < out[j].turnEnd })
	return out
}

// measure fills the latency values and the critical path of an answered turn.
func (t *Timeline) measure(tm *TurnMetrics, tt *truthTurn, r *respInfo) {
	tm.Response = r.id
	tm.PlayedMs = r.playedMs
	tm.Truncated = r.interrupted || (r.cancelled && r.ended)
	if m, ok := t.First(MarkResponseText, r.id); ok {
		tm.Text = m.Text
	}
	if m, ok := t.First(MarkHeard, r.id); ok {
		tm.Heard = m.Text
	}
	if !r.played {
		return
	}
	tm.Answered = true
	v2v := r.firstPlayed - tt.end
	tm.Values[MetricVoiceToVoice] = v2v

	prevAt := tt.end
	tm.Breakdown = make([]Segment, 0, len(criticalPath)) // one allocation, not one per doubling
	for _, c := range criticalPath {
		m, ok := t.First(c.mark, r.id)
		if c.mark == MarkServerSpeechEnd {
			m, ok = t.serverSpeechEnd(tt)
		}
		if !ok {
			continue
		}
		tm.Breakdown = append(tm.Breakdown, Segment{Name: c.segment, Start: prevAt, End: m.At})
		prevAt = m.At
	}
	// Stand-alone glossary values, each from its own pair of marks.
	at := func(name string) (time.Duration, bool) {
		m, ok := t.First(name, r.id)
		return m.At, ok
	}
	heard := tt.end
	if m, ok := t.serverSpeechEnd(tt); ok {
		tm.Values[MetricNetworkUp] = m.At - tt.end
		heard = m.At
	}
	pair := func(metric string, from time.Duration, okFrom bool, to string) {
		if end, ok := at(to); ok && okFrom {
			tm.Values[metric] = end - from
		}
	}
	turnEnd, okTE := at(MarkTurnEnd)
	if okTE {
		tm.Values[MetricEndpointing] = turnEnd - heard
	}
	pair(MetricSTTFinal, turnEnd, okTE, MarkSTTFinal)
	llmReq, okReq := at(MarkLLMRequest)
	pair(MetricLLMTTFT, llmReq, okReq, MarkLLMFirstToken)
	firstTok, okTok := at(MarkLLMFirstToken)
	pair(MetricSentenceAggregation, firstTok, okTok, MarkTTSRequest)
	ttsReq, okTTS := at(MarkTTSRequest)
	pair(MetricTTSTTFB, ttsReq, okTTS, MarkTTSFirstAudio)
	pair(MetricNativeTTFA, turnEnd, okTE, MarkNativeFirstAudio)
	if sent, ok := at(MarkTTSFirstAudio); ok {
		pair(MetricNetworkDown, sent, true, MarkClientFirstAudio)
	} else if sent, ok := at(MarkNativeFirstAudio); ok {
		pair(MetricNetworkDown, sent, true, MarkClientFirstAudio)
	}
	arrived, okArr := at(MarkClientFirstAudio)
	pair(MetricPlayout, arrived, okArr, MarkClientFirstPlayed)
}

// serverSpeechEnd finds when the frame carrying turn tt's true end reached
// the server: the first such mark at or after the true end.
func (t *Timeline) serverSpeechEnd(tt *truthTurn) (Mark, bool) {
	var best Mark
	found := false
	for _, m := range t.Marks {
		if m.Name != MarkServerSpeechEnd || m.At < tt.end {
			continue
		}
		if !found || m.At < best.At {
			best, found = m, true
		}
	}
	return best, found
}
