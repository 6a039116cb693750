package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/voicesim/voicesim/stages/catalog"
)

func newPresetsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "presets",
		Short: "List the built-in architectures and the figures they reproduce",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "PRESET\tKIND\tREPRODUCES\tDESCRIPTION")
			for _, name := range catalog.Names() {
				p, err := catalog.Load(name)
				if err != nil {
					return err
				}
				fig := "—"
				if p.Figure != nil {
					fig = fmt.Sprintf("%s mean %v", p.Figure.Metric, p.Figure.Mean)
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", p.Name, p.Kind, fig, p.Description)
			}
			return w.Flush()
		},
	}
}

func newStagesCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "stages",
		Short: "List the registered stage types",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r := catalog.Registry()
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			for _, n := range r.Names() {
				fmt.Fprintf(w, "%s\t%s\n", n, r.Doc(n))
			}
			return w.Flush()
		},
	}
}
