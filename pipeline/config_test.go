package pipeline_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
	"go.yaml.in/yaml/v3"
)

type demoConfig struct {
	TTFT    pipeline.Latency  `yaml:"ttft"`
	Silence pipeline.Duration `yaml:"silence"`
	Rate    float64           `yaml:"tokens_per_second"`
	Nested  struct {
		Depth int `yaml:"depth"`
	} `yaml:"nested"`
}

func (c *demoConfig) Validate() error {
	if c.Rate <= 0 {
		return &pipeline.FieldError{Field: "tokens_per_second", Value: strconv.FormatFloat(c.Rate, 'g', -1, 64), Reason: "must be positive"}
	}
	return nil
}

func demoRegistry() *pipeline.Registry {
	r := pipeline.NewRegistry()
	pipeline.Register(r, "llm.demo", "a demo LLM", func() *demoConfig {
		return &demoConfig{TTFT: pipeline.Const(300 * time.Millisecond), Rate: 100}
	}, func(c *demoConfig) pipeline.Stage { return pipeline.PassThrough{} })
	return r
}

func node(t *testing.T, src string) *yaml.Node {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		t.Fatalf("yaml: %v", err)
	}
	return &n
}

func TestBadConfigErrorsNameStageFieldValue(t *testing.T) {
	r := demoRegistry()
	cases := []struct {
		name, stage, src string
		want             []string
	}{
		{"unknown stage", "stt.whisperr", "", []string{"stage stt.whisperr", "unknown stage"}},
		{"unknown field", "llm.demo", "ttft: 300ms\ntemperature: 0.7\n", []string{"llm.demo", "field temperature", "line 2", "unknown field", "tokens_per_second"}},
		{"nested unknown field", "llm.demo", "nested:\n  depht: 3\n", []string{"field nested.depht", "line 2"}},
		{"negative duration", "llm.demo", "ttft: -5ms\n", []string{"llm.demo", "field ttft", `"-5ms"`, "negative"}},
		{"malformed duration", "llm.demo", "silence: 5 parsecs\n", []string{"field silence", `"5 parsecs"`, "malformed duration"}},
		{"unitless duration", "llm.demo", "silence: 500\n", []string{"field silence", `"500"`, "no unit"}},
		{"p95 below p50", "llm.demo", "ttft: {p50: 900ms, p95: 300ms}\n", []string{"llm.demo", "field ttft.p95", `"300ms"`, "at least p50"}},
		{"p95 below p50 block", "llm.demo", "ttft:\n  p50: 900ms\n  p95: 300ms\n", []string{"field ttft.p95", "line 3"}},
		{"unknown distribution key", "llm.demo", "ttft: {p50: 1s, p59: 2s}\n", []string{"field ttft"}},
		{"unknown distribution field", "llm.demo", "ttft: {p50: 1s, p95: 2s, p99: 3s}\n", []string{"field ttft.p99", "unknown field"}},
		{"validation", "llm.demo", "tokens_per_second: -3\n", []string{"llm.demo", "field tokens_per_second", `"-3"`, "must be positive"}},
		{"wrong type", "llm.demo", "tokens_per_second: fast\n", []string{"llm.demo", "fast"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var layers []*yaml.Node
			if tc.src != "" {
				layers = append(layers, node(t, tc.src))
			}
			_, err := r.Prepare(tc.stage, layers...)
			if err == nil {
				t.Fatal("got nil error; want one")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q; want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestPrepareLayersOverrideDefaults(t *testing.T) {
	r := demoRegistry()
	p, err := r.Prepare("llm.demo", node(t, "ttft: {p50: 400ms, p95: 1s}\ntokens_per_second: 50\n"), node(t, "tokens_per_second: 120\n"))
	if err != nil {
		t.Fatal(err)
	}
	c := p.Config.(*demoConfig)
	if c.Rate != 120 {
		t.Errorf("rate = %v; want the later layer's 120", c.Rate)
	}
	if got := c.TTFT.String(); got != "{p50: 400ms, p95: 1s}" {
		t.Errorf("ttft = %q; want the first layer's distribution", got)
	}
	if _, ok := p.New().(pipeline.PassThrough); !ok {
		t.Error("New did not build the registered stage")
	}
}

func TestRegisterDuplicatePanics(t *testing.T) {
	r := demoRegistry()
	defer func() {
		if recover() == nil {
			t.Error("registering a name twice did not panic")
		}
	}()
	pipeline.Register(r, "llm.demo", "", func() *demoConfig { return &demoConfig{} }, func(*demoConfig) pipeline.Stage { return nil })
}

func TestLatencyModels(t *testing.T) {
	cases := []struct {
		src       string
		wantMean  time.Duration
		wantP50   time.Duration
		wantP95   time.Duration
		tolerance float64
	}{
		{"350ms", 350 * time.Millisecond, 350 * time.Millisecond, 350 * time.Millisecond, 0},
		{"{min: 100ms, max: 300ms}", 200 * time.Millisecond, 200 * time.Millisecond, 290 * time.Millisecond, 0.02},
		{"{mean: 300ms, stddev: 50ms}", 300 * time.Millisecond, 300 * time.Millisecond, 382 * time.Millisecond, 0.02},
		{"{p50: 350ms, p95: 900ms}", 0, 350 * time.Millisecond, 900 * time.Millisecond, 0.03},
		{"{samples: [100ms, 200ms, 300ms, 400ms]}", 250 * time.Millisecond, 0, 0, 0.02},
	}
	for _, tc := range cases {
		t.Run(tc.src, func(t *testing.T) {
			var l pipeline.Latency
			if err := yaml.Unmarshal([]byte(tc.src), &l); err != nil {
				t.Fatal(err)
			}
			r := rand.New(rand.NewPCG(1, 2))
			const n = 40000
			xs := make([]float64, n)
			var sum float64
			for i := range xs {
				d := l.Sample(r)
				if d < 0 {
					t.Fatalf("sampled negative %v", d)
				}
				xs[i] = float64(d)
				sum += xs[i]
			}
			slices.Sort(xs)
			check := func(what string, got float64, want time.Duration) {
				if want == 0 {
					return
				}
				if math.Abs(got-float64(want)) > tc.tolerance*float64(want)+1 {
					t.Errorf("%s = %v; want %v ±%.0f%%", what, time.Duration(got), want, tc.tolerance*100)
				}
			}
			check("mean", sum/n, tc.wantMean)
			check("p50", xs[n/2], tc.wantP50)
			check("p95", xs[n*95/100], tc.wantP95)
		})
	}
}

func TestLatencyTruncatedAtZero(t *testing.T) {
	l := pipeline.Normal(10*time.Millisecond, 100*time.Millisecond)
	r := rand.New(rand.NewPCG(3, 4))
	zeros := 0
	for range 10000 {
		d := l.Sample(r)
		if d < 0 {
			t.Fatalf("sampled %v < 0", d)
		}
		if d == 0 {
			zeros++
		}
	}
	if zeros < 3000 {
		t.Errorf("only %d of 10000 samples truncated to zero; want ~46%%", zeros)
	}
}
