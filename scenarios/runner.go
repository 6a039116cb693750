package scenarios

import (
	"fmt"
	"runtime"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/stages/catalog"
	"go.yaml.in/yaml/v3"
)

// CounterSimulatedMs counts the conversation time simulated, in ms.
const CounterSimulatedMs = "simulated_ms"

// RunOptions control a headless run.
type RunOptions struct {
	// Archs, if set, replaces every scenario's architectures (preset names).
	Archs []string
	// Runs and Seed, if set, replace the scenarios' own.
	Runs int
	Seed *uint64
	// Workers defaults to the number of CPUs. Results do not depend on it.
	Workers int
	// Progress, if set, is called after each run from one goroutine.
	Progress func(done, total int)
	// Registry defaults to the full catalogue.
	Registry *pipeline.Registry
}

// plan is one scenario × architecture, ready to run.
type plan struct {
	sc    *Scenario
	spec  ArchSpec
	arch  *catalog.Architecture
	mic   *pipeline.Mic // template: utterances decoded once, shared read-only
	runs  int
	seed  uint64
	turns [][]pipeline.TurnMetrics
	cnts  []map[string]int64
}

// Run plays every scenario through every architecture, runs times each,
// under the virtual clock, in parallel. The report is identical for the same
// inputs whatever the number of workers.
func Run(scs []*Scenario, opt RunOptions) (*Report, error) {
	if opt.Registry == nil {
		opt.Registry = catalog.Registry()
	}
	if opt.Workers <= 0 {
		opt.Workers = runtime.NumCPU()
	}
	rep := &Report{Schema: SchemaVersion, GeneratedAt: time.Now().UTC().Format(time.RFC3339), Mode: "virtual"}
	plans, err := planAll(scs, opt.Archs, opt.Runs, opt.Seed, opt.Registry, rep)
	if err != nil {
		return nil, err
	}
	runAll(plans, opt)
	for _, sc := range scs {
		sr := ScenarioReport{Name: sc.Name, File: sc.File, Description: sc.Description}
		for _, p := range plans {
			if p.sc == sc {
				sr.Architectures = append(sr.Architectures, p.report())
			}
		}
		rep.Scenarios = append(rep.Scenarios, sr)
	}
	rep.Totals = totals(plans)
	return rep, nil
}

// planAll resolves every scenario × architecture: the scenario's own
// architectures unless archs names presets instead, its runs and seed
// unless overridden, its user decoded once. It records the effective seed
// and runs on rep.
func planAll(scs []*Scenario, archs []string, runsOverride int, seedOverride *uint64, reg *pipeline.Registry, rep *Report) ([]*plan, error) {
	var plans []*plan
	for _, sc := range scs {
		specs := sc.Architectures
		if len(archs) > 0 {
			specs = nil
			for _, a := range archs {
				specs = append(specs, ArchSpec{Preset: a})
			}
		}
		mic, err := sc.Mic(map[string]Clip{})
		if err != nil {
			return nil, err
		}
		runs, seed := sc.Runs, sc.Seed
		if runsOverride > 0 {
			runs = runsOverride
		}
		if seedOverride != nil {
			seed = *seedOverride
		}
		rep.Seed, rep.Runs = seed, runs
		for _, spec := range specs {
			// Preparing validates every override before anything runs, and
			// gives the preset's figure and prices.
			arch, err := sc.prepare(spec, reg)
			if err != nil {
				return nil, err
			}
			plans = append(plans, &plan{sc: sc, spec: spec, arch: arch, mic: mic, runs: runs, seed: seed,
				turns: make([][]pipeline.TurnMetrics, runs), cnts: make([]map[string]int64, runs)})
		}
	}
	return plans, nil
}

type job struct {
	p *plan
	i int
}

func runAll(plans []*plan, opt RunOptions) {
	total := 0
	for _, p := range plans {
		total += p.runs
	}
	jobs := make(chan job, opt.Workers*4)
	done := make(chan struct{}, opt.Workers*4)
	var wg sync.WaitGroup
	for range opt.Workers {
		wg.Go(func() {
			for j := range jobs {
				s := j.p.session(j.i)
				j.p.turns[j.i] = s.Timeline().Turns()
				c := s.Counters()
				c[CounterSimulatedMs] = s.Now().Milliseconds()
				j.p.cnts[j.i] = c
				done <- struct{}{}
			}
		})
	}
	go func() {
		for _, p := range plans {
			for i := range p.runs {
				jobs <- job{p, i}
			}
		}
		close(jobs)
	}()
	for n := 1; n <= total; n++ {
		<-done
		if opt.Progress != nil {
			opt.Progress(n, total)
		}
	}
	wg.Wait()
}

