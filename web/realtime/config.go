package realtime

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
)

// OpenAI Realtime server VAD defaults (API reference): threshold 0.5,
// prefix_padding_ms 300, silence_duration_ms 500; create_response and
// interrupt_response true.
const (
	defaultThreshold     = 0.5
	defaultPrefixPadding = 300
	defaultSilence       = 500
	maxPrefixPaddingMs   = 5000
)

// semanticMaxDelayMs maps semantic_vad's eagerness to the longest the turn
// detector waits (turn.semantic's max_delay): OpenAI documents low, medium
// and high as waiting at most 8 s, 4 s and 2 s; auto is medium.
func semanticMaxDelayMs(eagerness string) (int64, bool) {
	switch eagerness {
	case "low":
		return 8000, true
	case "medium", "auto":
		return 4000, true
	case "high":
		return 2000, true
	}
	return 0, false
}

// turnDetection is a session's turn detection; nil in sessionConfig means
// manual turns (turn_detection: null).
type turnDetection struct {
	Type              string // server_vad | semantic_vad
	Threshold         float64
	PrefixPaddingMs   int64
	SilenceDurationMs int64
	Eagerness         string
	CreateResponse    bool
	InterruptResponse bool
	IdleTimeoutMs     json.RawMessage
	// fromPreset: the preset's own endpointing, not set by the client, so
	// the preset's stage configs are used unchanged.
	fromPreset bool
}

// sessionConfig is a session's effective configuration. Fields voicesim
// does not simulate are kept as the client sent them and echoed back.
type sessionConfig struct {
	ID               string
	Model            string
	Instructions     string
	Voice            string
	Speed            float64
	OutputModalities []string
	Turn             *turnDetection
	ExpiresAt        int64
	// extra holds fields echoed verbatim (tools, tool_choice, tracing, …),
	// by their GA name.
	extra map[string]json.RawMessage
}

// update applies a session.update's session object (GA or beta shape).
func (c *sessionConfig) update(raw json.RawMessage) *apiError {
	if len(raw) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return reqErr(codeMissingParam, "session", "Missing required parameter: 'session'.")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return reqErr(codeInvalidValue, "session", "Invalid type for 'session': expected an object.")
	}
	next := *c
	next.extra = make(map[string]json.RawMessage, len(c.extra))
	for k, v := range c.extra {
		next.extra[k] = v
	}
	if t, ok := m["type"]; ok {
		var s string
		if json.Unmarshal(t, &s) != nil || s != "realtime" {
			return reqErr(codeInvalidValue, "session.type", fmt.Sprintf("Invalid value for 'session.type': %s. voicesim supports 'realtime' sessions only.", t))
		}
	}
	str := func(key string, dst *string) *apiError {
		if v, ok := m[key]; ok && json.Unmarshal(v, dst) != nil {
			return reqErr(codeInvalidValue, "session."+key, fmt.Sprintf("Invalid type for 'session.%s': expected a string.", key))
		}
		return nil
	}
	for _, f := range []struct {
		key string
		dst *string
	}{{"instructions", &next.Instructions}, {"voice", &next.Voice}, {"model", &next.Model}} {
		if e := str(f.key, f.dst); e != nil {
			return e
		}
	}
	for _, key := range []string{"output_modalities", "modalities"} {
		if v, ok := m[key]; ok && json.Unmarshal(v, &next.OutputModalities) != nil {
			return reqErr(codeInvalidValue, "session."+key, fmt.Sprintf("Invalid type for 'session.%s': expected an array of strings.", key))
		}
	}
	for _, key := range []string{"tools", "tool_choice", "max_output_tokens", "tracing", "truncation", "prompt", "include", "temperature"} {
		if v, ok := m[key]; ok {
			next.extra[key] = v
		}
	}
	if v, ok := m["max_response_output_tokens"]; ok { // beta name
		next.extra["max_output_tokens"] = v
	}
	if v, ok := m["input_audio_transcription"]; ok { // beta name
		next.extra["transcription"] = v
	}
	// Beta shape: flat formats and turn detection.
	for _, key := range []string{"input_audio_format", "output_audio_format"} {
		if v, ok := m[key]; ok {
			if e := checkFormat(v, "session."+key); e != nil {
				return e
			}
		}
	}
	if v, ok := m["turn_detection"]; ok {
		td, e := parseTurn(v, "session.turn_detection")
		if e != nil {
			return e
		}
		next.Turn = td
	}
	// GA shape: audio.input / audio.output.
	if v, ok := m["audio"]; ok {
		if e := next.updateAudio(v); e != nil {
			return e
		}
	}
	*c = next
	return nil
}

