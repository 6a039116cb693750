package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/voicesim/voicesim/pipeline/atomicfile"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/voicesim/voicesim/scenarios"
)

func newRunCmd() *cobra.Command {
	var (
		archs   []string
		runs    int
		seed    uint64
		out     string
		workers int
		quiet   bool
		server  string
	)
	cmd := &cobra.Command{
		Use:   "run SCENARIO.yaml...",
		Short: "Run scripted scenarios headlessly and write report.json, report.md and report.html",
		Long: `Plays each scenario's scripted user through each architecture, --runs times
with seeds derived from --seed, under the virtual clock and in parallel. The
results do not depend on the number of workers. Writes DIR/report.json (a
versioned schema with mergeable histograms), DIR/report.md and a
self-contained DIR/report.html, atomically.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var scs []*scenarios.Scenario
			for _, f := range args {
				sc, err := scenarios.Load(f)
				if err != nil {
					return err
				}
				scs = append(scs, sc)
			}
			opt := scenarios.RunOptions{Archs: archs, Runs: runs, Workers: workers}
			if cmd.Flags().Changed("seed") {
				opt.Seed = &seed
			}
			stderr := cmd.ErrOrStderr()
			if f, ok := stderr.(*os.File); ok && !quiet && isatty.IsTerminal(f.Fd()) {
				var bar *progressbar.ProgressBar
				opt.Progress = func(done, total int) {
					if bar == nil {
						bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(stderr),
							progressbar.OptionSetDescription("simulating"), progressbar.OptionShowCount(),
							progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(100e6))
					}
					_ = bar.Set(done)
				}
			}
			var rep *scenarios.Report
			var err error
			if server != "" {
				// Over the wire, in real time: workers are concurrent sessions.
				rep, err = scenarios.RunRemote(cmd.Context(), scs, scenarios.RemoteOptions{URL: server, Archs: archs,
					Runs: runs, Seed: opt.Seed, Workers: workers, Progress: opt.Progress})
			} else {
				rep, err = scenarios.Run(scs, opt)
			}
			if err != nil {
				return err
			}
			rep.Command = "voicesim run " + strings.Join(args, " ")
			if err := writeReports(out, rep); err != nil {
				return err
			}
			if err := scenarios.WriteSummary(cmd.OutOrStdout(), rep); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "\nreports: %s, %s, %s\n",
				filepath.Join(out, "report.json"), filepath.Join(out, "report.md"), filepath.Join(out, "report.html"))
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&archs, "arch", nil, "architectures (preset names) to run instead of each scenario's own")
	cmd.Flags().IntVar(&runs, "runs", 0, "seeded runs per scenario and architecture (default: the scenario's)")
	cmd.Flags().Uint64Var(&seed, "seed", 0, "base seed (default: the scenario's)")
	cmd.Flags().StringVar(&out, "out", "out", "folder for the reports")
	cmd.Flags().IntVar(&workers, "workers", 0, "parallel workers (default: number of CPUs); results do not depend on it")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress bar")
	cmd.Flags().StringVar(&server, "server", "", "play the scenarios in real time over WebSocket against a running `voicesim serve` (ws://host:port/ws) instead of the virtual clock")
	return cmd
}

// writeReports renders the three reports and writes each atomically.
func writeReports(dir string, rep *scenarios.Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("report folder %s: %w", dir, err)
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("encode report.json: %w", err)
	}
	files := []struct {
		name   string
		render func(io.Writer) error
	}{
		{"report.json", func(w io.Writer) error { _, err := w.Write(append(js, '\n')); return err }},
		{"report.md", func(w io.Writer) error { return scenarios.WriteMarkdown(w, rep) }},
		{"report.html", func(w io.Writer) error { return scenarios.WriteHTML(w, rep) }},
	}
	for _, f := range files {
		var b bytes.Buffer
		if err := f.render(&b); err != nil {
			return fmt.Errorf("render %s: %w", f.name, err)
		}
		if err := atomicfile.WriteBytes(filepath.Join(dir, f.name), b.Bytes()); err != nil {
			return err
		}
	}
	return nil
}
