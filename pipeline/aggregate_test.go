package pipeline_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/voicesim/voicesim/pipeline"
)

func TestAggregateMergeIsOrderIndependent(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	l := pipeline.LogNormal(700*time.Millisecond, 1500*time.Millisecond)
	parts := make([]*pipeline.Aggregate, 8)
	whole := pipeline.NewAggregate()
	for i := range parts {
		parts[i] = pipeline.NewAggregate()
		for range 500 {
			tm := []pipeline.TurnMetrics{{Answered: true, Values: map[string]time.Duration{pipeline.MetricVoiceToVoice: l.Sample(r)}}}
			parts[i].AddRun(tm, map[string]int64{"lost": 1})
			whole.AddRun(tm, map[string]int64{"lost": 1})
		}
	}
	fwd, rev := pipeline.NewAggregate(), pipeline.NewAggregate()
	for i := range parts {
		fwd.Merge(parts[i])
		rev.Merge(parts[len(parts)-1-i])
	}
	a, b, w := fwd.Summaries()[pipeline.MetricVoiceToVoice], rev.Summaries()[pipeline.MetricVoiceToVoice], whole.Summaries()[pipeline.MetricVoiceToVoice]
	if a != b || a != w {
		t.Errorf("merged summaries differ:\nfwd   %+v\nrev   %+v\nwhole %+v", a, b, w)
	}
	if fwd.Counts["lost"] != 4000 || fwd.Runs != 4000 {
		t.Errorf("counts lost=%d runs=%d; want 4000, 4000", fwd.Counts["lost"], fwd.Runs)
	}
	if a.P50 < 650 || a.P50 > 750 || a.P95 < 1400 || a.P95 > 1600 {
		t.Errorf("p50 %.1f ms p95 %.1f ms; want ≈700, ≈1500", a.P50, a.P95)
	}
}

func TestSummaryRoundTrip(t *testing.T) {
	h := pipeline.NewHistogram()
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * time.Millisecond)
	}
	h.Record(-5 * time.Millisecond)
	s := h.Summary()
	back, err := pipeline.HistogramFromSummary(s)
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Summary(); got != s {
		t.Errorf("round trip changed the summary:\n got %+v\nwant %+v", got, s)
	}
	if s.Negative != 1 || s.Count != 1001 {
		t.Errorf("negative=%d count=%d; want 1, 1001", s.Negative, s.Count)
	}
	if s.P99 < 985 || s.P99 > 995 || s.Max < 999 || s.Max > 1001 {
		t.Errorf("p99 %.1f max %.1f; want ≈990, ≈1000", s.P99, s.Max)
	}
	bad := s
	bad.Hist = "not-a-histogram"
	if _, err := pipeline.HistogramFromSummary(bad); err == nil {
		t.Error("corrupt histogram decoded without error")
	}
}
