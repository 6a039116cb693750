package scenarios

import (
	"strings"
	"testing"
	"time"
)

// TestEmbeddedAssetsHaveSpeech checks every shipped clip decodes and that its
// speech span sits inside the 200 ms of padding gen.sh adds on each side.
func TestEmbeddedAssetsHaveSpeech(t *testing.T) {
	names := Assets()
	if len(names) < 8 {
		t.Fatalf("got %d assets; want the shipped library (≥ 8)", len(names))
	}
	for _, n := range names {
		c, err := LoadClip("", n)
		if err != nil {
			t.Errorf("%s: %v", n, err)
			continue
		}
		first, last := c.Speech[0].Start, c.Speech[len(c.Speech)-1].End
		// espeak-ng adds its own few ms of leading and trailing silence;
		// the truth must land at or after the 200 ms pad, and well inside.
		if first < 180*time.Millisecond || first > 320*time.Millisecond {
			t.Errorf("%s: speech starts at %v; want ≈200 ms (the pad)", n, first)
		}
		if tail := c.Duration() - last; tail < 180*time.Millisecond || tail > 400*time.Millisecond {
			t.Errorf("%s: %v of trailing silence; want ≈200 ms (the pad)", n, tail)
		}
	}
}

func TestLoadClipErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct{ name, want string }{
		{"missing.mp3", "no such file"},
		{"notes.txt", "no such file"},
	}
	for _, tc := range cases {
		if _, err := LoadClip(dir, tc.name); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("LoadClip(%q) error %v; want %q", tc.name, err, tc.want)
		}
	}
}
