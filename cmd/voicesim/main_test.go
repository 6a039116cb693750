package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// voicesim runs the command in-process and returns its output and error.
func voicesim(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	root := newRoot()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), errb.String(), err
}

// TestRunThenCompare: a headless run writes the three reports; compare on
// the 2023 cascade vs the native model shows native ahead on voice_to_voice
// with the deltas, and --fail-if exits 1 when violated and 0 otherwise.
func TestRunThenCompare(t *testing.T) {
	dir := t.TempDir()
	out, _, err := voicesim(t, "run", "../../scenarios/single-question.yaml", "--runs", "30", "--arch",
		"cascaded-voice-mode-2023,native-gpt4o", "--out", dir, "-q")
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	for _, f := range []string{"report.json", "report.md", "report.html"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Fatalf("%s not written: %v", f, err)
		}
	}
	if !strings.Contains(out, "voice_to_voice") || !strings.Contains(out, "native-gpt4o") {
		t.Errorf("summary lacks the architectures or voice_to_voice:\n%s", out)
	}
	rep := filepath.Join(dir, "report.json")
	html := filepath.Join(dir, "compare.html")
	out, _, err = voicesim(t, "compare", rep, "--arch-a", "cascaded-voice-mode-2023", "--arch-b", "native-gpt4o", "--html", html)
	if err != nil {
		t.Fatalf("compare: %v", err)
	}
	line := ""
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "voice_to_voice") {
			line = l
			break
		}
	}
	// Native is ahead: the p50 delta (B − A) is negative.
	if f := strings.Fields(line); len(f) < 4 || !strings.HasPrefix(f[3], "-") {
		t.Errorf("voice_to_voice row %q; want a negative Δ p50 (native ahead)", line)
	}
	if _, err := os.Stat(html); err != nil {
		t.Errorf("compare --html wrote nothing: %v", err)
	}
	_, stderr, err := voicesim(t, "compare", rep, "--arch-a", "cascaded-voice-mode-2023", "--arch-b", "native-gpt4o",
		"--fail-if", "p95(voice_to_voice) > 800ms")
	var ec exitCode
	if !errors.As(err, &ec) || ec != 1 || !strings.Contains(stderr, "tripped") {
		t.Errorf("violated gate: err %v, stderr %q; want exit 1 and why", err, stderr)
	}
	if _, _, err := voicesim(t, "compare", rep, "--arch-a", "cascaded-voice-mode-2023", "--arch-b", "native-gpt4o",
		"--fail-if", "p95(voice_to_voice) > 5s"); err != nil {
		t.Errorf("gate that holds: err %v; want exit 0", err)
	}
}

func TestCompareRejectsBadFiles(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.json")
	os.WriteFile(corrupt, []byte("{not json"), 0o644)
	other := filepath.Join(dir, "other.json")
	os.WriteFile(other, []byte(`{"schema":"someone-else/v9"}`), 0o644)
	cases := []struct{ file, want string }{
		{corrupt, "corrupt JSON"},
		{other, "not supported"},
		{filepath.Join(dir, "missing.json"), "no such file"},
	}
	for _, tc := range cases {
		if _, _, err := voicesim(t, "compare", tc.file); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("compare %s: %v; want %q", filepath.Base(tc.file), err, tc.want)
		}
	}
	if _, _, err := voicesim(t, "compare", corrupt, "--fail-if", "p95(voice_to_voice) >> 3"); err == nil {
		t.Error("a malformed gate was accepted")
	}
}

func TestPresetsAndStagesList(t *testing.T) {
	out, _, err := voicesim(t, "presets")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"cascaded-streaming", "cascaded-voice-mode-2023", "native-gpt4o", "full-duplex-moshi", "759ms"} {
		if !strings.Contains(out, p) {
			t.Errorf("presets output lacks %q", p)
		}
	}
	out, _, err = voicesim(t, "stages")
	if err != nil || !strings.Contains(out, "vad.energy") || !strings.Contains(out, "native.duplex") {
		t.Errorf("stages: %v\n%s", err, out)
	}
}

func TestDemoPrintsWaterfalls(t *testing.T) {
	out, _, err := voicesim(t, "demo", "--runs", "3", "--preset", "cascaded-streaming")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"turn 0  voice_to_voice", "endpointing", "tts_ttfb", "sum"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
}
