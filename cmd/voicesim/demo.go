package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/scenarios"
	"github.com/voicesim/voicesim/stages/catalog"
)

func newDemoCmd() *cobra.Command {
	var (
		presets []string
		seed    uint64
		runs    int
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a two-turn conversation through each architecture and print its waterfalls",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.OutOrStdout(), presets, seed, runs)
		},
	}
	cmd.Flags().StringSliceVar(&presets, "preset", []string{"cascaded-voice-mode-2023", "cascaded-streaming", "native-gpt4o", "full-duplex-moshi"}, "architectures to run")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "random seed")
	cmd.Flags().IntVar(&runs, "runs", 200, "seeded runs for the percentile summary")
	return cmd
}

// demoConversation: ask, hear the answer, ask a follow-up a second after it.
func demoConversation() (*pipeline.Mic, error) {
	weather, err := scenarios.LoadClip("", "assets/weather.mp3")
	if err != nil {
		return nil, err
	}
	weekend, err := scenarios.LoadClip("", "assets/weekend.mp3")
	if err != nil {
		return nil, err
	}
	u1 := weather.Utterance("What's the weather like in Paris tomorrow?",
		"Tomorrow in Paris expect sunshine in the morning and a few clouds later, with a high of twenty-two degrees.")
	u1.Offset = 500 * time.Millisecond
	u2 := weekend.Utterance("And what about the weekend?",
		"The weekend looks warmer. Saturday stays dry, and Sunday may bring a shower in the evening.")
	u2.Trigger, u2.Offset = pipeline.AfterAssistant, time.Second
	return &pipeline.Mic{Utterances: []pipeline.Utterance{u1, u2}}, nil
}

func runDemo(w io.Writer, presets []string, seed uint64, runs int) error {
	reg := catalog.Registry()
	fmt.Fprintf(w, "voicesim demo — the same two user turns through each architecture (seed %d)\n\n", seed)
	summary := map[string]*pipeline.Aggregate{}
	for _, name := range presets {
		p, err := catalog.Load(name)
		if err != nil {
			return err
		}
		arch, err := p.Prepare(reg, nil)
		if err != nil {
			return err
		}
		agg := pipeline.NewAggregate()
		var first []pipeline.TurnMetrics
		script, err := demoConversation()
		if err != nil {
			return err
		}
		for i := range max(runs, 1) {
			mic := &pipeline.Mic{Utterances: script.Utterances} // decoded once, shared read-only
			s := arch.NewSession(pipeline.Options{Seed: seed + uint64(i), Output: mic.Output, Replies: mic.Replies})
			s.Start()
			if err := mic.Start(s); err != nil {
				return err
			}
			s.Clock().(*pipeline.VirtualClock).Run()
			turns := s.Timeline().Turns()
			if i == 0 {
				first = turns
			}
			agg.AddRun(turns, s.Counters())
		}
		summary[name] = agg
		fmt.Fprintf(w, "━━ %s — %s\n", p.Name, p.Description)
		for _, tm := range first {
			if err := pipeline.WriteWaterfall(w, tm, 48); err != nil {
				return err
			}
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "voice_to_voice over %d runs per architecture:\n", max(runs, 1))
	fmt.Fprintf(w, "  %-26s %9s %9s %9s %9s\n", "architecture", "mean", "p50", "p95", "p99")
	for _, name := range presets {
		h, ok := summary[name].Metrics[pipeline.MetricVoiceToVoice]
		if !ok {
			fmt.Fprintf(w, "  %-26s %s\n", name, "no answers heard")
			continue
		}
		s := h.Summary()
		fmt.Fprintf(w, "  %-26s %7.0fms %7.0fms %7.0fms %7.0fms\n", name, s.Mean, s.P50, s.P95, s.P99)
	}
	fmt.Fprintln(w, strings.TrimSpace(`
Figures are measured from the true end of the user's speech to the first
sound the user hears, at the client. Each architecture's preset cites the
published numbers it is calibrated against (voicesim presets).`))
	return nil
}
