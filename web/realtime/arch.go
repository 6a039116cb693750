package realtime

import (
	"fmt"
	"slices"
	"strings"

	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/stages/catalog"
	"github.com/voicesim/voicesim/stages/network"
	"go.yaml.in/yaml/v3"
)

// Network choices (the network query parameter).
const (
	networkNone   = "none"   // the real wire only (default)
	networkPreset = "preset" // the preset's own simulated network legs
)

// chain is one built pipeline: the preset's server half with voicesim's
// control stage, configured for the session's turn detection.
type chain struct {
	arch    *catalog.Architecture
	stages  []pipeline.Named
	control *control
	// textFrom names the stage whose AssistantText frames are the spoken
	// transcript when a TTS stage consumes them ("" : they leave the chain).
	textFrom string
	// hasVAD and hasTurn: which endpointing stages the chain runs.
	hasVAD, hasTurn bool
}

// names lists the chain's stages in order.
func (c *chain) names() []string {
	out := make([]string, len(c.stages))
	for i, s := range c.stages {
		out[i] = s.Name
	}
	return out
}

// buildChain prepares preset p for a Realtime session: client-side stages
// (playout.*) are dropped, since the app is the listener; network legs are
// kept only if asked for; turn detection td replaces the preset's own
// endpointing unless it came from the preset.
func buildChain(reg *pipeline.Registry, p *catalog.Preset, netChoice string, td *turnDetection, user map[string]*yaml.Node) (*chain, error) {
	keepNet := netChoice != "" && netChoice != networkNone
	if keepNet && netChoice != networkPreset && !slices.Contains(network.ProfileNames(), netChoice) {
		return nil, fmt.Errorf("network %q: want %s, %s or a profile (%s)", netChoice, networkNone, networkPreset, strings.Join(network.ProfileNames(), ", "))
	}
	layers := map[string][]*yaml.Node{}
	server := *p
	server.Stages = nil
	vadAt, turnAt := -1, -1
	for _, st := range p.Stages {
		switch {
		case strings.HasPrefix(st.Stage, "playout."):
			continue
		case strings.HasPrefix(st.Stage, "network."):
			if !keepNet {
				continue
			}
			if netChoice != networkPreset {
				layers[st.Stage] = append(layers[st.Stage], node(fmt.Sprintf("{profile: %s}", netChoice)))
			}
		case strings.HasPrefix(st.Stage, "vad."):
			vadAt = len(server.Stages)
		case strings.HasPrefix(st.Stage, "turn."):
			turnAt = len(server.Stages)
		}
		server.Stages = append(server.Stages, st)
	}
	if vadAt >= 0 && td != nil && !td.fromPreset {
		if server.Stages[vadAt].Stage == "vad.energy" {
			th := min(max(td.Threshold, 0.01), 0.99) // vad.energy's threshold is exclusive of 0 and 1
			layers["vad.energy"] = append(layers["vad.energy"], node(fmt.Sprintf("{threshold: %g, prefix_padding: %dms}", th, td.PrefixPaddingMs)))
		}
		want, cfg := "turn.silence", fmt.Sprintf("{silence: %dms, interrupt: %t, min_interruption: 0s}", td.SilenceDurationMs, td.InterruptResponse)
		if td.Type == "semantic_vad" {
			maxDelay, _ := semanticMaxDelayMs(td.Eagerness)
			want, cfg = "turn.semantic", fmt.Sprintf("{max_delay: %dms, interrupt: %t, min_interruption: 0s}", maxDelay, td.InterruptResponse)
		}
		spec := catalog.StageSpec{Stage: want}
		switch {
		case turnAt < 0:
			turnAt = vadAt + 1
			server.Stages = slices.Insert(server.Stages, turnAt, spec)
		case server.Stages[turnAt].Stage != want:
			server.Stages[turnAt] = spec // the preset's config is for another detector
		}
		layers[want] = append(layers[want], node(cfg))
	}
	if td == nil && turnAt >= 0 {
		server.Stages = slices.Delete(server.Stages, turnAt, turnAt+1)
		turnAt = -1
	}
	for name, n := range user {
		if slices.ContainsFunc(server.Stages, func(s catalog.StageSpec) bool { return s.Stage == name }) {
			layers[name] = append(layers[name], n)
		}
	}
	if len(server.Stages) == 0 {
		return nil, fmt.Errorf("preset %s has no server-side stages", p.Name)
	}
	a, err := server.PrepareLayers(reg, layers)
	if err != nil {
		return nil, err
	}
	c := &chain{arch: a, hasVAD: vadAt >= 0, hasTurn: turnAt >= 0}
	// The control stage goes after the turn detector, else after the VAD,
	// else before the first model stage.
	at := 0
	switch {
	case turnAt >= 0:
		at = turnAt + 1
	case vadAt >= 0:
		at = vadAt + 1
	default:
		for at < len(server.Stages) && strings.HasPrefix(server.Stages[at].Stage, "network.") {
			at++
		}
	}
	ctl := &control{manual: td == nil, createResponse: td == nil || td.CreateResponse, interrupt: td == nil || td.InterruptResponse}
	c.control = ctl
	for i, s := range a.Stages {
		if i == at {
			c.stages = append(c.stages, pipeline.Named{Name: controlName, Stage: ctl})
		}
		if strings.HasPrefix(s.Name, "tts.") && i > 0 && c.textFrom == "" {
			c.textFrom = a.Stages[i-1].Name
		}
		c.stages = append(c.stages, pipeline.Named{Name: s.Name, Stage: s.New()})
	}
	if at >= len(a.Stages) {
		c.stages = append(c.stages, pipeline.Named{Name: controlName, Stage: ctl})
	}
	return c, nil
}

// presetTurn describes the endpointing preset p runs, as a Realtime
// turn_detection: what session.created reports before any session.update.
func presetTurn(reg *pipeline.Registry, p *catalog.Preset) *turnDetection {
	td := &turnDetection{Type: "server_vad", Threshold: defaultThreshold, PrefixPaddingMs: defaultPrefixPadding,
		SilenceDurationMs: defaultSilence, Eagerness: "auto", CreateResponse: true, InterruptResponse: true, fromPreset: true}
	a, err := p.Prepare(reg, nil)
	if err != nil {
		return td
	}
	for _, st := range a.Stages {
		y, err := yaml.Marshal(st.Config)
		if err != nil {
			continue
		}
		var m map[string]any
		if yaml.Unmarshal(y, &m) != nil {
			continue
		}
		ms := func(key string) (int64, bool) {
			s, ok := m[key].(string)
			if !ok {
				return 0, false
			}
			d, err := pipeline.ParseDuration(s)
			if err != nil {
				return 0, false
			}
			return d.D().Milliseconds(), true
		}
		switch {
		case strings.HasPrefix(st.Name, "vad."):
			if v, ok := m["threshold"].(float64); ok {
				td.Threshold = v
			}
			if v, ok := ms("prefix_padding"); ok {
				td.PrefixPaddingMs = v
			}
		case st.Name == "turn.silence":
			if v, ok := ms("silence"); ok {
				td.SilenceDurationMs = v
			}
		case st.Name == "turn.semantic":
			td.Type = "semantic_vad"
		}
		if strings.HasPrefix(st.Name, "turn.") {
			if v, ok := m["interrupt"].(bool); ok {
				td.InterruptResponse = v
			}
		}
	}
	return td
}

// node parses a YAML snippet the code builds; a failure is a bug.
func node(src string) *yaml.Node {
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		panic("realtime: bad built-in YAML " + src + ": " + err.Error())
	}
	return &n
}
