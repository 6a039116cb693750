// Package catalog is the one place that names every stage voicesim ships:
// it builds the stage registry and holds the built-in presets, each an
// architecture written as a list of stages with their configs.
package catalog

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/voicesim/voicesim/pipeline"
	"go.yaml.in/yaml/v3"
)

//go:embed presets/*.yaml
var presetFS embed.FS

// Preset is an architecture: a named list of stages with configs, plus the
// published figure it is calibrated against.
type Preset struct {
	Name        string      `yaml:"name"`
	Description string      `yaml:"description"`
	Kind        string      `yaml:"kind"` // cascaded | native | duplex
	Figure      *Figure     `yaml:"figure,omitempty"`
	Prices      *Prices     `yaml:"prices,omitempty"`
	Stages      []StageSpec `yaml:"stages"`
	File        string      `yaml:"-"`
}

// Figure is the published number a preset reproduces, and what it measures.
type Figure struct {
	// Metric names what the figure measures: a glossary metric or a sum of
	// critical-path segments written with "+" (e.g. "endpointing+native_ttfa").
	Metric string            `yaml:"metric"`
	Mean   pipeline.Duration `yaml:"mean"`
	Min    pipeline.Duration `yaml:"min,omitempty"`
	Source string            `yaml:"source"`
	Note   string            `yaml:"note,omitempty"`
}

// Prices are per-unit costs in US dollars, from published price lists.
// A zero field is unknown, not free.
type Prices struct {
	TextInPer1K    float64 `yaml:"text_in_per_1k"`
	TextOutPer1K   float64 `yaml:"text_out_per_1k"`
	AudioInPerMin  float64 `yaml:"audio_in_per_min"`
	AudioOutPerMin float64 `yaml:"audio_out_per_min"`
	AudioInPer1K   float64 `yaml:"audio_in_per_1k_tokens"`
	AudioOutPer1K  float64 `yaml:"audio_out_per_1k_tokens"`
	TTSPer1KChars  float64 `yaml:"tts_per_1k_chars"`
	Source         string  `yaml:"source"`
}

// StageSpec is one stage of a preset: its registered name and its config.
type StageSpec struct {
	Stage  string    `yaml:"stage"`
	Config yaml.Node `yaml:"config"`
}

// Names lists the built-in presets, sorted.
func Names() []string {
	entries, err := fs.ReadDir(presetFS, "presets")
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".yaml") {
			out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
		}
	}
	sort.Strings(out)
	return out
}

// Load returns the built-in preset called name.
func Load(name string) (*Preset, error) {
	data, err := presetFS.ReadFile(path.Join("presets", name+".yaml"))
	if err != nil {
		return nil, fmt.Errorf("unknown preset %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	return Parse(data, "presets/"+name+".yaml")
}

// Parse decodes a preset strictly; errors name the file, line and field.
func Parse(data []byte, file string) (*Preset, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	p := &Preset{}
	if err := pipeline.DecodeStrict(&doc, p); err != nil {
		return nil, pipeline.InFile(err, file)
	}
	p.File = file
	if p.Name == "" {
		return nil, fmt.Errorf("%s: preset has no name", file)
	}
	if len(p.Stages) == 0 {
		return nil, fmt.Errorf("%s: preset %s has no stages", file, p.Name)
	}
	seen := map[string]bool{}
	for i, s := range p.Stages {
		if s.Stage == "" {
			return nil, fmt.Errorf("%s: stages[%d] has no stage name", file, i)
		}
		if seen[s.Stage] {
			return nil, fmt.Errorf("%s: stage %s appears twice", file, s.Stage)
		}
		seen[s.Stage] = true
	}
	return p, nil
}

// Architecture is a preset whose stage configs are decoded and validated,
// ready to build sessions.
type Architecture struct {
	Name   string
	Preset *Preset
	Stages []pipeline.Prepared
}

// Prepare decodes every stage config of p over its defaults, then the
// overrides for that stage (keyed by stage name), strictly.
func (p *Preset) Prepare(r *pipeline.Registry, overrides map[string]*yaml.Node) (*Architecture, error) {
	layers := map[string][]*yaml.Node{}
	for k, v := range overrides {
		layers[k] = []*yaml.Node{v}
	}
	return p.PrepareLayers(r, layers)
}

// PrepareLayers is Prepare with several override layers per stage, applied
// in order.
func (p *Preset) PrepareLayers(r *pipeline.Registry, overrides map[string][]*yaml.Node) (*Architecture, error) {
	a := &Architecture{Name: p.Name, Preset: p}
	names := make([]string, 0, len(overrides))
	for name := range overrides {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !p.has(name) {
			return nil, fmt.Errorf("override for stage %s, which preset %s does not have (it has: %s)", name, p.Name, strings.Join(p.stageNames(), ", "))
		}
	}
	for _, s := range p.Stages {
		layers := []*yaml.Node{}
		if s.Config.Kind != 0 {
			c := s.Config
			layers = append(layers, &c)
		}
		layers = append(layers, overrides[s.Stage]...)
		prep, err := r.Prepare(s.Stage, layers...)
		if err != nil {
			return nil, pipeline.InFile(err, p.File)
		}
		a.Stages = append(a.Stages, prep)
	}
	return a, nil
}

func (p *Preset) has(name string) bool {
	for _, s := range p.Stages {
		if s.Stage == name {
			return true
		}
	}
	return false
}

func (p *Preset) stageNames() []string {
	var out []string
	for _, s := range p.Stages {
		out = append(out, s.Stage)
	}
	return out
}

// NewSession builds a session with fresh stages of the architecture.
func (a *Architecture) NewSession(opts pipeline.Options) *pipeline.Session {
	named := make([]pipeline.Named, len(a.Stages))
	for i, s := range a.Stages {
		named[i] = pipeline.Named{Name: s.Name, Stage: s.New()}
	}
	return pipeline.NewSession(opts, named...)
}

// Config returns the prepared config of the stage called name, or nil.
func (a *Architecture) Config(name string) any {
	for _, s := range a.Stages {
		if s.Name == name {
			return s.Config
		}
	}
	return nil
}