// RunSeed derives run i's seed from a scenario's seed. Every architecture
// gets the same seeds, so comparisons between them are paired.
func RunSeed(seed uint64, i int) uint64 {
	z := seed + uint64(i+1)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// session simulates run i to the end and returns its session.
func (p *plan) session(i int) *pipeline.Session {
	mic := &pipeline.Mic{Utterances: p.mic.Utterances, Noise: p.mic.Noise, Tail: p.mic.Tail, MaxLength: p.mic.MaxLength}
	s := p.arch.NewSession(pipeline.Options{Seed: RunSeed(p.seed, i), Output: mic.Output, Replies: mic.Replies})
	s.Start()
	if err := mic.Start(s); err != nil {
		// The template validated; a fresh copy cannot fail.
		panic(fmt.Sprintf("scenario %s: %v", p.sc.Name, err))
	}
	s.Clock().(*pipeline.VirtualClock).Run()
	return s
}

// prepare resolves an architecture spec: the preset, the scenario's network
// profile on both legs, then the spec's own overrides.
func (sc *Scenario) prepare(spec ArchSpec, reg *pipeline.Registry) (*catalog.Architecture, error) {
	var preset *catalog.Preset
	if len(spec.Stages) > 0 {
		preset = &catalog.Preset{Name: spec.Label, Kind: spec.Kind, Stages: spec.Stages, File: sc.File,
			Description: "defined inline in " + sc.File}
	} else {
		var err error
		if preset, err = catalog.Load(spec.Preset); err != nil {
			return nil, sc.fail("architectures", 0, spec.Preset, err.Error())
		}
	}
	over := map[string]*yaml.Node{}
	if sc.Network != "" {
		for _, leg := range []string{"network.uplink", "network.downlink"} {
			n := &yaml.Node{}
			if err := yaml.Unmarshal([]byte("profile: "+sc.Network), n); err != nil {
				return nil, err
			}
			over[leg] = n
		}
	}
	layers := map[string][]*yaml.Node{}
	for k, v := range over {
		layers[k] = append(layers[k], v)
	}
	for k, v := range spec.Overrides {
		v := v
		layers[k] = append(layers[k], &v)
	}
	arch, err := preset.PrepareLayers(reg, layers)
	if err != nil {
		return nil, pipeline.InFile(err, sc.File)
	}
	arch.Name = spec.Name()
	return arch, nil
}

// report is the architecture's summary plus its representative runs,
// re-simulated to keep their whole timelines.
func (p *plan) report() ArchReport {
	ar := p.summary()
	for _, pk := range p.representativeRuns() {
		s := p.session(pk.run)
		ar.Representative = append(ar.Representative, RunTimeline{Label: pk.label, Run: pk.run,
			Seed: RunSeed(p.seed, pk.run), Turns: s.Timeline().Turns(), Marks: s.Timeline().Sorted()})
	}
	return ar
}

// summary aggregates the architecture's runs: distributions, counts, the
// mean breakdown, its figure and its cost.
func (p *plan) summary() ArchReport {
	agg := pipeline.NewAggregate()
	seg := map[string]time.Duration{}
	segN := map[string]int{}
	for i := range p.runs {
		agg.AddRun(p.turns[i], p.cnts[i])
		for _, t := range p.turns[i] {
			if !t.Answered {
				continue
			}
			for _, s := range t.Breakdown {
				seg[s.Name] += s.Duration()
				segN[s.Name]++
			}
		}
	}
	ar := ArchReport{Name: p.spec.Name(), Preset: p.spec.Preset, Kind: p.arch.Preset.Kind, Runs: p.runs,
		Metrics: agg.Summaries(), Counts: agg.Counts}
	if f := p.arch.Preset.Figure; f != nil {
		ar.Figure = &FigureReport{Metric: f.Metric, Mean: msOf(f.Mean.D()), Min: msOf(f.Min.D()), Source: f.Source}
	}
	for _, name := range pipeline.CriticalPath() {
		if n := segN[name]; n > 0 {
			ar.Breakdown = append(ar.Breakdown, SegmentMean{Name: name, Mean: msOf(seg[name] / time.Duration(n))})
		}
	}
	ar.Cost = cost(p.arch.Preset.Prices, agg, p.runs)
	return ar
}

// pick is a run chosen to represent an architecture.
type pick struct {
	label string
	run   int
}

// representativeRuns picks the median and the p95 runs by their mean
// voice_to_voice. Runs are deterministic, so a caller can re-simulate a
// pick rather than hold every run's timeline.
func (p *plan) representativeRuns() []pick {
	type rv struct {
		i int
		v time.Duration
	}
	var vals []rv
	for i, turns := range p.turns {
		var sum time.Duration
		n := 0
		for _, t := range turns {
			if v, ok := t.Values[pipeline.MetricVoiceToVoice]; ok {
				sum += v
				n++
			}
		}
		if n > 0 {
			vals = append(vals, rv{i, sum / time.Duration(n)})
		}
	}
	if len(vals) == 0 {
		return nil
	}
	sort.SliceStable(vals, func(a, b int) bool { return vals[a].v < vals[b].v })
	var out []pick
	seen := map[int]bool{}
	for _, q := range []struct {
		label string
		q     float64
	}{{"median", 0.5}, {"p95", 0.95}} {
		i := vals[min(len(vals)-1, int(q.q*float64(len(vals))))].i
		if !seen[i] {
			seen[i] = true
			out = append(out, pick{q.label, i})
		}
	}
	return out
}

// totals merges every scenario per architecture name, in plan order.
func totals(plans []*plan) []ArchReport {
	var names []string
	byName := map[string]*pipeline.Aggregate{}
	runs := map[string]int{}
	for _, p := range plans {
		n := p.spec.Name()
		if _, ok := byName[n]; !ok {
			byName[n] = pipeline.NewAggregate()
			names = append(names, n)
		}
		for i := range p.runs {
			byName[n].AddRun(p.turns[i], p.cnts[i])
		}
		runs[n] += p.runs
	}
	var out []ArchReport
	for _, n := range names {
		agg := byName[n]
		out = append(out, ArchReport{Name: n, Runs: runs[n], Metrics: agg.Summaries(), Counts: agg.Counts})
	}
	return out
}

// MetricOrder lists a report's metric names: voice_to_voice, the critical
// path in order, then the rest sorted.
func MetricOrder(m map[string]pipeline.Summary) []string {
	var out []string
	for _, n := range append([]string{pipeline.MetricVoiceToVoice}, pipeline.CriticalPath()...) {
		if _, ok := m[n]; ok && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	var rest []string
	for n := range m {
		if !slices.Contains(out, n) {
			rest = append(rest, n)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}
