package pipeline

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Latency is a model of a delay, sampled from the session's random source and
// truncated at zero. YAML spells it compactly:
//
//	350ms                         constant
//	{min: 100ms, max: 300ms}      uniform
//	{mean: 300ms, stddev: 50ms}   normal
//	{p50: 350ms, p95: 900ms}      lognormal through those percentiles
//	{samples: [310ms, 290ms, …]}  empirical: one of the samples, uniformly
//
// Any form may add `floor` (a minimum, e.g. a physical lower bound) and
// `ceiling` (a cap).
type Latency struct {
	kind    latencyKind
	a, b    float64 // seconds: const value | min,max | mean,sd | mu,sigma of ln
	samples []time.Duration
	floor   time.Duration
	ceiling time.Duration
	src     string
}

type latencyKind uint8

const (
	latConst latencyKind = iota
	latUniform
	latNormal
	latLogNormal
	latEmpirical
)

// z95 is the standard normal quantile at 0.95.
const z95 = 1.6448536269514722

// Const returns a constant latency.
func Const(d time.Duration) Latency {
	return Latency{kind: latConst, a: d.Seconds(), src: d.String()}
}

// Uniform returns a latency uniform on [lo, hi].
func Uniform(lo, hi time.Duration) Latency {
	return Latency{kind: latUniform, a: lo.Seconds(), b: hi.Seconds(), src: fmt.Sprintf("{min: %v, max: %v}", lo, hi)}
}

// Normal returns a normal latency (truncated at zero).
func Normal(mean, sd time.Duration) Latency {
	return Latency{kind: latNormal, a: mean.Seconds(), b: sd.Seconds(), src: fmt.Sprintf("{mean: %v, stddev: %v}", mean, sd)}
}

// LogNormal returns the lognormal latency whose median is p50 and whose 95th
// percentile is p95. Service latencies are right-skewed; two percentiles are
// what vendors publish.
func LogNormal(p50, p95 time.Duration) Latency {
	mu := math.Log(p50.Seconds())
	sigma := 0.0
	if p95 > p50 {
		sigma = (math.Log(p95.Seconds()) - mu) / z95
	}
	return Latency{kind: latLogNormal, a: mu, b: sigma, src: fmt.Sprintf("{p50: %v, p95: %v}", p50, p95)}
}

// Empirical returns a latency drawn uniformly from samples.
func Empirical(samples ...time.Duration) Latency {
	s := slices.Clone(samples)
	return Latency{kind: latEmpirical, samples: s, src: fmt.Sprintf("{samples: %d values}", len(s))}
}

// WithFloor returns l with a lower bound.
func (l Latency) WithFloor(d time.Duration) Latency {
	l.floor = d
	if s := strings.TrimSuffix(l.String(), "}"); strings.HasPrefix(s, "{") {
		l.src = fmt.Sprintf("%s, floor: %v}", s, d)
	} else {
		l.src = fmt.Sprintf("{const: %s, floor: %v}", s, d)
	}
	return l
}

// Sample draws one delay.
func (l Latency) Sample(r *rand.Rand) time.Duration {
	var s float64
	switch l.kind {
	case latConst:
		return l.clamp(secs(l.a))
	case latUniform:
		s = l.a + (l.b-l.a)*r.Float64()
	case latNormal:
		s = l.a + l.b*r.NormFloat64()
	case latLogNormal:
		s = math.Exp(l.a + l.b*r.NormFloat64())
	case latEmpirical:
		if len(l.samples) == 0 {
			return l.clamp(0)
		}
		return l.clamp(l.samples[r.IntN(len(l.samples))])
	}
	return l.clamp(secs(s))
}

func (l Latency) clamp(d time.Duration) time.Duration {
	d = max(d, l.floor, 0)
	if l.ceiling > 0 && d > l.ceiling {
		d = l.ceiling
	}
	return d
}

func secs(s float64) time.Duration { return time.Duration(math.Round(s * 1e9)) }

// Mean returns the model's mean before truncation and clamping.
func (l Latency) Mean() time.Duration {
	switch l.kind {
	case latConst, latNormal:
		return secs(l.a)
	case latUniform:
		return secs((l.a + l.b) / 2)
	case latLogNormal:
		return secs(math.Exp(l.a + l.b*l.b/2))
	case latEmpirical:
		var sum time.Duration
		for _, s := range l.samples {
			sum += s
		}
		if len(l.samples) == 0 {
			return 0
		}
		return sum / time.Duration(len(l.samples))
	}
	return 0
}

// IsConst reports whether the model always returns the same value.
func (l Latency) IsConst() bool { return l.kind == latConst }

// String returns the YAML form the model was written in.
func (l Latency) String() string {
	if l.src == "" {
		return "0s"
	}
	return l.src
}

// MarshalYAML writes the model back in its compact form.
func (l Latency) MarshalYAML() (any, error) {
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(l.String()), &n); err != nil {
		return l.String(), nil
	}
	return n.Content[0], nil
}

