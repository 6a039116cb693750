package scenarios

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/voicesim/voicesim/pipeline"
)

// SchemaVersion identifies the report.json format. Readers reject other
// major versions rather than misreading them.
const SchemaVersion = "voicesim.report/v1"

// Report is the result of a run: every scenario × architecture, with
// mergeable histograms, counts, costs and a few representative timelines.
type Report struct {
	Schema      string `json:"schema"`
	GeneratedAt string `json:"generated_at"` // the one field that differs between identical runs
	Command     string `json:"command,omitempty"`
	Seed        uint64 `json:"seed"`
	Runs        int    `json:"runs"`
	// Mode is "virtual" for headless runs, "server" for runs over a socket.
	Mode      string           `json:"mode"`
	Scenarios []ScenarioReport `json:"scenarios"`
	// Totals merges every scenario per architecture.
	Totals []ArchReport `json:"totals"`
}

// ScenarioReport is one scenario's results.
type ScenarioReport struct {
	Name          string       `json:"name"`
	File          string       `json:"file,omitempty"`
	Description   string       `json:"description,omitempty"`
	Architectures []ArchReport `json:"architectures"`
}

// ArchReport is one architecture's results over many runs.
type ArchReport struct {
	Name   string `json:"name"`
	Preset string `json:"preset"`
	Kind   string `json:"kind,omitempty"`
	// Figure is the published number the preset is calibrated against.
	Figure *FigureReport `json:"figure,omitempty"`
	Runs   int           `json:"runs"`
	// Metrics are latency distributions by glossary name.
	Metrics map[string]pipeline.Summary `json:"metrics"`
	// Breakdown is the mean of each critical-path segment over answered
	// turns, in critical-path order: the stacked bar.
	Breakdown []SegmentMean `json:"breakdown"`
	// Counts: turns, answered, barge-ins, interruptions, lost frames…
	Counts map[string]int64 `json:"counts"`
	Cost   *Cost            `json:"cost,omitempty"`
	// Representative runs: the median and the p95 run by voice_to_voice.
	Representative []RunTimeline `json:"representative,omitempty"`
}

// FigureReport restates a preset's published figure.
type FigureReport struct {
	Metric string  `json:"metric"`
	Mean   float64 `json:"mean_ms"`
	Min    float64 `json:"min_ms,omitempty"`
	Source string  `json:"source"`
}

// SegmentMean is a critical-path segment's mean over answered turns.
type SegmentMean struct {
	Name string  `json:"name"`
	Mean float64 `json:"mean_ms"`
}

// RunTimeline is one run kept whole: its turns and every mark.
type RunTimeline struct {
	Label string                 `json:"label"` // "median", "p95"
	Run   int                    `json:"run"`
	Seed  uint64                 `json:"seed"`
	Turns []pipeline.TurnMetrics `json:"turns"`
	Marks []pipeline.Mark        `json:"marks"`
}

// Cost is what the architecture's turns cost at its preset's prices.
type Cost struct {
	// Known is false when the preset carries no prices: cost is unknown,
	// not zero.
	Known              bool    `json:"known"`
	PerConversation    float64 `json:"per_conversation_usd"`
	Per1KConversations float64 `json:"per_1k_conversations_usd"`
	TextTokensIn       float64 `json:"text_tokens_in_per_conversation"`
	TextTokensOut      float64 `json:"text_tokens_out_per_conversation"`
	AudioSecondsIn     float64 `json:"audio_seconds_in_per_conversation"`
	AudioSecondsOut    float64 `json:"audio_seconds_out_per_conversation"`
	AudioTokensIn      float64 `json:"audio_tokens_in_per_conversation"`
	AudioTokensOut     float64 `json:"audio_tokens_out_per_conversation"`
	TTSCharacters      float64 `json:"tts_characters_per_conversation"`
	Source             string  `json:"source,omitempty"`
}

// Arch returns the architecture called name in a scenario report.
func (s *ScenarioReport) Arch(name string) *ArchReport {
	for i := range s.Architectures {
		if s.Architectures[i].Name == name {
			return &s.Architectures[i]
		}
	}
	return nil
}

// ReadReport loads a report.json, rejecting other schemas and corrupt files
// with an error naming the file.
func ReadReport(file string) (*Report, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("report %s: %w", file, err)
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("report %s: not a voicesim report (corrupt JSON): %w", file, err)
	}
	if r.Schema != SchemaVersion {
		if r.Schema == "" {
			return nil, fmt.Errorf("report %s: not a voicesim report (no schema field)", file)
		}
		return nil, fmt.Errorf("report %s: schema %q is not supported (want %q)", file, r.Schema, SchemaVersion)
	}
	for _, s := range r.Scenarios {
		for _, a := range s.Architectures {
			for name, m := range a.Metrics {
				if _, err := pipeline.HistogramFromSummary(m); err != nil {
					return nil, fmt.Errorf("report %s: scenario %s, %s, metric %s: %w", file, s.Name, a.Name, name, err)
				}
			}
		}
	}
	return &r, nil
}

func msOf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
