package scenarios

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/voicesim/voicesim/pipeline"
)

func library(t testing.TB) []*Scenario {
	t.Helper()
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) < 8 {
		t.Fatalf("shipped library: %v, %d files; want ≥ 8", err, len(files))
	}
	var out []*Scenario
	for _, f := range files {
		sc, err := Load(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, sc)
	}
	return out
}

func reportJSON(t testing.TB, r *Report) []byte {
	t.Helper()
	c := *r
	c.GeneratedAt = "" // the one field allowed to differ
	b, err := json.Marshal(&c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestShippedScenariosProduceAgreeingReports runs every shipped scenario and
// checks its three reports exist and agree: each architecture's p50/p95 of
// voice_to_voice appears, formatted from the same summary, in the Markdown
// and the HTML; every answered turn's breakdown sums to its voice_to_voice.
func TestShippedScenariosProduceAgreeingReports(t *testing.T) {
	for _, sc := range library(t) {
		t.Run(sc.Name, func(t *testing.T) {
			rep, err := Run([]*Scenario{sc}, RunOptions{Runs: 12})
			if err != nil {
				t.Fatal(err)
			}
			var md, html bytes.Buffer
			if err := WriteMarkdown(&md, rep); err != nil {
				t.Fatal(err)
			}
			if err := WriteHTML(&html, rep); err != nil {
				t.Fatal(err)
			}
			sr := rep.Scenarios[0]
			if len(sr.Architectures) != len(sc.Architectures) {
				t.Fatalf("%d architectures reported; want %d", len(sr.Architectures), len(sc.Architectures))
			}
			for _, a := range sr.Architectures {
				v, ok := a.Metrics[pipeline.MetricVoiceToVoice]
				if !ok || v.Count == 0 {
					t.Fatalf("%s: no voice_to_voice (counts %v)", a.Name, a.Counts)
				}
				for _, stat := range []float64{v.P50, v.P95} {
					s := fmtMS(stat) // the reports' own formatter of Summary values
					if !strings.Contains(md.String(), s) {
						t.Errorf("%s: report.md lacks %s (from report.json)", a.Name, s)
					}
					if !strings.Contains(html.String(), s) {
						t.Errorf("%s: report.html lacks %s (from report.json)", a.Name, s)
					}
				}
				for _, rt := range a.Representative {
					for _, tm := range rt.Turns {
						if tm.Answered && tm.BreakdownSum() != tm.Values[pipeline.MetricVoiceToVoice] {
							t.Errorf("%s run %d turn %d: breakdown %v != voice_to_voice %v", a.Name, rt.Run, tm.Turn, tm.BreakdownSum(), tm.Values[pipeline.MetricVoiceToVoice])
						}
					}
				}
			}
		})
	}
}

// TestDeterminism: the same command twice gives the same report (but for
// its timestamp), and 1 worker and all cores give identical results.
func TestDeterminism(t *testing.T) {
	sc, err := Load("barge-in.yaml")
	if err != nil {
		t.Fatal(err)
	}
	runs := 1000
	if testing.Short() {
		runs = 100
	}
	a, err := Run([]*Scenario{sc}, RunOptions{Runs: runs, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Run([]*Scenario{sc}, RunOptions{Runs: runs, Workers: runtime.NumCPU() * 4})
	if err != nil {
		t.Fatal(err)
	}
	ja, jb := reportJSON(t, a), reportJSON(t, b)
	if !bytes.Equal(ja, jb) {
		t.Fatalf("1 worker and %d workers gave different reports (%d vs %d bytes)", runtime.NumCPU()*4, len(ja), len(jb))
	}
	// The same command twice (fewer runs: the 1,000 above already show
	// independence from parallelism).
	c1, err := Run([]*Scenario{sc}, RunOptions{Runs: 200})
	if err != nil {
		t.Fatal(err)
	}
	c2, err := Run([]*Scenario{sc}, RunOptions{Runs: 200})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(reportJSON(t, c1), reportJSON(t, c2)) {
		t.Fatal("the same run twice gave different reports")
	}
	if c1.GeneratedAt == "" {
		t.Error("report has no timestamp")
	}
	seed := uint64(99)
	d, err := Run([]*Scenario{sc}, RunOptions{Runs: 50, Seed: &seed})
	if err != nil {
		t.Fatal(err)
	}
	if d.Scenarios[0].Architectures[0].Metrics[pipeline.MetricVoiceToVoice] == a.Scenarios[0].Architectures[0].Metrics[pipeline.MetricVoiceToVoice] {
		t.Error("a different seed gave the same distribution")
	}
}
