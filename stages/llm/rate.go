package llm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/voicesim/voicesim/pipeline"
	"go.yaml.in/yaml/v3"
)

// Rate is a decode speed in tokens per second, drawn once per response
// from the session's random source. YAML spells it
//
//	120                       constant
//	{min: 50, max: 100}       uniform
//	{mean: 120, stddev: 10}   normal, truncated below at a tenth of the mean
//
// Every form must be positive.
type Rate struct {
	kind rateKind
	a, b float64
	src  string
}

type rateKind uint8

const (
	rateConst rateKind = iota
	rateUniform
	rateNormal
)

// ConstRate returns a constant rate.
func ConstRate(v float64) Rate { return Rate{kind: rateConst, a: v, src: fmtF(v)} }

// UniformRate returns a rate uniform on [lo, hi].
func UniformRate(lo, hi float64) Rate {
	return Rate{kind: rateUniform, a: lo, b: hi, src: fmt.Sprintf("{min: %s, max: %s}", fmtF(lo), fmtF(hi))}
}

// NormalRate returns a normal rate, truncated below at mean/10.
func NormalRate(mean, sd float64) Rate {
	return Rate{kind: rateNormal, a: mean, b: sd, src: fmt.Sprintf("{mean: %s, stddev: %s}", fmtF(mean), fmtF(sd))}
}

// Sample draws one rate in tokens per second.
func (r Rate) Sample(rng *rand.Rand) float64 {
	switch r.kind {
	case rateUniform:
		return r.a + (r.b-r.a)*rng.Float64()
	case rateNormal:
		return max(r.a+r.b*rng.NormFloat64(), r.a/10)
	}
	return r.a
}

// Mean returns the rate's mean before truncation.
func (r Rate) Mean() float64 {
	if r.kind == rateUniform {
		return (r.a + r.b) / 2
	}
	return r.a
}

func (r Rate) String() string {
	if r.src == "" {
		return fmtF(r.a)
	}
	return r.src
}

// MarshalText writes the compact form (JSON reports).
func (r Rate) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// MarshalYAML writes the compact form.
func (r Rate) MarshalYAML() (any, error) {
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(r.String()), &n); err != nil || len(n.Content) == 0 {
		return r.String(), nil
	}
	return n.Content[0], nil
}

// check reports an invalid rate built in Go (YAML is checked on decoding).
func (r Rate) check() error {
	bad := func(v float64) bool { return !(v > 0) || math.IsInf(v, 0) }
	switch {
	case bad(r.a):
		return &pipeline.FieldError{Value: r.String(), Reason: "tokens per second must be positive"}
	case r.kind == rateUniform && r.b < r.a:
		return &pipeline.FieldError{Value: r.String(), Reason: "max must be at least min"}
	case r.kind == rateNormal && (r.b < 0 || math.IsNaN(r.b)):
		return &pipeline.FieldError{Value: r.String(), Reason: "stddev must not be negative"}
	}
	return nil
}

// UnmarshalYAML parses any of the forms; errors name the key and value.
func (r *Rate) UnmarshalYAML(n *yaml.Node) error {
	num := func(field string, v *yaml.Node, positive bool) (float64, error) {
		x, err := strconv.ParseFloat(v.Value, 64)
		if v.Kind != yaml.ScalarNode || err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return 0, &pipeline.FieldError{Field: field, Line: v.Line, Value: v.Value, Reason: "want a number of tokens per second, like 120"}
		}
		if positive && x <= 0 {
			return 0, &pipeline.FieldError{Field: field, Line: v.Line, Value: v.Value, Reason: "tokens per second must be positive"}
		}
		if x < 0 {
			return 0, &pipeline.FieldError{Field: field, Line: v.Line, Value: v.Value, Reason: "must not be negative"}
		}
		return x, nil
	}
	if n.Kind == yaml.ScalarNode {
		v, err := num("", n, true)
		if err != nil {
			return err
		}
		*r = ConstRate(v)
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return &pipeline.FieldError{Line: n.Line, Reason: "want tokens per second (120) or a distribution ({min: 50, max: 100}, {mean: 120, stddev: 10})"}
	}
	fields := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		switch k.Value {
		case "min", "max", "mean", "stddev":
			fields[k.Value] = n.Content[i+1]
		default:
			return &pipeline.FieldError{Field: k.Value, Line: k.Line, Reason: "unknown field for a rate (known: min, max, mean, stddev)"}
		}
	}
	get := func(k string, positive bool) (float64, error) { return num(k, fields[k], positive) }
	_, hasMin := fields["min"]
	_, hasMax := fields["max"]
	_, hasMean := fields["mean"]
	_, hasSD := fields["stddev"]
	switch {
	case hasMin && hasMax && !hasMean && !hasSD:
		lo, err := get("min", true)
		if err != nil {
			return err
		}
		hi, err := get("max", true)
		if err != nil {
			return err
		}
		if hi < lo {
			return &pipeline.FieldError{Field: "max", Line: fields["max"].Line, Value: fields["max"].Value, Reason: "max must be at least min (" + fmtF(lo) + ")"}
		}
		*r = UniformRate(lo, hi)
	case hasMean && hasSD && !hasMin && !hasMax:
		m, err := get("mean", true)
		if err != nil {
			return err
		}
		sd, err := get("stddev", false)
		if err != nil {
			return err
		}
		*r = NormalRate(m, sd)
	default:
		return &pipeline.FieldError{Line: n.Line, Reason: "a rate distribution needs {min, max} or {mean, stddev}"}
	}
	return nil
}

func fmtF(v float64) string { return strings.TrimSpace(strconv.FormatFloat(v, 'g', -1, 64)) }