func (c *sessionConfig) updateAudio(raw json.RawMessage) *apiError {
	var a struct {
		Input  map[string]json.RawMessage `json:"input"`
		Output map[string]json.RawMessage `json:"output"`
	}
	if err := json.Unmarshal(raw, &a); err != nil {
		return reqErr(codeInvalidValue, "session.audio", "Invalid type for 'session.audio': expected an object with 'input' and 'output'.")
	}
	if v, ok := a.Input["format"]; ok {
		if e := checkFormat(v, "session.audio.input.format"); e != nil {
			return e
		}
	}
	for _, key := range []string{"transcription", "noise_reduction"} {
		if v, ok := a.Input[key]; ok {
			c.extra[key] = v
		}
	}
	if v, ok := a.Input["turn_detection"]; ok {
		td, e := parseTurn(v, "session.audio.input.turn_detection")
		if e != nil {
			return e
		}
		c.Turn = td
	}
	if v, ok := a.Output["format"]; ok {
		if e := checkFormat(v, "session.audio.output.format"); e != nil {
			return e
		}
	}
	if v, ok := a.Output["voice"]; ok {
		delete(c.extra, "voice")
		if json.Unmarshal(v, &c.Voice) != nil {
			c.extra["voice"] = v // a custom voice object: echoed, not simulated
		}
	}
	if v, ok := a.Output["speed"]; ok {
		if json.Unmarshal(v, &c.Speed) != nil || !(c.Speed >= 0.25 && c.Speed <= 1.5) {
			return reqErr(codeInvalidValue, "session.audio.output.speed", "Invalid value for 'session.audio.output.speed': expected a number between 0.25 and 1.5.")
		}
	}
	return nil
}

