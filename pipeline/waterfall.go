package pipeline

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// WriteWaterfall draws a turn's critical path as a text waterfall: one row
// per segment, a bar placed on a shared time axis from the true end of the
// user's speech to the first sound the user hears.
func WriteWaterfall(w io.Writer, tm TurnMetrics, width int) error {
	if width < 20 {
		width = 20
	}
	v2v, ok := tm.Values[MetricVoiceToVoice]
	if !ok || len(tm.Breakdown) == 0 {
		_, err := fmt.Fprintf(w, "turn %d: no answer was heard\n", tm.Turn)
		return err
	}
	start := tm.Breakdown[0].Start
	span := tm.Breakdown[len(tm.Breakdown)-1].End - start
	for _, s := range tm.Breakdown {
		if s.Start-start < 0 {
			span = max(span, tm.Breakdown[len(tm.Breakdown)-1].End-s.Start)
		}
	}
	if span <= 0 {
		span = time.Millisecond
	}
	col := func(t time.Duration) int {
		c := int(float64(t-start) / float64(span) * float64(width))
		return max(0, min(width, c))
	}
	if _, err := fmt.Fprintf(w, "turn %d  voice_to_voice %s\n", tm.Turn, fmtMs(v2v)); err != nil {
		return err
	}
	for _, s := range tm.Breakdown {
		if s.Duration() == 0 {
			continue // e.g. no queue before the LLM: nothing to show
		}
		a, b := col(s.Start), col(s.End)
		bar := strings.Repeat(" ", a)
		switch {
		case b > a:
			bar += strings.Repeat("█", b-a)
		case s.Duration() > 0:
			bar += "▏"
		}
		if _, err := fmt.Fprintf(w, "  %-21s %9s  │%s\n", s.Name, fmtMs(s.Duration()), bar); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "  %-21s %9s  └%s┘\n", "sum", fmtMs(tm.BreakdownSum()), strings.Repeat("─", width))
	return err
}

func fmtMs(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}
