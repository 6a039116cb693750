package web

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/voicesim/voicesim/stages/catalog"
	"github.com/voicesim/voicesim/stages/network"
	"github.com/voicesim/voicesim/stages/turn"
	"go.yaml.in/yaml/v3"
)

// A live session runs the preset's server half. The client half is real:
// a browser's own playout buffer and speaker, or the Go client's model of
// them (voicesim run --server), so playout stages are left to the client.
// Network legs are dropped too unless the client asks for a simulated
// network on top of the real one: a real client already pays the real wire.

func clientSide(stage string) bool   { return strings.HasPrefix(stage, "playout.") }
func networkStage(stage string) bool { return strings.HasPrefix(stage, "network.") }

// liveArch is what a start message resolves to.
type liveArch struct {
	arch    *catalog.Architecture
	client  []StageConfig
	network string
	uplink  bool // network.uplink runs at the server
}

// archCache keeps prepared architectures by what the start message asked
// for: sessions of one architecture then share its provisioned parts (the
// TTS voice and its cache of rendered sentences), and a start costs no
// YAML decoding. Prepared architectures are read-only and safe to share.
type archCache struct {
	mu    sync.Mutex
	max   int
	byKey map[string]*liveArch
	order []string // oldest first, for eviction
}

func (c *archCache) get(key string) (*liveArch, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	la, ok := c.byKey[key]
	return la, ok
}

func (c *archCache) put(key string, la *liveArch) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byKey[key]; ok {
		return
	}
	if len(c.order) >= c.max {
		delete(c.byKey, c.order[0])
		c.order = c.order[1:]
	}
	c.byKey[key] = la
	c.order = append(c.order, key)
}

// archKey is what identifies an architecture in a start message.
func archKey(m *StartMessage, defaultPreset string) (string, error) {
	k := struct {
		Preset    string                     `json:"p"`
		Stages    []StageConfig              `json:"s"`
		Label     string                     `json:"l"`
		Kind      string                     `json:"k"`
		Overrides map[string]json.RawMessage `json:"o"`
		Network   string                     `json:"n"`
	}{m.Preset, m.Stages, m.Label, m.Kind, m.Overrides, m.Network}
	if k.Preset == "" && len(k.Stages) == 0 {
		k.Preset = defaultPreset
	}
	b, err := json.Marshal(k) // map keys sorted: a canonical form
	return string(b), err
}

// resolveArch returns the server-side architecture a start message asks
// for, prepared once per distinct request.
func (s *Server) resolveArch(m *StartMessage) (*liveArch, error) {
	key, err := archKey(m, s.cfg.Preset)
	if err != nil {
		return nil, err
	}
	if la, ok := s.archs.get(key); ok {
		return la, nil
	}
	la, err := s.prepareArch(m)
	if err != nil {
		return nil, err
	}
	s.archs.put(key, la)
	return la, nil
}

// prepareArch builds the server-side architecture a start message asks for.
func (s *Server) prepareArch(m *StartMessage) (*liveArch, error) {
	p, err := s.startPreset(m)
	if err != nil {
		return nil, err
	}
	netChoice := m.Network
	if netChoice == "" {
		netChoice = NetworkNone
	}
	if netChoice != NetworkNone && netChoice != NetworkPreset && !slices.Contains(network.ProfileNames(), netChoice) {
		return nil, fmt.Errorf("network %q: want %s, %s or a profile (%s)", netChoice, NetworkNone, NetworkPreset, strings.Join(network.ProfileNames(), ", "))
	}
	keepNet := netChoice != NetworkNone

	layers := map[string][]*yaml.Node{}
	if keepNet && netChoice != NetworkPreset {
		for _, leg := range []string{"network.uplink", "network.downlink"} {
			layers[leg] = append(layers[leg], scalarMap("profile", netChoice))
		}
	}
	names := make([]string, 0, len(m.Overrides))
	for k := range m.Overrides {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, stage := range names {
		if networkStage(stage) && !keepNet {
			return nil, fmt.Errorf("override for %s: the network is not simulated (network %q); ask for network %q or a profile", stage, netChoice, NetworkPreset)
		}
		var n yaml.Node
		if err := yaml.Unmarshal(m.Overrides[stage], &n); err != nil {
			return nil, fmt.Errorf("override for %s: %w", stage, err)
		}
		layers[stage] = append(layers[stage], &n)
	}

	server := *p
	server.Stages = nil
	la := &liveArch{network: netChoice}
	for _, st := range p.Stages {
		switch {
		case clientSide(st.Stage):
			sc, err := s.clientStage(st, layers[st.Stage])
			if err != nil {
				return nil, err
			}
			la.client = append(la.client, sc)
			delete(layers, st.Stage)
		case networkStage(st.Stage) && !keepNet:
		default:
			server.Stages = append(server.Stages, st)
			la.uplink = la.uplink || st.Stage == "network.uplink"
		}
	}
	if len(server.Stages) == 0 {
		return nil, fmt.Errorf("preset %s has no server-side stages", p.Name)
	}
	a, err := server.PrepareLayers(s.cfg.Registry, layers)
	if err != nil {
		return nil, err
	}
	la.arch = a
	return la, nil
}

// startPreset is the preset a start message names, or its inline stages.
func (s *Server) startPreset(m *StartMessage) (*catalog.Preset, error) {
	if len(m.Stages) == 0 {
		name := m.Preset
		if name == "" {
			name = s.cfg.Preset
		}
		return s.cfg.LoadPreset(name)
	}
	label := m.Label
	if label == "" {
		label = "inline"
	}
	p := &catalog.Preset{Name: label, Kind: m.Kind, Description: "defined inline by the client", File: "start message"}
	seen := map[string]bool{}
	for i, st := range m.Stages {
		if st.Stage == "" {
			return nil, fmt.Errorf("stages[%d] has no stage name", i)
		}
		if seen[st.Stage] {
			return nil, fmt.Errorf("stage %s appears twice", st.Stage)
		}
		seen[st.Stage] = true
		spec := catalog.StageSpec{Stage: st.Stage}
		if len(st.Config) > 0 {
			var n yaml.Node
			if err := yaml.Unmarshal(st.Config, &n); err != nil {
				return nil, fmt.Errorf("stage %s config: %w", st.Stage, err)
			}
			if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
				spec.Config = *n.Content[0]
			}
		}
		p.Stages = append(p.Stages, spec)
	}
	return p, nil
}