// checkFormat accepts PCM16 at 24 kHz, the pipeline's own format, in its
// GA ({"type": "audio/pcm", "rate": 24000}) or beta ("pcm16") spelling.
func checkFormat(raw json.RawMessage, param string) *apiError {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s == "pcm16" {
			return nil
		}
		return reqErr(codeUnsupportedAudio, param, fmt.Sprintf("Unsupported audio format %q: voicesim speaks PCM16 mono at 24 kHz only (pcm16, or {\"type\": \"audio/pcm\", \"rate\": 24000}).", s))
	}
	var f struct {
		Type string `json:"type"`
		Rate *int   `json:"rate"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		return reqErr(codeInvalidValue, param, fmt.Sprintf("Invalid type for '%s': expected an object.", param))
	}
	if f.Type != "audio/pcm" || (f.Rate != nil && *f.Rate != 24000) {
		return reqErr(codeUnsupportedAudio, param, fmt.Sprintf("Unsupported audio format %s: voicesim speaks PCM16 mono at 24 kHz only ({\"type\": \"audio/pcm\", \"rate\": 24000}).", raw))
	}
	return nil
}

// parseTurn decodes a turn_detection object; null means manual turns. As
// with the OpenAI API, fields left out take their defaults.
func parseTurn(raw json.RawMessage, param string) (*turnDetection, *apiError) {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, nil
	}
	var t struct {
		Type              string          `json:"type"`
		Threshold         *float64        `json:"threshold"`
		PrefixPaddingMs   *int64          `json:"prefix_padding_ms"`
		SilenceDurationMs *int64          `json:"silence_duration_ms"`
		Eagerness         string          `json:"eagerness"`
		CreateResponse    *bool           `json:"create_response"`
		InterruptResponse *bool           `json:"interrupt_response"`
		IdleTimeoutMs     json.RawMessage `json:"idle_timeout_ms"`
	}
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, reqErr(codeInvalidValue, param, fmt.Sprintf("Invalid value for '%s': %v.", param, err))
	}
	td := &turnDetection{Type: t.Type, Threshold: defaultThreshold, PrefixPaddingMs: defaultPrefixPadding,
		SilenceDurationMs: defaultSilence, Eagerness: "auto", CreateResponse: true, InterruptResponse: true, IdleTimeoutMs: t.IdleTimeoutMs}
	switch t.Type {
	case "", "server_vad":
		td.Type = "server_vad"
	case "semantic_vad":
		if t.Eagerness != "" {
			if _, ok := semanticMaxDelayMs(t.Eagerness); !ok {
				return nil, reqErr(codeInvalidValue, param+".eagerness", fmt.Sprintf("Invalid value: '%s'. Supported values are: 'low', 'medium', 'high' and 'auto'.", t.Eagerness))
			}
			td.Eagerness = t.Eagerness
		}
	default:
		return nil, reqErr(codeInvalidValue, param+".type", fmt.Sprintf("Invalid value: '%s'. Supported values are: 'server_vad' and 'semantic_vad'.", t.Type))
	}
	if t.Threshold != nil {
		if !(*t.Threshold >= 0 && *t.Threshold <= 1) {
			return nil, reqErr(codeInvalidValue, param+".threshold", fmt.Sprintf("Invalid value for '%s.threshold': %v; expected a number between 0 and 1.", param, *t.Threshold))
		}
		td.Threshold = *t.Threshold
	}
	if t.PrefixPaddingMs != nil {
		if *t.PrefixPaddingMs < 0 || *t.PrefixPaddingMs > maxPrefixPaddingMs {
			return nil, reqErr(codeInvalidValue, param+".prefix_padding_ms", fmt.Sprintf("Invalid value for '%s.prefix_padding_ms': %d; expected 0 to %d.", param, *t.PrefixPaddingMs, maxPrefixPaddingMs))
		}
		td.PrefixPaddingMs = *t.PrefixPaddingMs
	}
	if t.SilenceDurationMs != nil {
		if *t.SilenceDurationMs < 0 {
			return nil, reqErr(codeInvalidValue, param+".silence_duration_ms", fmt.Sprintf("Invalid value for '%s.silence_duration_ms': %d; expected a non-negative number.", param, *t.SilenceDurationMs))
		}
		td.SilenceDurationMs = *t.SilenceDurationMs
	}
	if t.CreateResponse != nil {
		td.CreateResponse = *t.CreateResponse
	}
	if t.InterruptResponse != nil {
		td.InterruptResponse = *t.InterruptResponse
	}
	return td, nil
}

// sameEndpointing reports whether a and b configure the pipeline the same
// way (create_response is applied without a rebuild).
func sameEndpointing(a, b *turnDetection) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.fromPreset == b.fromPreset && a.Type == b.Type && a.Threshold == b.Threshold &&
		a.PrefixPaddingMs == b.PrefixPaddingMs && a.SilenceDurationMs == b.SilenceDurationMs &&
		a.Eagerness == b.Eagerness && a.InterruptResponse == b.InterruptResponse
}

// render returns the session object for session.created/updated: the full
// effective session in the client's dialect, plus a "voicesim" field naming
// the simulated architecture (clients ignore fields they do not know).
func (c *sessionConfig) render(d dialect, arch map[string]any) map[string]any {
	pcm := map[string]any{"type": "audio/pcm", "rate": 24000}
	out := map[string]any{
		"id": c.ID, "object": "realtime.session", "model": c.Model,
		"instructions": c.Instructions, "expires_at": c.ExpiresAt,
		"tools": json.RawMessage("[]"), "tool_choice": "auto", "tracing": nil, "voicesim": arch,
	}
	extra := func(key, as string, def any) {
		if v, ok := c.extra[key]; ok {
			out[as] = v
		} else {
			out[as] = def
		}
	}
	for _, k := range []string{"tools", "tool_choice", "tracing", "prompt", "include", "truncation"} {
		if v, ok := c.extra[k]; ok {
			out[k] = v
		}
	}
	voice := any(c.Voice)
	if v, ok := c.extra["voice"]; ok {
		voice = v
	}
	td := c.renderTurn(d)
	if d == beta {
		out["modalities"] = c.OutputModalities
		out["voice"] = voice
		out["input_audio_format"] = "pcm16"
		out["output_audio_format"] = "pcm16"
		out["turn_detection"] = td
		out["speed"] = c.Speed
		extra("transcription", "input_audio_transcription", nil)
		extra("max_output_tokens", "max_response_output_tokens", "inf")
		extra("temperature", "temperature", 0.8)
		return out
	}
	out["type"] = "realtime"
	out["output_modalities"] = c.OutputModalities
	extra("max_output_tokens", "max_output_tokens", "inf")
	in := map[string]any{"format": pcm, "turn_detection": td}
	for _, k := range []string{"transcription", "noise_reduction"} {
		in[k] = nil
		if v, ok := c.extra[k]; ok {
			in[k] = v
		}
	}
	out["audio"] = map[string]any{"input": in,
		"output": map[string]any{"format": pcm, "voice": voice, "speed": c.Speed}}
	return out
}

func (c *sessionConfig) renderTurn(dialect) any {
	t := c.Turn
	if t == nil {
		return nil
	}
	if t.Type == "semantic_vad" {
		return map[string]any{"type": t.Type, "eagerness": t.Eagerness,
			"create_response": t.CreateResponse, "interrupt_response": t.InterruptResponse}
	}
	idle := t.IdleTimeoutMs
	if len(idle) == 0 {
		idle = json.RawMessage("null")
	}
	return map[string]any{"type": t.Type, "threshold": round3(t.Threshold), "prefix_padding_ms": t.PrefixPaddingMs,
		"silence_duration_ms": t.SilenceDurationMs, "idle_timeout_ms": idle,
		"create_response": t.CreateResponse, "interrupt_response": t.InterruptResponse}
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }
