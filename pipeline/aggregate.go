package pipeline

import (
	"encoding/base64"
	"fmt"
	"math"
	"sort"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram is a mergeable latency distribution: an HdrHistogram of
// nanoseconds at 3 significant digits (1 µs to 10 min), plus an exact sum so
// the mean is exact and independent of merge order.
type Histogram struct {
	h   *hdr.Histogram
	sum int64
	// negative counts values below zero (recorded as zero): e.g. a
	// full-duplex model that starts speaking before the user has finished.
	negative int64
}

const (
	histLowest  = int64(time.Microsecond)
	histHighest = int64(10 * time.Minute)
	histDigits  = 3
)

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram {
	return &Histogram{h: hdr.New(histLowest, histHighest, histDigits)}
}

// Record adds one value. Values beyond the range are clamped to it.
func (h *Histogram) Record(d time.Duration) {
	v := int64(d)
	if v < 0 {
		h.negative++
		v = 0
	}
	h.sum += v
	_ = h.h.RecordValue(min(v, histHighest))
}

// Merge adds every value of o.
func (h *Histogram) Merge(o *Histogram) {
	h.h.Merge(o.h)
	h.sum += o.sum
	h.negative += o.negative
}

// Count returns the number of values.
func (h *Histogram) Count() int64 { return h.h.TotalCount() }

// Mean returns the exact mean.
func (h *Histogram) Mean() time.Duration {
	if n := h.Count(); n > 0 {
		return time.Duration(h.sum / n)
	}
	return 0
}

// Quantile returns the value at q in [0, 100].
func (h *Histogram) Quantile(q float64) time.Duration {
	return time.Duration(h.h.ValueAtPercentile(q))
}

// Max returns the largest value (at the histogram's resolution).
func (h *Histogram) Max() time.Duration { return time.Duration(h.h.Max()) }

// Min returns the smallest value (at the histogram's resolution).
func (h *Histogram) Min() time.Duration { return time.Duration(h.h.Min()) }

// CDF returns (value, cumulative fraction) points for plotting.
func (h *Histogram) CDF() [][2]float64 {
	var out [][2]float64
	n := float64(h.Count())
	if n == 0 {
		return nil
	}
	var cum int64
	for _, b := range h.h.Distribution() {
		if b.Count == 0 {
			continue
		}
		cum += b.Count
		out = append(out, [2]float64{ms(time.Duration(b.To)), float64(cum) / n})
	}
	return out
}

// Summary is a histogram as reports show it, in milliseconds, with the
// encoded histogram so reports can be merged and compared exactly.
type Summary struct {
	Count    int64   `json:"count"`
	Mean     float64 `json:"mean_ms"`
	Min      float64 `json:"min_ms"`
	P50      float64 `json:"p50_ms"`
	P90      float64 `json:"p90_ms"`
	P95      float64 `json:"p95_ms"`
	P99      float64 `json:"p99_ms"`
	Max      float64 `json:"max_ms"`
	Negative int64   `json:"negative,omitempty"`
	SumNs    int64   `json:"sum_ns"`
	// Hist is the HdrHistogram V2 compressed encoding, base64.
	Hist string `json:"hdr"`
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

// Summary summarises the histogram.
func (h *Histogram) Summary() Summary {
	enc, err := h.h.Encode(hdr.V2CompressedEncodingCookieBase)
	s := Summary{
		Count: h.Count(), Mean: ms(h.Mean()), Min: ms(h.Min()),
		P50: ms(h.Quantile(50)), P90: ms(h.Quantile(90)), P95: ms(h.Quantile(95)),
		P99: ms(h.Quantile(99)), Max: ms(h.Max()), Negative: h.negative, SumNs: h.sum,
	}
	if err == nil {
		s.Hist = string(enc)
	}
	return s
}

// HistogramFromSummary restores a histogram from a report.
func HistogramFromSummary(s Summary) (*Histogram, error) {
	if s.Hist == "" {
		return nil, fmt.Errorf("summary has no encoded histogram")
	}
	if _, err := base64.StdEncoding.DecodeString(s.Hist); err != nil {
		return nil, fmt.Errorf("encoded histogram is not base64: %w", err)
	}
	h, err := hdr.Decode([]byte(s.Hist))
	if err != nil {
		return nil, fmt.Errorf("decode histogram: %w", err)
	}
	if h.TotalCount() != s.Count {
		return nil, fmt.Errorf("histogram holds %d values, summary says %d", h.TotalCount(), s.Count)
	}
	return &Histogram{h: h, sum: s.SumNs, negative: s.Negative}, nil
}

// Aggregate gathers the turn metrics of many runs. Aggregates merge, in any
// order, to the same result.
type Aggregate struct {
	Runs    int
	Metrics map[string]*Histogram
	Counts  map[string]int64
}

// NewAggregate returns an empty aggregate.
func NewAggregate() *Aggregate {
	return &Aggregate{Metrics: map[string]*Histogram{}, Counts: map[string]int64{}}
}

func (a *Aggregate) hist(name string) *Histogram {
	h, ok := a.Metrics[name]
	if !ok {
		h = NewHistogram()
		a.Metrics[name] = h
	}
	return h
}

// AddRun adds one session's turns and counters.
func (a *Aggregate) AddRun(turns []TurnMetrics, counters map[string]int64) {
	a.Runs++
	for _, t := range turns {
		a.Counts["turns"]++
		if t.Answered {
			a.Counts["answered"]++
		}
		for name, v := range t.Values {
			a.hist(name).Record(v)
		}
		a.Counts["premature_endpoint"] += int64(t.PrematureEndpoints)
		a.Counts["premature_audible"] += int64(t.PrematureAudible)
		a.Counts["backchannels"] += int64(t.Backchannels)
		a.Counts["false_interruption"] += int64(t.FalseInterruptions)
		if t.BargeIn {
			a.Counts["barge_ins"]++
		}
		if t.MissedInterruption {
			a.Counts["missed_interruption"]++
		}
		if t.Truncated {
			a.Counts["truncated"]++
		}
	}
	for k, v := range counters {
		a.Counts[k] += v
	}
}

// Merge adds o into a.
func (a *Aggregate) Merge(o *Aggregate) {
	a.Runs += o.Runs
	for name, h := range o.Metrics {
		a.hist(name).Merge(h)
	}
	for k, v := range o.Counts {
		a.Counts[k] += v
	}
}

// Summaries returns every metric's summary.
func (a *Aggregate) Summaries() map[string]Summary {
	out := make(map[string]Summary, len(a.Metrics))
	for name, h := range a.Metrics {
		out[name] = h.Summary()
	}
	return out
}

// MetricNames lists the aggregate's metrics: the critical path in order,
// then the rest sorted.
func (a *Aggregate) MetricNames() []string {
	var out []string
	seen := map[string]bool{}
	for _, n := range append([]string{MetricVoiceToVoice}, CriticalPath()...) {
		if _, ok := a.Metrics[n]; ok && !seen[n] {
			out = append(out, n)
			seen[n] = true
		}
	}
	var rest []string
	for n := range a.Metrics {
		if !seen[n] {
			rest = append(rest, n)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}