// clientStage prepares a client-side stage with its preset config and the
// start message's overrides, and returns its effective config as JSON.
func (s *Server) clientStage(st catalog.StageSpec, over []*yaml.Node) (StageConfig, error) {
	var layers []*yaml.Node
	if st.Config.Kind != 0 {
		c := st.Config
		layers = append(layers, &c)
	}
	prep, err := s.cfg.Registry.Prepare(st.Stage, append(layers, over...)...)
	if err != nil {
		return StageConfig{}, err
	}
	raw, err := configJSON(prep.Config)
	if err != nil {
		return StageConfig{}, fmt.Errorf("stage %s: %w", st.Stage, err)
	}
	return StageConfig{Stage: st.Stage, Config: raw}, nil
}

// configJSON renders a typed stage config as JSON through its YAML form,
// which is what the config's field tags and value types define.
func configJSON(cfg any) (json.RawMessage, error) {
	y, err := yaml.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	var v any
	if err := yaml.Unmarshal(y, &v); err != nil {
		return nil, fmt.Errorf("decode config: %w", err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode config as JSON: %w", err)
	}
	return out, nil
}

func scalarMap(key, value string) *yaml.Node {
	return &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Value: key}, {Kind: yaml.ScalarNode, Value: value},
	}}
}

// PresetInfo describes a preset for the demo page: what to show and which
// knobs apply.
type PresetInfo struct {
	Name        string   `json:"name"`
	Kind        string   `json:"kind"`
	Description string   `json:"description"`
	Stages      []string `json:"stages"`
	Figure      string   `json:"figure,omitempty"`
	// Endpointing is the knob for the endpointing wait, when the preset
	// has a turn detector to turn it on.
	Endpointing *Knob `json:"endpointing,omitempty"`
}

// Knob is one stage config field a page control sets, in milliseconds.
type Knob struct {
	Stage     string  `json:"stage"`
	Field     string  `json:"field"`
	DefaultMs float64 `json:"default_ms"`
}

// presetInfos describes the presets the server offers.
func (s *Server) presetInfos() ([]PresetInfo, error) {
	var out []PresetInfo
	for _, name := range s.cfg.Presets {
		p, err := s.cfg.LoadPreset(name)
		if err != nil {
			return nil, err
		}
		a, err := p.Prepare(s.cfg.Registry, nil)
		if err != nil {
			return nil, fmt.Errorf("preset %s: %w", name, err)
		}
		info := PresetInfo{Name: p.Name, Kind: p.Kind, Description: p.Description}
		for _, st := range p.Stages {
			info.Stages = append(info.Stages, st.Stage)
		}
		if f := p.Figure; f != nil {
			info.Figure = fmt.Sprintf("%s mean %v — %s", f.Metric, f.Mean, f.Source)
		}
		if c, ok := a.Config("turn.silence").(*turn.SilenceConfig); ok {
			info.Endpointing = &Knob{Stage: "turn.silence", Field: "silence", DefaultMs: float64(c.Silence.D()) / 1e6}
		}
		if c, ok := a.Config("turn.semantic").(*turn.SemanticConfig); ok {
			// The model's commit delay: a constant replaces its distribution.
			info.Endpointing = &Knob{Stage: "turn.semantic", Field: "delay", DefaultMs: float64(c.Delay.Mean()) / 1e6}
		}
		out = append(out, info)
	}
	return out, nil
}

// networkChoices lists a start message's network values.
func networkChoices() []string {
	return append([]string{NetworkNone, NetworkPreset}, network.ProfileNames()...)
}
