package pipeline

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Registry maps stage names ("stt.whisper") to constructors with typed
// configs. It is a value, not a global: the catalogue builds one with every
// stage, tests build their own.
type Registry struct {
	factories map[string]factory
}

type factory struct {
	doc      string
	defaults func() any
	build    func(cfg any) Stage
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{factories: map[string]factory{}} }

// Register adds a stage type. defaults returns a pointer to a config holding
// the stage's default values (with their published sources in comments);
// build makes one stage for one session from a validated config. Empty or
// duplicate names panic: they are programming errors.
func Register[C any](r *Registry, name, doc string, defaults func() *C, build func(cfg *C) Stage) {
	if name == "" {
		panic("pipeline: Register with an empty stage name")
	}
	if _, dup := r.factories[name]; dup {
		panic("pipeline: stage " + name + " registered twice")
	}
	r.factories[name] = factory{
		doc:      doc,
		defaults: func() any { return defaults() },
		build:    func(cfg any) Stage { return build(cfg.(*C)) },
	}
}

// Names lists the registered stages, sorted.
func (r *Registry) Names() []string {
	out := make([]string, 0, len(r.factories))
	for n := range r.factories {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Doc returns a stage's one-line description.
func (r *Registry) Doc(name string) string { return r.factories[name].doc }

// Provisioner is implemented by configs that build something once, after
// validation, for every session of the architecture to share (read-only or
// safe for concurrent use): e.g. a speech synthesiser with its cache.
type Provisioner interface {
	Provision() error
}

// Prepared is a stage whose config has been decoded and validated: it builds
// a fresh stage for each session.
type Prepared struct {
	Name   string
	Config any
	build  func(any) Stage
}

// New builds one stage instance.
func (p Prepared) New() Stage { return p.build(p.Config) }

// Defaults returns a pointer to a fresh default config for name.
func (r *Registry) Defaults(name string) (any, error) {
	f, ok := r.factories[name]
	if !ok {
		return nil, r.unknown(name)
	}
	return f.defaults(), nil
}

// Prepare decodes configs for stage name over its defaults, in order (later
// layers override earlier ones, e.g. a preset then a scenario's overrides),
// strictly, and validates the result. Errors name the stage, field and value.
func (r *Registry) Prepare(name string, layers ...*yaml.Node) (Prepared, error) {
	f, ok := r.factories[name]
	if !ok {
		return Prepared{}, r.unknown(name)
	}
	cfg := f.defaults()
	for _, n := range layers {
		if err := DecodeStrict(n, cfg); err != nil {
			return Prepared{}, withStage(err, name)
		}
	}
	if len(layers) == 0 {
		if err := validate(cfg); err != nil {
			return Prepared{}, withStage(err, name)
		}
	}
	if p, ok := cfg.(Provisioner); ok {
		if err := p.Provision(); err != nil {
			return Prepared{}, withStage(err, name)
		}
	}
	return Prepared{Name: name, Config: cfg, build: f.build}, nil
}

func (r *Registry) unknown(name string) error {
	near := []string{}
	prefix, _, _ := strings.Cut(name, ".")
	for _, n := range r.Names() {
		if strings.HasPrefix(n, prefix+".") {
			near = append(near, n)
		}
	}
	if len(near) == 0 {
		near = r.Names()
	}
	return &FieldError{Stage: name, Reason: "unknown stage (known: " + strings.Join(near, ", ") + ")"}
}

func withStage(err error, stage string) error {
	var fe *FieldError
	if errors.As(err, &fe) {
		c := *fe
		c.Stage = stage
		return &c
	}
	return fmt.Errorf("stage %s: %w", stage, err)
}