// MarshalText writes the model's compact form (used by JSON reports).
func (l Latency) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalYAML parses any of the compact forms.
func (l *Latency) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		d, err := ParseDuration(n.Value)
		if err != nil {
			return &FieldError{Line: n.Line, Value: n.Value, Reason: err.Error()}
		}
		if d < 0 {
			return &FieldError{Line: n.Line, Value: n.Value, Reason: "a latency cannot be negative"}
		}
		*l = Const(d.D())
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return &FieldError{Line: n.Line, Value: nodeText(n), Reason: "want a duration (350ms) or a distribution ({p50: 350ms, p95: 900ms})"}
	}
	fields := map[string]*yaml.Node{}
	var keys []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		fields[k] = n.Content[i+1]
		keys = append(keys, k)
	}
	dur := func(k string) (time.Duration, error) {
		v := fields[k]
		d, err := ParseDuration(v.Value)
		if v.Kind != yaml.ScalarNode || err != nil {
			reason := "want a duration like 350ms"
			if err != nil {
				reason = err.Error()
			}
			return 0, &FieldError{Field: k, Line: v.Line, Value: nodeText(v), Reason: reason}
		}
		if d < 0 {
			return 0, &FieldError{Field: k, Line: v.Line, Value: v.Value, Reason: "must not be negative"}
		}
		return d.D(), nil
	}
	has := func(ks ...string) bool {
		for _, k := range ks {
			if _, ok := fields[k]; !ok {
				return false
			}
		}
		return true
	}
	var out Latency
	var err error
	switch {
	case has("samples"):
		v := fields["samples"]
		if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
			return &FieldError{Field: "samples", Line: v.Line, Value: nodeText(v), Reason: "want a non-empty list of durations"}
		}
		var ss []time.Duration
		for _, c := range v.Content {
			d, perr := ParseDuration(c.Value)
			if c.Kind != yaml.ScalarNode || perr != nil || d < 0 {
				return &FieldError{Field: "samples", Line: c.Line, Value: nodeText(c), Reason: "want a non-negative duration"}
			}
			ss = append(ss, d.D())
		}
		out = Empirical(ss...)
		delete(fields, "samples")
	case has("p50", "p95"):
		var p50, p95 time.Duration
		if p50, err = dur("p50"); err != nil {
			return err
		}
		if p95, err = dur("p95"); err != nil {
			return err
		}
		if p50 <= 0 {
			return &FieldError{Field: "p50", Line: fields["p50"].Line, Value: fields["p50"].Value, Reason: "must be positive"}
		}
		if p95 < p50 {
			return &FieldError{Field: "p95", Line: fields["p95"].Line, Value: fields["p95"].Value,
				Reason: fmt.Sprintf("p95 must be at least p50 (%v)", p50)}
		}
		out = LogNormal(p50, p95)
		delete(fields, "p50")
		delete(fields, "p95")
	case has("mean", "stddev"):
		var m, sd time.Duration
		if m, err = dur("mean"); err != nil {
			return err
		}
		if sd, err = dur("stddev"); err != nil {
			return err
		}
		out = Normal(m, sd)
		delete(fields, "mean")
		delete(fields, "stddev")
	case has("min", "max"):
		var lo, hi time.Duration
		if lo, err = dur("min"); err != nil {
			return err
		}
		if hi, err = dur("max"); err != nil {
			return err
		}
		if hi < lo {
			return &FieldError{Field: "max", Line: fields["max"].Line, Value: fields["max"].Value,
				Reason: fmt.Sprintf("max must be at least min (%v)", lo)}
		}
		out = Uniform(lo, hi)
		delete(fields, "min")
		delete(fields, "max")
	case has("const"):
		d, err := dur("const")
		if err != nil {
			return err
		}
		out = Const(d)
		delete(fields, "const")
	default:
		return &FieldError{Line: n.Line, Value: nodeText(n),
			Reason: "a distribution needs one of: {p50, p95}, {mean, stddev}, {min, max}, {samples}, {const}"}
	}
	for _, k := range keys {
		if _, ok := fields[k]; !ok {
			continue
		}
		switch k {
		case "floor":
			if out.floor, err = dur(k); err != nil {
				return err
			}
		case "ceiling":
			if out.ceiling, err = dur(k); err != nil {
				return err
			}
		default:
			return &FieldError{Field: k, Line: fields[k].Line, Value: nodeText(fields[k]),
				Reason: "unknown field for this distribution (known: " + strings.Join(knownLatencyKeys, ", ") + ")"}
		}
	}
	if out.ceiling > 0 && out.ceiling < out.floor {
		return &FieldError{Field: "ceiling", Line: fields["ceiling"].Line, Value: fields["ceiling"].Value, Reason: "ceiling is below floor"}
	}
	out.src = strings.TrimSpace(nodeTextFlow(n))
	*l = out
	return nil
}

var knownLatencyKeys = []string{"p50", "p95", "mean", "stddev", "min", "max", "samples", "const", "floor", "ceiling"}

func nodeTextFlow(n *yaml.Node) string {
	c := *n
	c.Style = yaml.FlowStyle
	b, err := yaml.Marshal(&c)
	if err != nil {
		return "?"
	}
	return string(b)
}
