// Command voicesim simulates realtime voice-assistant pipelines and measures
// how long the user waits, where the time goes, and what happens when the
// user talks over the assistant.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	if err := newRoot().Execute(); err != nil {
		var ec exitCode
		if errors.As(err, &ec) {
			os.Exit(int(ec))
		}
		fmt.Fprintln(os.Stderr, "voicesim:", err)
		os.Exit(2)
	}
}

// exitCode is returned by commands whose outcome is a status, not a failure
// (e.g. a --fail-if gate that tripped).
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "voicesim",
		Short: "Realtime voice-assistant pipeline latency simulator",
		Long: `voicesim simulates voice-assistant pipelines — cascaded (VAD, endpointing,
speech-to-text, LLM, TTS) and native speech-to-speech (GPT-4o realtime style,
full-duplex Moshi style) — on real audio, and measures voice-to-voice latency,
where it goes, and how barge-in is handled.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newDemoCmd(), newRunCmd(), newCompareCmd(), newPresetsCmd(), newStagesCmd(), newServeCmd())
	return root
}
