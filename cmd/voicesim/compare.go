package main

import (
	"bytes"
	"fmt"
	"github.com/voicesim/voicesim/pipeline/atomicfile"
	"slices"

	"github.com/spf13/cobra"
	"github.com/voicesim/voicesim/scenarios"
)

func newCompareCmd() *cobra.Command {
	var (
		archA, archB string
		html         string
		failIf       string
	)
	cmd := &cobra.Command{
		Use:   "compare A.json [B.json]",
		Short: "Put two architectures, or two reports, side by side",
		Long: `With one report, compares two of its architectures (--arch-a, --arch-b;
default the first two). With two reports, compares an architecture before
(A) and after (B) a change (default: the first architecture they share).
Prints p50/p95/p99 of every metric with absolute and relative deltas (B - A)
and the stage that moved most.

--fail-if gates a change in CI: the command exits 1 when the condition holds
for report B, e.g. 'p95(voice_to_voice) > 800ms', 'delta_p95(voice_to_voice)
> 50ms', 'rel_p50(endpointing) > 10%', 'count(false_interruption) > 0';
join conditions with '||'.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := scenarios.ReadReport(args[0])
			if err != nil {
				return err
			}
			b := a
			if len(args) == 2 {
				if b, err = scenarios.ReadReport(args[1]); err != nil {
					return err
				}
			}
			var gate *scenarios.Gate
			if failIf != "" {
				g, err := scenarios.ParseGate(failIf)
				if err != nil {
					return fmt.Errorf("--fail-if: %w", err)
				}
				gate = &g
			}
			archA, archB, err = pickArchs(a, b, len(args) == 1, archA, archB)
			if err != nil {
				return err
			}
			c, err := scenarios.Compare(a, b, archA, archB)
			if err != nil {
				return err
			}
			if len(args) == 2 {
				c.LabelA, c.LabelB = args[0]+" "+archA, args[1]+" "+archB
			}
			if err := c.WriteText(cmd.OutOrStdout()); err != nil {
				return err
			}
			if html != "" {
				var buf bytes.Buffer
				if err := c.WriteHTML(&buf); err != nil {
					return err
				}
				if err := atomicfile.WriteBytes(html, buf.Bytes()); err != nil {
					return err
				}
			}
			if gate != nil {
				tripped, why, err := gate.Eval(c)
				if err != nil {
					return fmt.Errorf("--fail-if: %w", err)
				}
				if tripped {
					fmt.Fprintf(cmd.ErrOrStderr(), "voicesim: --fail-if tripped: %s\n", why)
					return exitCode(1)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "\n--fail-if %q holds no condition: %s\n", failIf, why)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&archA, "arch-a", "", "architecture of side A")
	cmd.Flags().StringVar(&archB, "arch-b", "", "architecture of side B")
	cmd.Flags().StringVar(&html, "html", "", "also write a self-contained HTML comparison to this file")
	cmd.Flags().StringVar(&failIf, "fail-if", "", "exit 1 when this condition holds for report B")
	return cmd
}

// pickArchs fills in the architectures to compare when not given.
func pickArchs(a, b *scenarios.Report, one bool, archA, archB string) (string, string, error) {
	names := func(r *scenarios.Report) []string {
		var out []string
		for _, t := range r.Totals {
			out = append(out, t.Name)
		}
		return out
	}
	na, nb := names(a), names(b)
	switch {
	case archA != "" && archB != "":
	case one:
		if len(na) < 2 && (archA == "" || archB == "") {
			return "", "", fmt.Errorf("the report has one architecture (%v): give a second report to compare against", na)
		}
		if archA == "" {
			archA = na[0]
			if archA == archB {
				archA = na[1]
			}
		}
		if archB == "" {
			for _, n := range na {
				if n != archA {
					archB = n
					break
				}
			}
		}
	default:
		if archA == "" && archB != "" {
			archA = archB
		}
		if archA == "" {
			for _, n := range na {
				if slices.Contains(nb, n) {
					archA = n
					break
				}
			}
			if archA == "" && len(na) > 0 {
				archA = na[0]
			}
		}
		if archB == "" {
			archB = archA
			if !slices.Contains(nb, archB) && len(nb) > 0 {
				archB = nb[0]
			}
		}
	}
	return archA, archB, nil
}
